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
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from labkit.errors import LabkitError

__all__ = ["Fleet", "capture_files", "summarize_capture", "run_fleet", "worst_calls",
           "failed_by_cause", "by_hour", "CALL_COLUMNS", "STREAM_COLUMNS"]

CAPTURE_SUFFIXES = (".pcap", ".pcapng", ".cap", ".pcap.gz", ".pcapng.gz")
CALL_COLUMNS = ["file", "call_id", "start_utc", "caller", "callee", "final_status",
                "final_phrase", "answered", "q850_cause", "sip_messages", "streams",
                "rtp_packets", "rtp_lost", "lost_pct", "max_jitter", "pdv_p999_ms", "stalls",
                "mos", "capture_cause"]
STREAM_COLUMNS = ["file", "call_id", "stream", "start_utc", "src", "sport", "dst", "dport",
                  "ssrc", "codec", "packets", "lost", "lost_pct", "mean_jitter", "max_jitter",
                  "max_delta", "problem", "pdv_p999_ms", "stalls", "mos"]
QUALITY_BUFFER = "adaptive"   # the jitter buffer whose MOS the fleet tables carry
ERROR_COLUMNS = ["file", "error"]


@dataclass(frozen=True)
class Fleet:
    """The calls, streams and unreadable files of a set of captures.

    ``calls``: one row per (file, Call-ID) with CALL_COLUMNS; ``streams``: one row per
    RTP stream with STREAM_COLUMNS; ``errors``: file and message. Times in UTC,
    jitter and delta in [ms], loss in packets and [%]. Sorted by file, then time.
    """

    calls: pd.DataFrame
    streams: pd.DataFrame
    errors: pd.DataFrame
    files: tuple = ()       # every file name read, sorted

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
        """Write calls to `out` and streams, errors next to it (``<stem>_streams.parquet``,
        ``<stem>_errors.parquet``); return the three paths."""
        out = Path(out)
        paths = [out, out.with_name(f"{out.stem}_streams.parquet"),
                 out.with_name(f"{out.stem}_errors.parquet")]
        for table, path in zip((self.calls, self.streams, self.errors), paths):
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
        [ms] sum (max) over its streams; start_utc is the first packet's time.

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
    from labkit import rtp, sip
    from labkit.capture import read_capture
    path = Path(path)
    pk = read_capture(path, progress=False)
    origin = int(pk.time_ns.min()) if len(pk) else 0
    messages = sip.sip_messages(pk)
    streams = rtp.rtp_streams(pk)
    quality = _quality(pk)
    streams = streams.assign(file=path.name,
                             call_id=rtp.stream_calls(streams, sip.sdp_media(messages)),
                             start_utc=_utc(origin, streams["start"]),
                             **{c: streams["stream"].map(lambda s, c=c: quality["streams"].get(s, {}).get(c))
                                for c in ("pdv_p999_ms", "stalls", "mos")})
    streams = streams[STREAM_COLUMNS].sort_values(["start_utc", "stream"]).reset_index(drop=True)
    calls = sip.sip_calls(messages)
    first = messages.groupby("call_id")["time"].min() if len(messages) else pd.Series(dtype=float)
    rows = [_call_row(path.name, c, streams[streams["call_id"] == c.call_id],
                      _utc(origin, first.get(c.call_id, 0.0)),
                      int((messages["call_id"] == c.call_id).sum()), quality["cause"])
            for c in calls.itertuples()]
    calls = pd.DataFrame(rows, columns=CALL_COLUMNS).sort_values(["start_utc", "call_id"])
    return calls.reset_index(drop=True), streams


def _utc(origin_ns: int, seconds):
    return pd.to_datetime(origin_ns, unit="ns", utc=True) + pd.to_timedelta(seconds, unit="s")


def _quality(pk) -> dict:
    """Per stream id: PDV p99.9 [ms], stalls, MOS through the adaptive buffer
    (labkit.quality); and the capture's host / network / none verdict."""
    from labkit.quality.analysis import analyze_jitter
    rep = analyze_jitter(pk)
    per = {}
    for s in rep.streams:
        buf = s["buffers"].get(QUALITY_BUFFER) or next(iter(s["buffers"].values()), {})
        per[int(s["stream"])] = {"pdv_p999_ms": s["pdv_ms"]["p99.9"], "stalls": len(s["stalls"]),
                                 "mos": buf.get("MOS")}
    return {"streams": per, "cause": rep.cause}


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
            calls, streams = summarize_capture(path)
        return {"file": path, "calls": calls, "streams": streams, "error": None}
    except (LabkitError, OSError, ValueError) as exc:
        return {"file": path, "calls": None, "streams": None, "error": f"{type(exc).__name__}: {exc}"}


def run_fleet(source, *, scheduler=None, workers=None, progress=None) -> Fleet:
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
        A tqdm bar per finished file (default: when stderr is a terminal).

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
    bar = _bar(len(files), progress)
    if scheduler == "serial":
        results = []
        for f in files:
            results.append(_task(f))
            bar.update()
    else:
        results = _on_dask(files, scheduler, workers, bar)
    bar.close()
    return _join(results)


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _on_dask(files, scheduler, workers, bar) -> list[dict]:
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
                               silence_logs=logging.ERROR)
    try:
        with Client(cluster or scheduler, timeout="20s") as client:
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


def _bar(total, progress):
    import sys
    from tqdm.auto import tqdm
    show = sys.stderr.isatty() if progress is None else progress
    return tqdm(total=total, unit="file", desc="captures", disable=not show)


def _join(results: list[dict]) -> Fleet:
    ok = [r for r in results if r["error"] is None]
    calls = [r["calls"] for r in ok if len(r["calls"])]
    streams = [r["streams"] for r in ok if len(r["streams"])]
    calls = pd.concat(calls, ignore_index=True) if calls else pd.DataFrame(columns=CALL_COLUMNS)
    streams = pd.concat(streams, ignore_index=True) if streams else pd.DataFrame(columns=STREAM_COLUMNS)
    errors = pd.DataFrame([{"file": Path(r["file"]).name, "error": r["error"]}
                           for r in results if r["error"] is not None], columns=ERROR_COLUMNS)
    return Fleet(calls.sort_values(["file", "start_utc", "call_id"]).reset_index(drop=True),
                 streams.sort_values(["file", "start_utc", "stream"]).reset_index(drop=True),
                 errors.sort_values("file").reset_index(drop=True),
                 tuple(sorted(Path(r["file"]).name for r in results)))


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
