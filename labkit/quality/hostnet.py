"""Host or network? Stall onsets correlated across streams, and a relay's ingress vs egress.

A host that stops running its relay (hypervisor descheduling, CPU steal, a noisy
neighbour, SIGSTOP) holds every stream it relays at the same instant, and releases them
together: the first packet after the gap arrives within a fraction of a millisecond on
every stream (REFERENCE.md section 5 measured ~0.2 ms with rtpengine). Network delay
variation is per path: stalls on different paths start and end independently. So:

- :func:`stall_events` groups stalls of different streams whose *ends* (the release) lie
  within ``align_ms`` of each other; an event that hits at least two streams sent by
  the same address, and at least half of that address's streams active then, is a
  ``host`` event; a stall alone is a ``path`` event.
- :func:`chance_coincidences` is what independent stalls would give by chance (the
  evidence that an alignment is not luck).
- :func:`relay_hops` compares the same packets (SSRC, sequence) on a relay's ingress and
  egress: the delay the relay itself added.
- :func:`host_or_network` turns it into the cause ("host" | "network" | "none"), a
  confidence and one sentence with the evidence.
"""
from __future__ import annotations

import numpy as np

__all__ = ["stall_events", "chance_coincidences", "relay_hops", "host_or_network",
           "ALIGN_MS", "PDV_OBJECTIVE_MS"]

ALIGN_MS = 5.0            # [ms] stall releases this close on different streams = one event
PDV_OBJECTIVE_MS = 50.0   # [ms] ITU-T Y.1541 PDV objective (99.9th percentile - minimum)


def stall_events(stalls, active=None, align_ms: float = ALIGN_MS):
    """Group stalls of all streams into cross-stream events.

    Parameters
    ----------
    stalls : pandas.DataFrame
        Rows of :func:`labkit.quality.delay.find_stalls` with added columns ``stream``
        (id) and ``src`` (sender address).
    active : dict, optional
        src -> list of (stream, first [s since epoch], last [s since epoch]) of every
        analysed stream, to count the streams a host event could have hit.
    align_ms : float
        Largest spread of stall ends within one event [ms].

    Returns
    -------
    pandas.DataFrame
        start, end [s since epoch] (earliest stall start, latest stall end), streams
        (number hit), stream_ids (sorted, as text "0,2,5"), src, spread_ms (of the stall
        ends), duration_ms (longest stall), kind ("host" | "path").

    References
    ----------
    REFERENCE.md section 5 (onsets aligned on every stream a host relays; network
    jitter is per path).

    Examples
    --------
    >>> import pandas as pd
    >>> st = pd.DataFrame(dict(stream=[0, 1, 2], src=["10.0.0.10"] * 3, start=[1.0, 1.01, 5.0],
    ...                        end=[1.1, 1.1002, 5.1], duration_ms=[100.0, 90.2, 100.0]))
    >>> stall_events(st)[["streams", "kind"]].values.tolist()
    [[2, 'host'], [1, 'path']]
    """
    import pandas as pd
    cols = ["start", "end", "streams", "stream_ids", "src", "spread_ms", "duration_ms", "kind"]
    if stalls is None or not len(stalls):
        return pd.DataFrame(columns=cols)
    rows = []
    for src, grp in stalls.sort_values("end").groupby("src", sort=True):
        ends = grp["end"].to_numpy()
        cut = np.flatnonzero(np.diff(ends) * 1e3 > align_ms) + 1
        for part in np.split(np.arange(len(grp)), cut):
            g = grp.iloc[part]
            # one event per burst of releases; spread measured from the first release
            ids = sorted(set(g["stream"].tolist()))
            n_active = _active_at(active, src, float(g["start"].min()), float(g["end"].max()))
            host = len(ids) >= 2 and len(ids) >= max(2, n_active) / 2
            rows.append(dict(start=float(g["start"].min()), end=float(g["end"].max()),
                             streams=len(ids), stream_ids=",".join(map(str, ids)), src=src,
                             spread_ms=round(float(np.ptp(g["end"].to_numpy())) * 1e3, 3),
                             duration_ms=round(float(g["duration_ms"].max()), 3),
                             kind="host" if host else "path"))
    return pd.DataFrame(rows, columns=cols).sort_values("start").reset_index(drop=True)


def _active_at(active, src, t0: float, t1: float) -> int:
    if not active or src not in active:
        return 0
    return sum(1 for _, first, last in active[src] if first <= t0 and last >= t1)


