"""Many captures at once: a day of probe files, one task per capture, on Dask.

Each capture is read on its own (:func:`summarize_capture`: its SIP calls and its RTP
streams with Wireshark's statistics, each stream tied to its call by the SDP); the
tables of every capture are joined into one :class:`Fleet`. A file that cannot be read is
listed with its error and never stops the run. :func:`run_fleet` runs the tasks on a
local Dask cluster (one single-threaded worker process per core, loopback only, no
dashboard), on an existing cluster given by its scheduler address, or in this process
(``scheduler="serial"``): the three give the same tables.

References: Dask distributed, ``Client.map`` / ``as_completed``; ../shared/REFERENCE.md
section 9.
"""
from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from labkit.errors import LabkitError

__all__ = ["Fleet", "capture_files", "summarize_capture", "run_fleet", "worst_calls",
           "failed_by_cause", "by_hour", "shared_stalls", "fleet_verdict", "CALL_COLUMNS",
           "STREAM_COLUMNS", "STALL_COLUMNS", "RELAY_COLUMNS", "ALIGN_MS", "P_CHANCE"]

CAPTURE_SUFFIXES = (".pcap", ".pcapng", ".cap", ".pcap.gz", ".pcapng.gz")
CALL_COLUMNS = ["file", "call_id", "start_utc", "caller", "callee", "final_status",
                "final_phrase", "answered", "q850_cause", "sip_messages", "streams",
                "rtp_packets", "rtp_lost", "lost_pct", "max_jitter", "pdv_p999_ms", "stalls",
                "mos", "capture_cause"]
STREAM_COLUMNS = ["file", "call_id", "stream", "start_utc", "src", "sport", "dst", "dport",
                  "ssrc", "codec", "packets", "lost", "lost_pct", "mean_jitter", "max_jitter",
                  "max_delta", "problem", "pdv_p999_ms", "stalls", "mos"]
STALL_COLUMNS = ["file", "relay", "start_utc", "end_utc", "duration_ms", "streams",
                 "stream_ids", "spread_ms", "kind"]
RELAY_COLUMNS = ["file", "relay", "streams", "first_utc", "last_utc", "host_stalls",
                 "path_stalls", "capture_cause"]
QUALITY_BUFFER = "adaptive"   # the jitter buffer whose MOS the fleet tables carry
WHOLE_BYTES = 64 * 2**20      # [bytes] captures up to this size are read whole, bigger in chunks
ERROR_COLUMNS = ["file", "error"]
ALIGN_MS = 20.0    # [ms] stall releases this close on different relays = one instant
P_CHANCE = 0.01    # alignments less likely than this by chance are a shared cause


@dataclass(frozen=True)
class Fleet:
    """The calls, streams and unreadable files of a set of captures.

    ``calls``: one row per (file, Call-ID) with CALL_COLUMNS; ``streams``: one row per
    RTP stream with STREAM_COLUMNS; ``errors``: file and message; ``stalls``: one row per
    stall event of a capture (:func:`labkit.quality.hostnet.stall_events`: the streams a
    sender held at once) with STALL_COLUMNS, ``relay`` being the address that sent the
    stalled streams; ``relays``: one row per (file, sender address) with RELAY_COLUMNS
    (its streams, first and last packet, host and path stall events, the capture's
    verdict). Times in UTC, jitter, delta and durations in [ms], loss in packets and [%].
    Sorted by file, then time.
    """

    calls: pd.DataFrame
    streams: pd.DataFrame
    errors: pd.DataFrame
    files: tuple = ()       # every file name read, sorted
    stalls: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=STALL_COLUMNS))
    relays: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=RELAY_COLUMNS))

    def summary(self) -> str:
        """One sentence: captures, calls, failures by status, the worst answered call."""
        n_files = len(self.files)
        status = pd.to_numeric(self.calls["final_status"], errors="coerce")
        failed = self.calls[status >= 300]
        parts = [f"{n_files} capture(s), {len(self.calls)} call(s)"]
        if len(failed):
            counts = failed["final_status"].astype(int).value_counts().sort_index()
            parts.append(f"{len(failed)} failed set-up(s) ("
                         + ", ".join(f"{n} x {c}" for c, n in counts.items()) + ")")
        worst = worst_calls(self, 1)
        if len(worst):
            w = worst.iloc[0]
            mos = f"MOS {w['mos']:.2f}, " if pd.notna(w["mos"]) else ""
            parts.append(f"worst answered call {w['call_id']} in {w['file']} "
                         f"({mos}{w['lost_pct']:g} % lost, max jitter {w['max_jitter']:.1f} ms, "
                         f"PDV p99.9 {w['pdv_p999_ms']:.0f} ms; capture verdict: {w['capture_cause']})")
        if len(self.errors):
            parts.append(f"{len(self.errors)} unreadable file(s)")
        return "; ".join(parts) + "."

    def to_parquet(self, out) -> list[Path]:
        """Write calls to `out` and streams, errors, stalls, relays next to it
        (``<stem>_streams.parquet``, ...); return the five paths."""
        out = Path(out)
        paths = [out] + [out.with_name(f"{out.stem}_{t}.parquet")
                         for t in ("streams", "errors", "stalls", "relays")]
        for table, path in zip((self.calls, self.streams, self.errors, self.stalls, self.relays), paths):
            table.to_parquet(path, index=False)
        return paths


