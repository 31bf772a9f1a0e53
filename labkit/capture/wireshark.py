"""Ask Wireshark: tshark fields, full dissection trees, and tshark's RTP stream table.

The fast paths of labkit read captures with numpy; this module is the other view:
what Wireshark 4.0 itself says. Notebooks use it to show Wireshark's dissection of a
frame or a display filter, tests use it as the oracle.

- :func:`tshark_fields` runs ``tshark -T fields`` and returns a DataFrame (one column
  per field, Wireshark's field names; multiple occurrences joined by ``;;``).
- :func:`dissect` returns pyshark's layer trees (or a flat DataFrame). pyshark drives
  asyncio and fails on a running Jupyter event loop ("This event loop is already
  running"), so it runs in a worker thread with its own event loop.
- :func:`tshark_rtp_streams` parses the table of ``tshark -q -z rtp,streams``.
- :func:`sharkd_rtp_analyse` asks ``sharkd`` for the per-packet ``rtp-analyse`` tap.

Preferences (``{"esp.enable_null_encryption_decode_heuristic": "TRUE"}``) and decode-as
bindings (``{"udp.port==12344": "rtp"}``) are parameters of every call, never globals.
"""
from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd

from labkit.errors import LabkitError, ToolMissingError

__all__ = ["tshark_fields", "dissect", "tshark_rtp_streams", "sharkd_rtp_analyse",
           "tshark_version", "tshark_args", "ports_claiming_rtp"]

_INSTALL = ("install Wireshark's command line tools: `sudo apt-get install tshark` "
            "(Debian/Ubuntu; `make setup` does it), then run again")
AGGREGATOR = ";;"


def _tool(name: str) -> str:
    exe = shutil.which(name)
    if exe is None:
        raise ToolMissingError(f"{name} not found on PATH", None, _INSTALL)
    return exe


def tshark_version() -> str:
    """Version string of the installed tshark ("4.0.17").

    Returns
    -------
    str
        The version number tshark prints on the first line of ``tshark --version``
        (``TShark (Wireshark) 4.0.17 (Git v4.0.17 ...)``).

    References
    ----------
    tshark(1) manual page, option ``-v``/``--version`` (Wireshark 4.0.17
    doc/tshark.adoc).

    Examples
    --------
    >>> [part.isdigit() for part in tshark_version().split(".")]   # '4.0.17' on Debian 12
    [True, True, True]
    """
    out = subprocess.run([_tool("tshark"), "--version"], capture_output=True, text=True,
                         check=False).stdout
    first = out.splitlines()[0] if out else ""
    # "TShark (Wireshark) 4.0.17 (Git v4.0.17 packaged as ...)": the first x.y.z
    found = re.search(r"\b(\d+\.\d+\.\d+)\b", first)
    return found.group(1) if found else first


def tshark_args(prefs: dict | None = None, decode_as: dict | None = None,
                heuristics: dict | None = None) -> list[str]:
    """Command-line options for preferences, decode-as and heuristic switches.

    Parameters
    ----------
    prefs : dict
        ``{"rtp.heuristic_rtp": "TRUE"}`` -> ``-o rtp.heuristic_rtp:TRUE``.
    decode_as : dict
        ``{"udp.port==12344": "rtp"}`` -> ``-d udp.port==12344,rtp``.
    heuristics : dict
        ``{"rtp_udp": True}`` -> ``--enable-heuristic rtp_udp``.

    Returns
    -------
    list of str
        Options in the order prefs, decode-as, heuristics (booleans in `prefs` are
        written ``TRUE``/``FALSE`` as Wireshark's preference files do).

    References
    ----------
    tshark(1) manual page, options ``-o``, ``-d``, ``--enable-heuristic`` and
    ``--disable-heuristic`` (Wireshark 4.0.17 doc/tshark.adoc).

    Examples
    --------
    >>> tshark_args({"rtp.heuristic_rtp": True}, {"udp.port==12344": "rtp"},
    ...             {"rtp_udp": True})
    ['-o', 'rtp.heuristic_rtp:TRUE', '-d', 'udp.port==12344,rtp', '--enable-heuristic', 'rtp_udp']
    >>> tshark_args()
    []
    """
    args: list[str] = []
    for k, v in (prefs or {}).items():
        if isinstance(v, bool):
            v = "TRUE" if v else "FALSE"
        args += ["-o", f"{k}:{v}"]
    for k, v in (decode_as or {}).items():
        args += ["-d", f"{k},{v}"]
    for k, on in (heuristics or {}).items():
        args += ["--enable-heuristic" if on else "--disable-heuristic", k]
    return args


