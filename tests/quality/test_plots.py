"""The notebook 05 pictures draw what labkit.quality computed (Agg backend)."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

from labkit import data, plots  # noqa: E402
from labkit.quality import analyze_jitter, buffer_sweep  # noqa: E402


def test_raster_marks_every_stall_and_host_event():
    rep = analyze_jitter(data.path("jitter_host_egress"))
    ax = plots.plot_stall_raster(rep)
    red = [ln for ln in ax.lines if ln.get_color() == "tab:red"]
    assert len(red) == len(rep.stalls)
    assert len(ax.patches) == int((rep.events["kind"] == "host").sum())


def test_raster_without_tracks_draws_the_same_rows():
    # a big file keeps no (or one) track: the raster still has a row per analysed stream,
    # each spanning that stream's first to last arrival (ground truth: its own packets)
    from labkit.capture import read_capture
    from labkit.rtp import find_rtp
    path = data.path("relay_stall")
    rtp = find_rtp(read_capture(path))
    full = plots.plot_stall_raster(analyze_jitter(path, keep_tracks=True))
    for keep in (False, [0]):
        lean = plots.plot_stall_raster(analyze_jitter(path, keep_tracks=keep))
        assert [t.get_text() for t in lean.get_yticklabels()] == \
            [t.get_text() for t in full.get_yticklabels()]
        assert all(np.array_equal(a.get_xydata(), b.get_xydata())
                   for a, b in zip(lean.lines, full.lines)) and len(lean.lines) == len(full.lines)
        spans = [np.asarray(c.get_segments()[0])[:, 0] for c in lean.collections]
        origin = rtp.packets.first_time_ns / 1e9
        for s, (a, b) in enumerate(spans):
            t = rtp.time_ns[rtp.stream == s] / 1e9
            assert abs(a - (t[0] - origin)) < 1e-6 and abs(b - (t[-1] - origin)) < 1e-6


def test_lateness_marks_stalls_and_late_packets():
    from labkit.quality import jbuf
    rep = analyze_jitter(data.path("jitter_host_egress"))
    key = next(iter(rep.tracks))
    tr = rep.tracks[key]
    st = rep.stalls[rep.stalls["key"] == key]
    late = jbuf.fixed_buffer(tr.t_ms, tr.nominal_ms, 50.0)
    ax = plots.plot_lateness(tr, st, buffer_ms=50.0, late=late)
    assert len(ax.patches) == len(st) == 4
    marks = [ln for ln in ax.lines if ln.get_marker() == "x"]
    assert len(marks[0].get_xdata()) == int(late.sum())


def test_pdv_cdf_and_sweep():
    rep = analyze_jitter(data.path("jitter_network_egress"))
    ax = plots.plot_pdv_cdf(rep)
    assert len(ax.lines) == len(rep.tracks) + 1
    tr = next(iter(rep.tracks.values()))
    sw = buffer_sweep(tr, [20, 60, 120, 200])
    ax = plots.plot_buffer_sweep(sw)
    assert np.allclose(ax.lines[0].get_ydata(), sw["MOS"])


def test_buffer_widget_shows_the_discards_of_the_chosen_size(capsys):
    from labkit import widgets
    from labkit.quality import buffer_outcome
    from labkit.quality.emodel import codec_constants
    rep = analyze_jitter(data.path("jitter_host_egress"))
    box = widgets.jitter_buffer_explorer(rep, buffer_ms=50)
    pick, size = box.children[0], box.children[1]
    assert list(pick.options) == list(rep.tracks)
    capsys.readouterr()
    size.value = 200
    tr = rep.tracks[pick.value]
    want = buffer_outcome(tr, 200.0, codec_constants(tr.codec))["discards"]
    assert f"200 ms buffer: {want} late discards" in capsys.readouterr().out