def capture_files(source) -> list[Path]:
    """The capture files of a folder, a glob pattern, a file or a list of them.

    Parameters
    ----------
    source : str, Path or list
        A folder (its pcap, pcapng and gzip-compressed captures, not recursing), a glob
        pattern (``"/probes/2026-12-02/*.pcap"``), one file, or a list of those.

    Returns
    -------
    list of Path
        Sorted, without duplicates.

    Raises
    ------
    LabkitError
        When nothing matches.

    References
    ----------
    tcpdump ``-C``/``-G`` rotation and HOMER exports: one file per interval or call.

    Examples
    --------
    >>> from labkit import data
    >>> [p.name for p in capture_files(data.path("ringback_amrwb").parent)][:2]
    ['codec_mismatch_488.pcap', 'early_media_ringback.pcap']
    """
    items = source if isinstance(source, (list, tuple)) else [source]
    found = set()
    for item in items:
        p = Path(item)
        if p.is_dir():
            found |= {f for f in p.iterdir() if f.is_file() and f.name.endswith(CAPTURE_SUFFIXES)}
        elif p.is_file():
            found.add(p)
        else:
            found |= {Path(f) for f in glob.glob(str(item)) if Path(f).is_file()}
    if not found:
        raise LabkitError(f"no capture file in {', '.join(map(str, items))}",
                          fix="give a folder with .pcap/.pcapng files, a glob such as "
                              "'probes/*.pcap', or the files themselves")
    return sorted(found)