def _run(args: list[str], path, what: str) -> str:
    path = Path(path)
    if not path.exists():
        raise LabkitError("capture not found", str(path), "check the path")
    proc = subprocess.run([_tool("tshark"), "-n", "-r", str(path), *args],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        err = proc.stderr.strip().splitlines()
        raise LabkitError(f"tshark failed ({what}): {err[-1] if err else proc.returncode}",
                          str(path), "check the display filter, preference and decode-as names")
    return proc.stdout


def tshark_fields(path, fields, display_filter: str | None = None, prefs: dict | None = None,
                  decode_as: dict | None = None, heuristics: dict | None = None,
                  two_pass: bool = False) -> pd.DataFrame:
    """Wireshark field values per frame (``tshark -T fields``) as a DataFrame.

    Parameters
    ----------
    path : path-like
        Capture file.
    fields : list of str
        Wireshark field names ("frame.number", "rtp.ssrc", "sdp.media").
    display_filter : str, optional
        Only frames matching this display filter ("rtp && udp.port == 5004").
    prefs, decode_as, heuristics : dict, optional
        See :func:`tshark_args`.
    two_pass : bool
        ``-2`` (tshark's two-pass analysis).

    Returns
    -------
    pandas.DataFrame
        One row per frame, one string column per field (empty string when absent;
        several occurrences joined by ``;;``).

    References
    ----------
    tshark(1) manual page, ``-T fields``, ``-e`` and ``-E`` (Wireshark 4.0.17
    doc/tshark.adoc); field names as in the Wireshark display filter reference.

    Examples
    --------
    The SIP frames of the real AMR-WB call: INVITE, 180, 200, ACK, then BYE and its 200.

    >>> from labkit import data
    >>> tshark_fields(data.path("ringback_amrwb"),
    ...               ["frame.number", "sip.Method", "sip.Status-Code"], "sip")
      frame.number sip.Method sip.Status-Code
    0            1     INVITE
    1            2                        180
    2            4                        200
    3            7        ACK
    4         1113        BYE
    5         1115                        200
    """
    fields = list(fields)
    args = ["-T", "fields", "-E", "header=n", "-E", "separator=/t", "-E", "quote=n",
            "-E", f"aggregator={AGGREGATOR}", "-E", "occurrence=a"]
    for f in fields:
        args += ["-e", f]
    if display_filter:
        args += ["-Y", display_filter]
    if two_pass:
        args.insert(0, "-2")
    out = _run(args + tshark_args(prefs, decode_as, heuristics), path, "fields")
    rows = [line.split("\t") for line in out.splitlines()]
    rows = [r + [""] * (len(fields) - len(r)) for r in rows]
    return pd.DataFrame(rows, columns=fields, dtype=str)


# ------------------------------------------------------------------ pyshark view
def _pyshark_worker(path, display_filter, prefs, decode_as, heuristics, limit):
    import pyshark  # imported here: heavy, and only needed for this view
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    extra = tshark_args(prefs, None, heuristics)
    cap = pyshark.FileCapture(str(path), display_filter=display_filter,
                              custom_parameters=extra or None,
                              decode_as=dict(decode_as or {}) or None, eventloop=loop)
    try:
        out = []
        for i, pkt in enumerate(cap):
            if limit is not None and i >= limit:
                break
            out.append(_layers(pkt))
        return out
    finally:
        _close_quietly(cap)
        loop.close()


def _close_quietly(cap) -> None:
    """Stop pyshark's tshark once we have what we read.

    When we stop after `limit` frames pyshark kills tshark; asyncio's child watcher can
    then lose the exit status (it logs "Unknown child process" and reports 255) and
    pyshark calls that a crash. A failure while reading still raises from the loop above.
    """
    from pyshark.capture.capture import TSharkCrashException
    try:
        cap.close()
    except TSharkCrashException:
        pass
    finally:
        cap._running_processes.clear()  # so pyshark's __del__ does not reuse the closed loop


def _layers(pkt) -> dict:
    tree = {"frame.number": int(pkt.number)}
    for layer in pkt.layers:
        fields = {}
        for name in layer.field_names:
            try:
                val = layer.get_field_value(name)
            except Exception:  # noqa: BLE001 - pyshark field quirks
                continue
            fields[f"{layer.layer_name}.{name}"] = str(val)
        tree.setdefault("layers", []).append({"name": layer.layer_name, "fields": fields})
    return tree


def dissect(path, display_filter: str | None = None, *, prefs: dict | None = None,
            decode_as: dict | None = None, heuristics: dict | None = None,
            limit: int | None = 100, as_frame: bool = False):
    """Wireshark's own dissection of the frames matching `display_filter` (pyshark).

    Runs pyshark in a worker thread with its own asyncio loop, so it works inside a
    Jupyter kernel (whose loop is already running).

    Parameters
    ----------
    path : path-like
        Capture file.
    display_filter : str, optional
        Only frames matching this display filter ("sip", "rtp.ssrc == 0x1234").
    prefs, heuristics : dict, optional
        See :func:`tshark_args`.
    decode_as : dict, optional
        ``{"udp.port==12344": "rtp"}`` (pyshark's decode_as).
    limit : int or None
        At most this many frames [frames] (pyshark needs about 1 ms per frame).
    as_frame : bool
        Return a flat DataFrame (one row per frame, columns "layer.field") instead of
        a list of ``{"frame.number", "layers": [{"name", "fields"}]}`` trees.

    Returns
    -------
    list of dict or pandas.DataFrame
        One tree per frame: ``{"frame.number": int, "layers": [{"name": "sip",
        "fields": {"sip.method": "INVITE", ...}}, ...]}`` with every value a string,
        layers outermost first; with `as_frame`, one row per frame and one column per
        "layer.field" (the first occurrence when a field repeats; NaN when absent).

    References
    ----------
    Wireshark 4.0.17 PDML output (``tshark -T pdml``, epan/print.c), which pyshark
    parses; pyshark's ``FileCapture``.

    Examples
    --------
    The first SIP frame of the real AMR-WB call, as Wireshark dissects it:

    >>> from labkit import data
    >>> tree = dissect(data.path("ringback_amrwb"), "sip", limit=1)[0]
    >>> tree["frame.number"], [layer["name"] for layer in tree["layers"]]
    (1, ['eth', 'ip', 'udp', 'sip'])
    >>> tree["layers"][-1]["fields"]["sip.method"]
    'INVITE'
    >>> dissect(data.path("ringback_amrwb"), "sip", limit=2, as_frame=True)[
    ...     ["frame.number", "sip.method"]]
       frame.number sip.method
    0             1     INVITE
    1             2        NaN
    """
    if not Path(path).exists():
        raise LabkitError("capture not found", str(path), "check the path")
    _tool("tshark")
    with ThreadPoolExecutor(max_workers=1) as pool:
        trees = pool.submit(_pyshark_worker, path, display_filter, prefs, decode_as,
                            heuristics, limit).result()
    if not as_frame:
        return trees
    flat = []
    for t in trees:
        row = {"frame.number": t["frame.number"]}
        for layer in t.get("layers", []):
            for k, v in layer["fields"].items():
                row.setdefault(k, v)
        flat.append(row)
    return pd.DataFrame(flat)


# --------------------------------------------------------------- RTP oracle
_STREAM_COLS = ["start", "end", "src", "sport", "dst", "dport", "ssrc", "payloads",
                "packets", "lost", "lost_pct", "min_delta", "mean_delta", "max_delta",
                "min_jitter", "mean_jitter", "max_jitter", "problem"]


def _parse_stream_line(line: str) -> dict:
    tok = line.split()
    problem = tok[-1] == "X"
    if problem:
        tok = tok[:-1]
    nums = tok[-6:]
    pct = tok[-7]
    lost, pkts = tok[-8], tok[-9]
    head = tok[:7]
    payloads = " ".join(tok[7:-9])
    return {"start": float(head[0]), "end": float(head[1]), "src": head[2],
            "sport": int(head[3]), "dst": head[4], "dport": int(head[5]),
            "ssrc": int(head[6], 16), "payloads": payloads, "packets": int(pkts),
            "lost": int(lost), "lost_pct": float(pct.strip("()%")),
            **dict(zip(_STREAM_COLS[11:17], map(float, nums))), "problem": problem}


def parse_rtp_streams(text: str) -> pd.DataFrame:
    """Parse the printed ``-z rtp,streams`` table (rows in tshark's order)."""
    rows, inside = [], False
    for line in text.splitlines():
        if line.startswith("=") and "RTP Streams" in line:
            inside = True
            continue
        if not inside or not line.strip() or line.strip().startswith("Start time"):
            continue
        if line.startswith("="):
            break
        rows.append(_parse_stream_line(line))
    return pd.DataFrame(rows, columns=_STREAM_COLS)


def tshark_rtp_streams(path, heuristic: bool = True, prefs: dict | None = None,
                       decode_as: dict | None = None) -> pd.DataFrame:
    """tshark 4.0's RTP stream table (``tshark -n -q -z rtp,streams``) as a DataFrame.

    Parameters
    ----------
    path : path-like
        Capture file.
    heuristic : bool
        Add ``-o rtp.heuristic_rtp:TRUE`` (RTP without SDP); otherwise only streams
        set up by SDP in the capture.
    prefs, decode_as : dict, optional
        See :func:`tshark_args`.

    Returns
    -------
    pandas.DataFrame
        Columns as printed: start, end [s], src, sport, dst, dport, ssrc (int),
        payloads, packets, lost, lost_pct [%], min/mean/max_delta, min/mean/max_jitter
        [ms, 3 decimals], problem (bool).

    References
    ----------
    Wireshark 4.0.17 ui/cli/tap-rtp.c (the ``rtp,streams`` table) and
    ui/tap-rtp-analysis.c (delta, RFC 3550 section 6.4.1 / appendix A.8 jitter).

    Examples
    --------
    The two directions of the real AMR-WB call, 551 packets each, 20 ms mean delta:

    >>> from labkit import data
    >>> t = tshark_rtp_streams(data.path("ringback_amrwb"))
    >>> t[["src", "sport", "dst", "dport", "payloads", "packets", "lost"]]
            src  sport       dst  dport payloads  packets  lost
    0  10.0.0.1  10010  10.0.0.2  10024   AMR-WB      551     0
    1  10.0.0.2  10024  10.0.0.1  10010   AMR-WB      551     0
    >>> t["mean_delta"].round(0).tolist(), bool(t["problem"].any())
    ([20.0, 20.0], False)
    """
    p = dict(prefs or {})
    if heuristic:
        p.setdefault("rtp.heuristic_rtp", "TRUE")
    out = _run(["-q", "-z", "rtp,streams", *tshark_args(p, decode_as)], path, "rtp,streams")
    return parse_rtp_streams(out)


def sharkd_rtp_analyse(path, src: str, sport: int, dst: str, dport: int, ssrc: int,
                       prefs: dict | None = None) -> pd.DataFrame:
    """Per-packet RTP analysis of one stream from ``sharkd`` 4.0 (tap ``rtp-analyse``).

    Parameters
    ----------
    path : path-like
        Capture file.
    src, dst : str
        Source and destination addresses of the stream ("10.0.0.2").
    sport, dport : int
        Source and destination UDP ports.
    ssrc : int
        RTP SSRC of the stream (RFC 3550 section 5.1).
    prefs : dict, optional
        Wireshark preferences set with sharkd's ``setconf`` before loading
        (``{"rtp.heuristic_rtp": "TRUE"}``).

    Returns
    -------
    pandas.DataFrame
        f (frame), o (arrival [s] since the stream's first packet), sn, d (delta),
        j (jitter), sk (skew) [ms, 2 decimals as sharkd prints], bw [kbit/s],
        s (status text), t (status type), mark.

    References
    ----------
    Wireshark 4.0.17 sharkd_session.c (``sharkd_session_process_tap_rtp_analyse_cb``)
    and ui/tap-rtp-analysis.c; jitter as RFC 3550 section 6.4.1.

    Examples
    --------
    B's stream of the real AMR-WB call. The second packet came 22.62 ms after the first
    for a 20 ms (320-tick) timestamp step, so the jitter is |22.62 - 20| / 16 = 0.16 ms:

    >>> from labkit import data
    >>> a = sharkd_rtp_analyse(data.path("ringback_amrwb"), "10.0.0.2", 10024,
    ...                        "10.0.0.1", 10010, 105771277)
    >>> len(a), a["f"].tolist()[:2], a["d"].tolist()[:2], a["j"].tolist()[:2]
    (551, [5, 9], [0.0, 22.62], [0.0, 0.16])
    """
    exe = _tool("sharkd")
    reqs = [{"jsonrpc": "2.0", "id": 1, "method": "load", "params": {"file": str(path)}}]
    for i, (k, v) in enumerate((prefs or {}).items()):
        reqs.insert(i, {"jsonrpc": "2.0", "id": 10 + i, "method": "setconf",
                        "params": {"name": k, "value": str(v)}})
    tap = f"rtp-analyse:{src}_{sport}_{dst}_{dport}_0x{ssrc:08X}"
    reqs.append({"jsonrpc": "2.0", "id": 2, "method": "tap", "params": {"tap0": tap}})
    proc = subprocess.run([exe, "-"], input="\n".join(json.dumps(r) for r in reqs) + "\n",
                          capture_output=True, text=True, check=False, timeout=300)
    for line in proc.stdout.splitlines():
        try:
            msg = json.loads(line)
        except json.JSONDecodeError:
            continue
        if msg.get("id") == 2 and "result" in msg:
            taps = msg["result"].get("taps", [])
            if taps:
                return pd.DataFrame(taps[0].get("items", []))
    raise LabkitError("sharkd gave no rtp-analyse result", str(path),
                      f"check the stream key {tap!r}")


# probes: typical RTP datagrams (G.711 20 ms, dynamic PT with marker, G.729, CN)
RTP_PROBES = ((8, False, bytes([0xD5]) * 160), (96, True, bytes(range(32))),
              (8, False, bytes([0x55]) * 240),
              (18, False, bytes(20)), (13, False, b"\x40"))


def ports_claiming_rtp(ports=None, probes=RTP_PROBES) -> list[int]:
    """UDP ports whose tshark dissector takes RTP datagrams before the RTP heuristic.

    Writes a small capture with each probe RTP packet to every registered UDP port
    (``tshark -G decodes``) to and from an unregistered port, and lists the ports where
    tshark with the heuristic on saw no RTP for *every* probe (some dissectors claim
    datagrams depending on their content; those ports are left out).

    Parameters
    ----------
    ports : list of int, optional
        UDP ports to probe; default every port registered in ``udp.port``
        (about 400, a few seconds).
    probes : sequence of (int, bool, bytes)
        (payload type, marker, payload) of each probe RTP packet; default
        :data:`RTP_PROBES` (G.711 20 ms and 30 ms, a dynamic PT with marker, G.729, CN).

    Returns
    -------
    list of int
        The ports (in the order given) where tshark found RTP in none of the probes.

    References
    ----------
    Wireshark 4.0.17 epan/dissectors/packet-udp.c (``decode_udp_ports``: port
    dissectors before heuristics unless ``udp.try_heuristic_first``) and
    packet-rtp.c (``dissect_rtp_heur``); RFC 3550 section 5.1.

    Examples
    --------
    DNS on 53 claims RTP datagrams; SIP on 5060 and STUN on 3478 let the RTP
    heuristic look at them:

    >>> ports_claiming_rtp([53, 5060, 3478])
    [53]
    """
    import tempfile
    from labkit.capture import frames
    if ports is None:
        out = subprocess.run([_tool("tshark"), "-G", "decodes"], capture_output=True,
                             text=True, check=False).stdout
        ports = sorted({int(line.split("\t")[1]) for line in out.splitlines()
                        if line.startswith("udp.port\t")})
    ports = [p for p in ports if p > 0]
    recs = []
    for j, (pt, marker, body) in enumerate(probes):
        payload = frames.rtp(body, pt=pt, seq=1000 + j, ts=160000, ssrc=0x1234 + j,
                             marker=marker)
        for sport_is_registered in (False, True):
            recs += [(1_000_000_000 + len(recs) * 20_000_000,
                      frames.udp_frame(payload, "10.0.0.1", "10.0.0.2",
                                       *((p, 47999) if sport_is_registered else (47999, p))))
                     for p in ports]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ports.pcap"
        frames.write_pcap(path, recs)
        df = tshark_fields(path, ["frame.number", "rtp.ssrc"],
                           prefs={"rtp.heuristic_rtp": "TRUE"})
    seen = df["rtp.ssrc"].to_numpy() != ""
    n = len(ports)
    return [p for i, p in enumerate(ports)
            if not any(seen[j * n + i] for j in range(2 * len(probes)))]