def chance_coincidences(stall_counts: list[int], duration_s: float,
                        align_ms: float = ALIGN_MS) -> float:
    """Expected number of stall pairs on different streams aligned by chance.

    Independent stalls (Poisson, rate n_i / duration per stream) give
    sum over pairs i < j of n_i n_j 2 w / duration coincidences within +-w.

    Parameters
    ----------
    stall_counts : list of int
        Stalls per stream.
    duration_s : float
        Time covered [s].
    align_ms : float
        Alignment window w [ms].

    Returns
    -------
    float
        Expected coincident pairs.

    References
    ----------
    Coincidence rate of independent Poisson processes (2 w r_i r_j per unit time).

    Examples
    --------
    Two streams with 4 stalls each in 8 s, +-5 ms: 4 * 4 * 0.010 / 8 = 0.02 pairs.

    >>> round(chance_coincidences([4, 4], 8.0), 4)
    0.02
    """
    n = np.asarray(stall_counts, dtype=np.float64)
    if duration_s <= 0 or len(n) < 2:
        return 0.0
    pairs = (n.sum() ** 2 - np.sum(n * n)) / 2
    return float(pairs * 2 * align_ms / 1e3 / duration_s)


def relay_hops(ingress: list, egress: list):
    """Delay a relay added to each stream: the same packets before and after it.

    Streams are matched by SSRC (a relay that keeps the SSRC, as rtpengine does by
    default); packets by extended sequence number.

    Parameters
    ----------
    ingress, egress : list of labkit.quality.delay.StreamTrack
        Streams seen on the way in and on the way out (captures on one host, one clock).

    Returns
    -------
    pandas.DataFrame
        One row per matched pair: ssrc, ingress, egress (keys), packets (matched),
        hop_min_ms, hop_p50_ms, hop_p99_ms, hop_max_ms [ms] (egress - ingress arrival),
        added_pdv_ms (hop max - hop min) [ms], ingress_pdv_ms, egress_pdv_ms (p99.9 -
        minimum) [ms], lost_in_relay (received on the way in, never sent on).

    References
    ----------
    RFC 5481 section 4.2 (PDV), applied to the segment between two capture points.

    Examples
    --------
    >>> from labkit import data
    >>> from labkit.capture import read_capture
    >>> from labkit.rtp import find_rtp
    >>> from labkit.quality.delay import stream_track
    >>> tr = lambda name: [stream_track(r, s) for r in [find_rtp(read_capture(data.path(name)))] for s in range(r.n_streams)]
    >>> hops = relay_hops(tr("jitter_host_ingress"), tr("jitter_host_egress"))
    >>> len(hops), bool((hops.added_pdv_ms > 40).all())   # the frozen relay added the stalls
    (4, True)
    """
    import pandas as pd
    from labkit.quality.delay import pdv_percentiles
    out = []
    by_ssrc = {}
    for tr in egress:
        by_ssrc.setdefault(tr.ssrc, []).append(tr)
    for a in ingress:
        for b in by_ssrc.get(a.ssrc, []):
            if b is a:
                continue
            sa, ia = np.unique(a.seq, return_index=True)
            sb, ib = np.unique(b.seq, return_index=True)
            common, ja, jb = np.intersect1d(sa, sb, return_indices=True)
            if len(common) < 2:
                continue
            hop = (b.time_s[ib[jb]] - a.time_s[ia[ja]]) * 1e3
            if np.median(hop) < 0:
                continue   # b is upstream of a: the other pairing will be found
            out.append(dict(ssrc=f"0x{a.ssrc:08X}", ingress=a.key, egress=b.key, packets=len(common),
                            hop_min_ms=round(float(hop.min()), 3),
                            hop_p50_ms=round(float(np.median(hop)), 3),
                            hop_p99_ms=round(float(np.percentile(hop, 99)), 3),
                            hop_max_ms=round(float(hop.max()), 3),
                            added_pdv_ms=round(float(hop.max() - hop.min()), 3),
                            ingress_pdv_ms=round(pdv_percentiles(a.transit_ms)["p99.9"], 3),
                            egress_pdv_ms=round(pdv_percentiles(b.transit_ms)["p99.9"], 3),
                            lost_in_relay=int(len(sa) - len(common))))
    cols = ["ssrc", "ingress", "egress", "packets", "hop_min_ms", "hop_p50_ms", "hop_p99_ms",
            "hop_max_ms", "added_pdv_ms", "ingress_pdv_ms", "egress_pdv_ms", "lost_in_relay"]
    return pd.DataFrame(out, columns=cols)