def summarize_capture(path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The calls and the RTP streams of one capture, for the fleet tables.

    Parameters
    ----------
    path : str or Path
        One pcap/pcapng capture.

    Returns
    -------
    (calls, streams) : tuple of pandas.DataFrame
        With :data:`CALL_COLUMNS` and :data:`STREAM_COLUMNS`. Streams are the rows of
        :func:`labkit.rtp.rtp_streams` (Wireshark 4.0's numbers), tied to their call by
        :func:`labkit.rtp.stream_calls`; a call's rtp_packets, rtp_lost and max_jitter
        [ms] sum (max) over its streams; start_utc is the first packet's time. A file
        over :data:`WHOLE_BYTES` is read in chunks (memory does not grow with it).

    Raises
    ------
    CaptureError
        When the file is not a readable capture.

    References
    ----------
    Wireshark 4.0 ``-z rtp,streams``; RFC 3261 (calls); RFC 3264 section 5 (streams to
    calls).

    Examples
    --------
    >>> from labkit import data
    >>> calls, streams = summarize_capture(data.path("relay_rtpengine"))
    >>> calls[["final_status", "streams", "rtp_packets", "sip_messages"]].values.tolist()
    [[200, 4, 2200, 13]]
    """
    return _summarize(path)[:2]


def _summarize(path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """calls, streams, stalls and relays of one capture (the fleet task's work).

    A file up to :data:`WHOLE_BYTES` is read once, whole. A bigger one is read in chunks
    (bounded memory, whatever its size), in two passes: the SIP messages (TCP reassembly
    carried across chunks) and the stream table (:func:`labkit.overview.overview`), then
    the jitter analysis (its streams a group at a time, no per-packet arrays kept). Both
    give the same tables (tests/test_fleet.py).
    """
    from labkit import rtp, sip
    from labkit.capture import read_capture
    from labkit.overview import overview
    path = Path(path)
    source = read_capture(path, progress=False) if path.stat().st_size <= WHOLE_BYTES else path
    ov = overview(source, progress=False)    # a file: SIP and streams in one chunked pass
    origin, messages, streams = ov.first_time_ns, ov.messages, ov.streams
    quality = _quality(source)
    streams = streams.assign(file=path.name,
                             call_id=rtp.stream_calls(streams, sip.sdp_media(messages)),
                             start_utc=_utc(origin, streams["start"]),
                             **{c: streams["stream"].map(lambda s, c=c: quality["streams"].get(s, {}).get(c))
                                for c in ("pdv_p999_ms", "stalls", "mos")})
    streams = streams[STREAM_COLUMNS].sort_values(["start_utc", "stream"]).reset_index(drop=True)
    calls = ov.calls
    first = messages.groupby("call_id")["time"].min() if len(messages) else pd.Series(dtype=float)
    rows = [_call_row(path.name, c, streams[streams["call_id"] == c.call_id],
                      _utc(origin, first.get(c.call_id, 0.0)),
                      int((messages["call_id"] == c.call_id).sum()), quality["cause"])
            for c in calls.itertuples()]
    calls = pd.DataFrame(rows, columns=CALL_COLUMNS).sort_values(["start_utc", "call_id"])
    return (calls.reset_index(drop=True), streams, _stall_rows(path.name, quality),
            _relay_rows(path.name, quality))


def _epoch_utc(seconds):
    """[s since epoch] -> UTC timestamps, to the microsecond."""
    import numpy as np
    us = np.round(np.asarray(seconds, dtype=np.float64) * 1e6).astype(np.int64)
    return pd.to_datetime(us, unit="us", utc=True)


def _stall_rows(file: str, quality: dict) -> pd.DataFrame:
    ev = quality["events"]
    if not len(ev):
        return pd.DataFrame(columns=STALL_COLUMNS)
    out = pd.DataFrame({"file": file, "relay": ev["src"].astype(str).to_numpy(),
                        "start_utc": _epoch_utc(ev["start"]), "end_utc": _epoch_utc(ev["end"]),
                        "duration_ms": ev["duration_ms"].astype(float).to_numpy(),
                        "streams": ev["streams"].astype(int).to_numpy(),
                        "stream_ids": ev["stream_ids"].astype(str).to_numpy(),
                        "spread_ms": ev["spread_ms"].astype(float).to_numpy(),
                        "kind": ev["kind"].astype(str).to_numpy()})
    return out.sort_values(["start_utc", "relay"]).reset_index(drop=True)


def _relay_rows(file: str, quality: dict) -> pd.DataFrame:
    rows = []
    ev = quality["events"]
    for src, spans in sorted(quality["active"].items()):
        mine = ev[ev["src"] == src] if len(ev) else ev
        rows.append({"file": file, "relay": src, "streams": len(spans),
                     "first_utc": _epoch_utc([min(a for a, _ in spans)])[0],
                     "last_utc": _epoch_utc([max(b for _, b in spans)])[0],
                     "host_stalls": int((mine["kind"] == "host").sum()) if len(mine) else 0,
                     "path_stalls": int((mine["kind"] == "path").sum()) if len(mine) else 0,
                     "capture_cause": quality["cause"]})
    return pd.DataFrame(rows, columns=RELAY_COLUMNS)


def _utc(origin_ns: int, seconds):
    return pd.to_datetime(origin_ns, unit="ns", utc=True) + pd.to_timedelta(seconds, unit="s")


def _quality(source) -> dict:
    """Per stream id: PDV p99.9 [ms], stalls, MOS through the adaptive buffer
    (labkit.quality); the capture's host / network / none verdict, its stall events and
    the first and last packet [s since epoch] of each sender's analysed streams."""
    from labkit.quality.analysis import analyze_jitter
    rep = analyze_jitter(source, keep_tracks=False, progress=False)
    per, active = {}, {}
    for s in rep.streams:
        buf = s["buffers"].get(QUALITY_BUFFER) or next(iter(s["buffers"].values()), {})
        per[int(s["stream"])] = {"pdv_p999_ms": s["pdv_ms"]["p99.9"], "stalls": len(s["stalls"]),
                                 "mos": buf.get("MOS")}
        first, last, _ = rep.spans[s["key"]]
        active.setdefault(str(s["src"]), []).append((float(first), float(last)))
    return {"streams": per, "cause": rep.cause, "events": rep.events, "active": active}


def _call_row(file, call, streams, start, n_messages, cause) -> dict:
    packets = int(streams["packets"].sum())
    lost = int(streams["lost"].clip(lower=0).sum())
    expected = packets + lost
    return {"file": file, "call_id": call.call_id, "start_utc": start, "caller": call.caller,
            "callee": call.callee, "final_status": call.final_status,
            "final_phrase": call.final_phrase, "answered": call.answered,
            "q850_cause": call.q850_cause, "sip_messages": n_messages, "streams": len(streams),
            "rtp_packets": packets, "rtp_lost": lost,
            "lost_pct": round(100.0 * lost / expected, 3) if expected else 0.0,
            "max_jitter": float(streams["max_jitter"].max()) if len(streams) else None,
            "pdv_p999_ms": _max(streams["pdv_p999_ms"]), "stalls": int(streams["stalls"].fillna(0).sum()),
            "mos": _min(streams["mos"]), "capture_cause": cause}


def _max(col):
    col = pd.to_numeric(col, errors="coerce").dropna()
    return float(col.max()) if len(col) else None


def _min(col):
    col = pd.to_numeric(col, errors="coerce").dropna()
    return float(col.min()) if len(col) else None


def _task(path: str) -> dict:
    """One capture's tables, or its error: never raises for a bad file."""
    import warnings
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            calls, streams, stalls, relays = _summarize(path)
        return {"file": path, "calls": calls, "streams": streams, "stalls": stalls,
                "relays": relays, "error": None}
    except (LabkitError, OSError, ValueError) as exc:
        return {"file": path, "calls": None, "streams": None, "stalls": None, "relays": None,
                "error": f"{type(exc).__name__}: {exc}"}


def run_fleet(source, *, scheduler=None, workers=None, progress=None,
              connect_timeout: float = 20.0) -> Fleet:
    """Summarize every capture of `source`, one task per file.

    Parameters
    ----------
    source : str, Path or list
        As :func:`capture_files`.
    scheduler : str, optional
        None: a local Dask cluster on loopback (``workers`` single-threaded processes);
        ``"tcp://host:port"``: an existing Dask scheduler; ``"serial"``: in this process.
    workers : int, optional
        Local worker processes; default and maximum: the CPUs this process may use.
    progress : bool, optional
        A tqdm bar per finished file (default: when stderr is a terminal or the files
        add up to more than 50 MiB, as :func:`labkit.capture.show_progress`).
    connect_timeout : float, optional
        Seconds to keep trying to reach the scheduler (Dask retries a refused connection
        until then) before the :class:`~labkit.errors.LabkitError` "cannot reach the Dask
        scheduler"; default 20 s. Not used with ``scheduler="serial"``.

    Returns
    -------
    Fleet

    References
    ----------
    Dask distributed: ``LocalCluster``, ``Client.map``, ``as_completed``.

    Examples
    --------
    >>> from labkit import data
    >>> fleet = run_fleet(data.path("ringback_amrwb").parent, scheduler="serial")
    >>> len(fleet.errors), int(fleet.calls["answered"].sum()) > 0
    (0, True)
    """
    files = [str(p) for p in capture_files(source)]
    bar = _bar(files, progress)
    if scheduler == "serial":
        results = []
        for f in files:
            results.append(_task(f))
            bar.update()
    else:
        results = _on_dask(files, scheduler, workers, bar, connect_timeout)
    bar.close()
    return _join(results)


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _on_dask(files, scheduler, workers, bar, connect_timeout=20.0) -> list[dict]:
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError as exc:  # pragma: no cover - the fleet extra is not installed
        raise LabkitError("Dask is not installed", fix="pip install 'labkit[fleet]'") from exc
    import logging
    cluster = None
    quiet = logging.getLogger("distributed")
    level = quiet.level
    quiet.setLevel(logging.ERROR)   # a slow machine's "event loop unresponsive" notes are not results
    if scheduler is None:
        n = max(1, min(workers or _cpus(), _cpus()))
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None,
                               silence_logs=logging.CRITICAL)   # shutdown races (a heartbeat
        # to a scheduler already closing) are logged as errors by the workers; a task's own
        # error comes back through its future (_task), never through the log
    try:
        with Client(cluster or scheduler, timeout=f"{connect_timeout}s") as client:
            futures = client.map(_task, files, pure=False)
            results = []
            for fut in as_completed(futures):
                results.append(fut.result())
                bar.update()
            return results
    except OSError as exc:
        raise LabkitError(f"cannot reach the Dask scheduler {scheduler}: {exc}",
                          fix="check the address (tcp://host:8786) and that the scheduler runs") from exc
    finally:
        if cluster is not None:
            cluster.close()
        quiet.setLevel(level)


def _bar(files, progress):
    import sys
    from tqdm.auto import tqdm

    from labkit.capture import show_progress
    size = sum(os.path.getsize(f) for f in files)
    show = show_progress(size, progress) or (
        progress is None and not os.environ.get("LABKIT_PROGRESS") and sys.stderr.isatty())
    return tqdm(total=len(files), unit="file", desc="captures", disable=not show)


def _join(results: list[dict]) -> Fleet:
    ok = [r for r in results if r["error"] is None]
    calls = [r["calls"] for r in ok if len(r["calls"])]
    streams = [r["streams"] for r in ok if len(r["streams"])]
    calls = pd.concat(calls, ignore_index=True) if calls else pd.DataFrame(columns=CALL_COLUMNS)
    streams = pd.concat(streams, ignore_index=True) if streams else pd.DataFrame(columns=STREAM_COLUMNS)
    stalls = [r["stalls"] for r in ok if len(r["stalls"])]
    stalls = pd.concat(stalls, ignore_index=True) if stalls else pd.DataFrame(columns=STALL_COLUMNS)
    relays = [r["relays"] for r in ok if len(r["relays"])]
    relays = pd.concat(relays, ignore_index=True) if relays else pd.DataFrame(columns=RELAY_COLUMNS)
    errors = pd.DataFrame([{"file": Path(r["file"]).name, "error": r["error"]}
                           for r in results if r["error"] is not None], columns=ERROR_COLUMNS)
    return Fleet(calls.sort_values(["file", "start_utc", "call_id"]).reset_index(drop=True),
                 streams.sort_values(["file", "start_utc", "stream"]).reset_index(drop=True),
                 errors.sort_values("file").reset_index(drop=True),
                 tuple(sorted(Path(r["file"]).name for r in results)),
                 stalls.sort_values(["file", "start_utc", "relay"]).reset_index(drop=True),
                 relays.sort_values(["file", "relay"]).reset_index(drop=True))


def worst_calls(fleet: Fleet, n: int = 10) -> pd.DataFrame:
    """The answered calls with the worst media: lowest MOS, then most loss, then jitter.

    Parameters
    ----------
    fleet : Fleet
    n : int
        How many.

    Returns
    -------
    pandas.DataFrame
        Rows of ``fleet.calls``, worst first.

    References
    ----------
    ITU-T G.107 (E-model): packet loss weighs most on listening quality, then delay
    variation through the jitter buffer.

    Examples
    --------
    >>> from labkit import data
    >>> fleet = run_fleet(data.path("ringback_amrwb").parent, scheduler="serial")
    >>> worst_calls(fleet, 1)["file"].tolist()
    ['relay_stall.pcap']
    """
    answered = fleet.calls[fleet.calls["answered"].fillna(False).astype(bool)]
    return answered.sort_values(["mos", "lost_pct", "max_jitter", "file", "call_id"],
                                ascending=[True, False, False, True, True],
                                na_position="last").head(n).reset_index(drop=True)


def failed_by_cause(fleet: Fleet) -> pd.DataFrame:
    """Failed call set-ups counted by final SIP status (and Q.850 cause when given).

    Parameters
    ----------
    fleet : Fleet

    Returns
    -------
    pandas.DataFrame
        final_status, final_phrase, q850_cause, calls, files; most frequent first.

    References
    ----------
    RFC 3261 section 21 (status codes); RFC 3326 (Reason: Q.850 cause).

    Examples
    --------
    >>> from labkit import data
    >>> fleet = run_fleet(data.path("ringback_amrwb").parent, scheduler="serial")
    >>> failed_by_cause(fleet)["final_status"].tolist()
    [488]
    """
    status = pd.to_numeric(fleet.calls["final_status"], errors="coerce")
    failed = fleet.calls[status >= 300].fillna({"q850_cause": "", "final_phrase": ""})
    out = (failed.groupby(["final_status", "final_phrase", "q850_cause"], dropna=False)
           .agg(calls=("call_id", "size"), files=("file", lambda f: ", ".join(sorted(set(f)))))
           .reset_index())
    return out.sort_values(["calls", "final_status"], ascending=[False, True]).reset_index(drop=True)


def by_hour(fleet: Fleet, *, host: str = "callee") -> pd.DataFrame:
    """Calls, failures and loss per UTC hour and host.

    Parameters
    ----------
    fleet : Fleet
    host : str
        The calls column that names the host: ``"callee"`` (the next hop the INVITE went
        to: a relay, an SBC) or ``"caller"``.

    Returns
    -------
    pandas.DataFrame
        hour (UTC), host, calls, failed (final status >= 300), rtp_lost (packets),
        lost_pct (of the hour's expected packets) [%].

    References
    ----------
    RFC 3261 section 21; Wireshark 4.0 ``-z rtp,streams`` (loss).

    Examples
    --------
    >>> from labkit import data
    >>> fleet = run_fleet(data.path("ringback_amrwb").parent, scheduler="serial")
    >>> int(by_hour(fleet)["calls"].sum()) == len(fleet.calls)
    True
    """
    c = fleet.calls.assign(hour=fleet.calls["start_utc"].dt.floor("h"), host=fleet.calls[host],
                           failed=pd.to_numeric(fleet.calls["final_status"], errors="coerce") >= 300)
    g = c.groupby(["hour", "host"]).agg(calls=("call_id", "size"), failed=("failed", "sum"),
                                        rtp_lost=("rtp_lost", "sum"), rtp_packets=("rtp_packets", "sum"))
    g["lost_pct"] = (100.0 * g["rtp_lost"] / (g["rtp_packets"] + g["rtp_lost"]).where(lambda x: x > 0)).fillna(0).round(3)
    return g.drop(columns="rtp_packets").reset_index()


# ------------------------------------------------------- one relay or the whole host?

def _merged(intervals) -> list[tuple[float, float]]:
    out: list[list[float]] = []
    for a, b in sorted(intervals):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def _coverage(fleet: Fleet) -> dict:
    """relay -> merged (first, last) [s since epoch] spans of its analysed streams."""
    r = fleet.relays
    if not len(r):
        return {}
    first = r["first_utc"].map(lambda t: t.value / 1e9)
    last = r["last_utc"].map(lambda t: t.value / 1e9)
    spans: dict = {}
    for relay, a, b in zip(r["relay"], first, last):
        spans.setdefault(str(relay), []).append((float(a), float(b)))
    return {k: _merged(v) for k, v in spans.items()}


def _overlap(a, b) -> float:
    return sum(max(0.0, min(a1, b1) - max(a0, b0)) for a0, a1 in a for b0, b1 in b)


def shared_stalls(fleet: Fleet, align_ms: float = ALIGN_MS, kinds=("host",)) -> pd.DataFrame:
    """Stall instants across captures: which relays stalled at the same moment (UTC).

    The stall events of every capture (``fleet.stalls``, each one the streams a relay held
    at once) are put on one UTC time axis and grouped across files and relays: events
    whose *releases* (the first packet after the gap, ``end_utc``) lie within ``align_ms``
    of each other are one instant. A host that pauses its guests (a hypervisor
    descheduling them, or SIGSTOP/SIGCONT) releases them together; a relay stopped alone
    (its own VM) stalls while the other relays captured at that moment keep sending.

    Parameters
    ----------
    fleet : Fleet
        From :func:`run_fleet`; captures on different hosts must share a clock (NTP):
        their offset must be well below ``align_ms``.
    align_ms : float
        Largest spread of the releases of one instant across relays [ms]. The default,
        20 ms (one packet interval), covers NTP-synchronised probes on a LAN (about 1 ms)
        and leaves the chance of a false alignment small (see :func:`fleet_verdict`).
    kinds : tuple of str
        Which per-capture events take part: ``"host"`` (several streams of one sender at
        once, :func:`labkit.quality.hostnet.stall_events`) and/or ``"path"``.

    Returns
    -------
    pandas.DataFrame
        One row per instant, in time order: start_utc (earliest stall start), end_utc
        (earliest release), relays (number of distinct relays that stalled), relay_list
        (sorted, comma-separated), files, streams (held, summed), duration_ms (longest
        stall) [ms], spread_ms (of the releases across relays) [ms], witnesses (other
        relays whose captured streams span the instant without stalling), shared (bool:
        two relays or more).

    References
    ----------
    REFERENCE.md section 5 (a stalled host holds every stream it relays at once and
    releases them together; network jitter is per path); RFC 5481 section 4.1 (IPDV: the
    gap and the release).

    Examples
    --------
    Relays 1 and 2 of the bundled fleet run on one host that was paused five times
    (data/fleet/fleet_relays.truth.json); relay 3 was paused three times on its own:

    >>> from labkit import data
    >>> day = run_fleet(data.path("fleet_relay1").parent, scheduler="serial")
    >>> inst = shared_stalls(day)
    >>> inst[inst["shared"]]["relay_list"].unique().tolist(), int(inst["shared"].sum())
    (['10.47.1.10,10.47.2.10'], 5)
    >>> inst[~inst["shared"]][["relay_list", "witnesses"]].values.tolist()
    [['10.47.3.10', 2], ['10.47.3.10', 2], ['10.47.3.10', 2]]
    """
    import numpy as np
    cols = ["start_utc", "end_utc", "relays", "relay_list", "files", "streams", "duration_ms",
            "spread_ms", "witnesses", "shared"]
    st = fleet.stalls
    st = st[st["kind"].isin(kinds)] if len(st) else st
    if not len(st):
        return pd.DataFrame(columns=cols)
    st = st.sort_values(["end_utc", "relay", "file"]).reset_index(drop=True)
    ends = st["end_utc"].map(lambda t: t.value / 1e9).to_numpy(dtype=np.float64)
    cut = np.flatnonzero(np.diff(ends) * 1e3 > align_ms) + 1
    cover = _coverage(fleet)
    rows = []
    for part in np.split(np.arange(len(st)), cut):
        g = st.iloc[part]
        relays = sorted(set(g["relay"].astype(str)))
        t0 = float(g["start_utc"].min().value / 1e9)
        t1 = float(ends[part].max())
        witnesses = sum(1 for r, spans in cover.items() if r not in relays
                        and any(a <= t0 and b >= t1 for a, b in spans))
        rows.append({"start_utc": g["start_utc"].min(), "end_utc": g["end_utc"].min(),
                     "relays": len(relays), "relay_list": ",".join(relays),
                     "files": ",".join(sorted(set(g["file"].astype(str)))),
                     "streams": int(g["streams"].sum()),
                     "duration_ms": round(float(g["duration_ms"].max()), 3),
                     "spread_ms": round(float(np.ptp(ends[part])) * 1e3, 3),
                     "witnesses": witnesses, "shared": len(relays) >= 2})
    return pd.DataFrame(rows, columns=cols)


def _poisson_tail(observed: int, expected: float) -> float:
    """P(X >= observed) for X ~ Poisson(expected)."""
    import math
    if observed <= 0:
        return 1.0
    term = math.exp(-expected)
    below = 0.0
    for k in range(observed):
        below += term
        term *= expected / (k + 1)
    return max(0.0, 1.0 - below)


def fleet_verdict(fleet: Fleet, align_ms: float = ALIGN_MS, p_chance: float = P_CHANCE) -> dict:
    """One relay or the whole host? The cause of the stalls across every capture.

    From :func:`shared_stalls`: relays that stalled together at more instants than chance
    explains share a host-level cause (``"hypervisor"``: their host paused its guests
    together); a relay whose stalls are its own, while the other relays captured at that
    moment kept sending, has a problem of its own VM or process (``"vm"``); a relay with
    only single-stream stalls has ``"network"`` delay variation on some paths; else
    ``"none"``.

    Chance is reckoned as :func:`labkit.quality.hostnet.chance_coincidences` does within a
    capture: independent stalls at rates r_i = n_i / T_i on relays i and j align within
    +-w by chance 2 w r_i r_j T_ij times, T_ij being the time both were captured. The
    coincidences observed in a group of relays are compared with the Poisson tail of
    that expectation: below ``p_chance`` they are not luck.

    Parameters
    ----------
    fleet : Fleet
        From :func:`run_fleet`.
    align_ms : float
        Alignment window w across relays [ms] (:func:`shared_stalls`).
    p_chance : float
        Largest chance probability of the observed alignments for a shared cause.

    Returns
    -------
    dict
        cause ("hypervisor" | "vm" | "network" | "none", the worst found), confidence
        ("high" | "medium" | "low"), verdict (sentences with the evidence), groups (list:
        relays that stalled together, instants, aligned_pairs, chance_pairs, p_chance,
        spread_ms [ms]), relays (pandas.DataFrame: relay, files, first_utc and last_utc
        (its first and last captured packet), streams, host_stalls,
        shared, alone, witnessed (alone while another relay was captured), path_stalls,
        shared_with, cause), instants (:func:`shared_stalls`).

    References
    ----------
    REFERENCE.md section 5 (host-stall signature); coincidence rate of independent Poisson
    processes (2 w r_i r_j per unit time) and its Poisson tail.

    Examples
    --------
    >>> from labkit import data
    >>> day = run_fleet(data.path("fleet_relay1").parent, scheduler="serial")
    >>> v = fleet_verdict(day)
    >>> v["cause"], v["confidence"]
    ('hypervisor', 'high')
    >>> v["relays"][["relay", "shared", "alone", "cause"]].values.tolist()
    [['10.47.1.10', 5, 0, 'hypervisor'], ['10.47.2.10', 5, 0, 'hypervisor'], ['10.47.3.10', 0, 3, 'vm']]
    >>> g = v["groups"][0]
    >>> g["relays"], g["instants"], g["p_chance"] < 1e-6
    (['10.47.1.10', '10.47.2.10'], 5, True)
    """
    from labkit.quality.hostnet import chance_coincidences
    inst = shared_stalls(fleet, align_ms)
    cover = _coverage(fleet)
    relays = sorted(cover)
    host_n = {r: 0 for r in relays}
    path_n = {r: 0 for r in relays}
    st = fleet.stalls
    for r, kind in zip(st["relay"].astype(str), st["kind"]):
        (host_n if kind == "host" else path_n)[r] = (host_n if kind == "host" else path_n).get(r, 0) + 1
    # groups: relays joined by shared instants
    parent = {r: r for r in relays}

    def root(r):
        while parent[r] != r:
            r = parent[r]
        return r
    pairs_seen: dict = {}
    for lst in inst[inst["shared"]]["relay_list"] if len(inst) else []:
        rs = lst.split(",")
        for i, a in enumerate(rs):
            for b in rs[i + 1:]:
                pairs_seen[(a, b)] = pairs_seen.get((a, b), 0) + 1
                parent[root(b)] = root(a)
    groups = []
    members: dict = {}
    for r in relays:
        members.setdefault(root(r), []).append(r)
    for rs in members.values():
        if len(rs) < 2:
            continue
        rs = sorted(rs)
        aligned = sum(n for (a, b), n in pairs_seen.items() if a in rs)
        chance = 0.0
        for i, a in enumerate(rs):
            for b in rs[i + 1:]:
                t_ab = _overlap(cover[a], cover[b])
                t_a = sum(y - x for x, y in cover[a]) or 1.0
                t_b = sum(y - x for x, y in cover[b]) or 1.0
                chance += chance_coincidences([host_n[a] * t_ab / t_a, host_n[b] * t_ab / t_b],
                                              t_ab, align_ms)
        mine = inst[inst["shared"] & inst["relay_list"].map(lambda s: s.split(",")[0] in rs)]
        groups.append({"relays": rs, "instants": int(len(mine)), "aligned_pairs": int(aligned),
                       "chance_pairs": round(chance, 6), "p_chance": _poisson_tail(aligned, chance),
                       "spread_ms": round(float(mine["spread_ms"].max()), 3)})
    groups.sort(key=lambda g: (-g["instants"], g["relays"]))
    beyond = {r for g in groups if g["p_chance"] < p_chance for r in g["relays"]}
    rows = []
    for r in relays:
        mine = inst[inst["relay_list"].map(lambda s, r=r: r in s.split(","))] if len(inst) else inst
        shared = int(mine["shared"].sum()) if len(mine) else 0
        alone_ev = mine[~mine["shared"]] if len(mine) else mine
        with_ = sorted({x for s in mine[mine["shared"]]["relay_list"] for x in s.split(",")} - {r}) if len(mine) else []
        if r in beyond and shared >= len(alone_ev):
            cause = "hypervisor"
        elif host_n[r]:
            cause = "vm"
        elif path_n[r]:
            cause = "network"
        else:
            cause = "none"
        files = fleet.relays[fleet.relays["relay"] == r]
        rows.append({"relay": r, "files": ",".join(sorted(set(files["file"]))),
                     "first_utc": files["first_utc"].min(), "last_utc": files["last_utc"].max(),
                     "streams": int(files["streams"].max()), "host_stalls": host_n[r],
                     "shared": shared, "alone": int(len(alone_ev)),
                     "witnessed": int((alone_ev["witnesses"] > 0).sum()) if len(alone_ev) else 0,
                     "path_stalls": path_n[r], "shared_with": ",".join(with_), "cause": cause})
    table = pd.DataFrame(rows, columns=["relay", "files", "first_utc", "last_utc", "streams",
                                        "host_stalls", "shared", "alone",
                                        "witnessed", "path_stalls", "shared_with", "cause"])
    return {**_verdict_text(table, groups, p_chance, align_ms), "groups": groups,
            "relays": table, "instants": inst}


def _verdict_text(table: pd.DataFrame, groups: list, p_chance: float, align_ms: float) -> dict:
    parts, cause, conf = [], "none", "high"
    for g in groups:
        if g["p_chance"] >= p_chance:
            parts.append(f"Chance: relays {', '.join(g['relays'])} stalled together at "
                         f"{g['instants']} instant(s), as often as independent stalls would "
                         f"({g['chance_pairs']:.2g} expected, p = {g['p_chance']:.2g}): no shared cause shown.")
            continue
        names = " and ".join(g["relays"]) if len(g["relays"]) == 2 else ", ".join(g["relays"])
        parts.append(f"Hypervisor: relays {names} stalled together at {g['instants']} instant(s) "
                     f"(releases within {g['spread_ms']:.1f} ms; {g['chance_pairs']:.2g} such "
                     f"coincidences expected by chance, p = {g['p_chance']:.1g}): the host they "
                     "share paused them.")
        if cause == "none":
            cause = "hypervisor"
            conf = "high" if g["instants"] >= 3 and g["p_chance"] < 1e-4 else "medium"
    for r in table[table["cause"] == "vm"].itertuples():
        seen = (f"at {r.witnessed} of those instants other senders were captured and kept sending"
                if r.witnessed else "with no other sender captured then (the VM cannot be told "
                                    "from its host)")
        parts.append(f"VM: relay {r.relay} stalled alone {r.alone} time(s); {seen}: its own VM "
                     "or process.")
        if cause in ("none",):
            cause = "vm"
            conf = "high" if r.witnessed >= 3 else ("medium" if r.witnessed else "low")
    net = table[table["cause"] == "network"]
    if len(net):
        parts.append(f"Network: {int(net['path_stalls'].sum())} single-stream stall(s) on "
                     f"{len(net)} relay(s), not aligned across their streams.")
        if cause == "none":
            cause, conf = "network", "medium"
    if cause == "none":
        parts.append(f"None: no stall on {len(table)} sender(s) in the captures.")
    quiet = table[table["cause"] == "none"]
    if len(quiet) and cause != "none":
        parts.append(f"No stall on {len(quiet)} other sender(s).")
    return {"cause": cause, "confidence": conf, "verdict": " ".join(parts)}