def host_or_network(events, stall_counts: list[int], pdv999: list[float], loss_pct: list[float],
                    duration_s: float, hops=None, ptime_ms: float = 20.0) -> dict:
    """The cause of bad media timing, with the evidence.

    Rules: ``host`` when cross-stream host events explain at least half of all stalls
    (and there is at least one), or when a relay hop added more than 2 ptime of delay
    variation while its ingress was within the PDV objective; ``network`` otherwise when
    any stream has stalls, PDV (99.9th percentile) over the ITU-T Y.1541 objective of
    50 ms, or loss of 1 % or more; else ``none``.

    Parameters
    ----------
    events : pandas.DataFrame
        From :func:`stall_events`.
    stall_counts : list of int
        Stalls per analysed stream.
    pdv999 : list of float
        PDV 99.9th percentile per stream [ms].
    loss_pct : list of float
        Network loss per stream [%].
    duration_s : float
        Capture span [s].
    hops : pandas.DataFrame, optional
        From :func:`relay_hops`.
    ptime_ms : float
        Typical packet interval [ms].

    Returns
    -------
    dict
        cause, confidence ("high" | "medium" | "low"), verdict (one sentence), and the
        evidence: streams, stalls, host_events, aligned_stalls, alignment_ms (largest
        spread in host events), chance_pairs, worst_pdv_ms, worst_loss_pct, relay_added_ms.

    References
    ----------
    REFERENCE.md section 5; ITU-T Y.1541 (PDV objective 50 ms).

    Examples
    --------
    >>> import pandas as pd
    >>> ev = pd.DataFrame(dict(streams=[4, 4, 4], kind=["host"] * 3, spread_ms=[0.2, 0.1, 0.3]))
    >>> v = host_or_network(ev, [3, 3, 3, 3], [110.0] * 4, [0.0] * 4, 8.0)
    >>> v["cause"], v["confidence"]
    ('host', 'high')
    """
    n_streams = len(stall_counts)
    total = int(sum(stall_counts))
    host_ev = events[events["kind"] == "host"] if len(events) else events
    aligned = int(host_ev["streams"].sum()) if len(host_ev) else 0
    align = float(host_ev["spread_ms"].max()) if len(host_ev) else 0.0
    chance = chance_coincidences(stall_counts, duration_s)
    worst_pdv = float(np.nanmax(pdv999)) if len(pdv999) else 0.0
    worst_loss = float(max(loss_pct)) if len(loss_pct) else 0.0
    relay_added = float(hops["added_pdv_ms"].max()) if hops is not None and len(hops) else None
    relay_in = float(hops["ingress_pdv_ms"].max()) if hops is not None and len(hops) else None
    ev = dict(streams=n_streams, stalls=total, host_events=int(len(host_ev)),
              aligned_stalls=aligned, alignment_ms=round(align, 3), chance_pairs=round(chance, 4),
              worst_pdv_ms=round(worst_pdv, 3), worst_loss_pct=round(worst_loss, 3),
              relay_added_ms=relay_added)
    by_events = len(host_ev) >= 1 and aligned >= total / 2
    by_relay = relay_added is not None and relay_added > 2 * ptime_ms and relay_in <= PDV_OBJECTIVE_MS
    if by_events or by_relay:
        strong = len(host_ev) >= 3 and aligned >= 0.8 * total
        conf = "high" if (strong or (by_events and by_relay)) else ("medium" if len(host_ev) >= 2 or by_relay else "low")
        parts = []
        if by_events:
            parts.append(f"{len(host_ev)} stall events hit {aligned} of {total} stalls on "
                         f"{int(host_ev['streams'].max())} streams at once (releases within "
                         f"{align:.1f} ms; {chance:.2g} such pairs expected by chance)")
        if by_relay:
            parts.append(f"the relay itself added up to {relay_added:.0f} ms of delay "
                         f"variation while its ingress stayed within {relay_in:.0f} ms")
        return {"cause": "host", "confidence": conf, **ev,
                "verdict": "Host: " + "; ".join(parts) + " - the relay's host stopped running it."}
    if total or worst_pdv > PDV_OBJECTIVE_MS or worst_loss >= 1.0:
        conf = "high" if (total >= 3 or worst_pdv > PDV_OBJECTIVE_MS) and not len(host_ev) else "medium"
        where = ""
        if relay_added is not None:
            where = (f"; the relay added at most {relay_added:.1f} ms, the variation was already "
                     f"on its ingress ({relay_in:.0f} ms): upstream of the relay")
        return {"cause": "network", "confidence": conf, **ev,
                "verdict": f"Network: {total} stalls on {sum(1 for c in stall_counts if c)} of "
                           f"{n_streams} streams, none aligned across streams; PDV p99.9 up to "
                           f"{worst_pdv:.0f} ms, loss up to {worst_loss:.1f} %{where}."}
    if not n_streams:
        return {"cause": "none", "confidence": "low", **ev,
                "verdict": "None: no RTP stream could be analysed (see the skipped streams and notes)."}
    return {"cause": "none", "confidence": "high", **ev,
            "verdict": f"None: no stall on {n_streams} streams, PDV p99.9 at most {worst_pdv:.1f} ms "
                       f"(objective {PDV_OBJECTIVE_MS:.0f} ms), loss at most {worst_loss:.1f} %."}
