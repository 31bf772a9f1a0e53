"""A HEP3 collector on UDP that writes pcapng plus a side table, and a HEP3 sender.

:class:`HepCollector` receives HEP3 datagrams (kamailio siptrace, sngrep -H, heplify...),
decodes them with :mod:`labkit.ops.hep`, rebuilds each SIP/RTP/RTCP packet as a frame at
the agent's timestamp and writes a pcapng the other notebooks read; what pcapng has no
field for (capture agent id, node name, correlation id, vendor chunks, problems) goes in
a side table next to it (``NAME.hep.tsv``). :func:`send_hep` replays HEP3 packets (e.g.
:func:`labkit.ops.hep.packets_to_hep` of a capture) to a collector.

References
----------
.. [1] sipcapture, "HEP3 Network Protocol Specification", rev. 37.
.. [2] draft-ietf-opsawg-pcapng (the capture written).
"""
from __future__ import annotations

from pathlib import Path

from labkit.errors import DecodeError
from labkit.ops.hep import HepPacket, HepStats, encode_hep, hep_frame

__all__ = ["HepCollector", "parse_address", "read_side_table", "send_hep",
           "side_table_path", "write_call"]


def parse_address(text: str, default_host: str = "127.0.0.1") -> tuple[str, int]:
    """``"udp:HOST:PORT"`` (or ``HOST:PORT``, ``PORT``) -> ``(host, port)``.

    Parameters
    ----------
    text : str
        Address as sngrep and kamailio write it; only UDP is supported.
    default_host : str
        Host when only a port is given.

    Returns
    -------
    tuple of (str, int)

    References
    ----------
    sngrep(8) options -H/-L (``udp:HOST:PORT``).

    Examples
    --------
    >>> parse_address("udp:127.0.0.1:9060"), parse_address("9060")
    (('127.0.0.1', 9060), ('127.0.0.1', 9060))
    """
    rest = text
    if rest.lower().startswith(("udp:", "tcp:", "tls:")):
        if not rest.lower().startswith("udp:"):
            raise DecodeError(f"transport {rest.split(':')[0]!r} in {text!r}", None,
                              "HEP is received and sent here over UDP only: udp:HOST:PORT")
        rest = rest[4:]
    host, _, port = rest.rpartition(":")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise DecodeError(f"no port in address {text!r}", None, "write udp:HOST:PORT, "
                          "e.g. udp:127.0.0.1:9060")
    return (host.strip("[]") or default_host), int(port)


_TABLE_COLUMNS = ("frame", "time_ns", "proto_type", "capture_id", "node_name",
                  "correlation_id", "src", "sport", "dst", "dport", "ip_proto",
                  "vendor_chunks", "problems", "payload_if_not_framed")


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "backslashreplace")
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n") \
        .replace("\r", "\\r")


def table_row(pkt: HepPacket, frame: int | None) -> list[str]:
    """One side-table row (tab-separated fields) for `pkt`, written as `frame` or none."""
    vendor = ";".join(f"{c.vendor}:{c.type}:{c.value.hex()}" for c in pkt.extra)
    cols = [frame, pkt.time_ns, pkt.proto_type, pkt.capture_id, pkt.node_name,
            pkt.correlation_id, pkt.src, pkt.sport, pkt.dst, pkt.dport, pkt.ip_proto,
            vendor, " | ".join(pkt.problems), pkt.payload if frame is None else None]
    return [_text(c) for c in cols]


def side_table_path(out) -> Path:
    """The side table next to a collector's capture: ``out.pcapng`` -> ``out.hep.tsv``.

    Parameters
    ----------
    out : str or Path
        The capture the collector writes.

    Returns
    -------
    Path

    References
    ----------
    draft-ietf-opsawg-pcapng (pcapng has no field for HEP's capture agent id or
    correlation id, hence the side table).

    Examples
    --------
    >>> side_table_path("calls/out.pcapng").as_posix()
    'calls/out.hep.tsv'
    """
    out = Path(out)
    return out.with_name(out.stem + ".hep.tsv")


class HepCollector:
    """Receives HEP3 over UDP and writes a pcapng plus a side table (``*.hep.tsv``).

    The capture holds every SIP/RTP/RTCP packet rebuilt as Ethernet/IP/UDP (or TCP)
    frames at the agent's timestamps; the side table has one row per HEP packet with
    the frame it became, the capture agent id, node name, correlation id, vendor chunks
    and problems (packets that are not frames, e.g. JSON reports, keep their payload
    there). Call :meth:`run`; :meth:`stop` (e.g. from a signal handler) ends it, and
    the files are written completely before :meth:`run` returns.
    """

    def __init__(self, address: str, out, *, duration: float | None = None,
                 count: int | None = None, flush_every: float = 2.0):
        import socket
        import threading
        self.host, self.port = parse_address(address)
        self.out, self.table = Path(out), side_table_path(out)
        self.duration, self.count, self.flush_every = duration, count, flush_every
        self.stats = HepStats()
        self.records: list = []
        self.rows: list = []
        self._seq: dict = {}
        self._stop = threading.Event()
        self.sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET,
                                  socket.SOCK_DGRAM)
        try:
            self.sock.bind((self.host, self.port))
        except OSError as exc:
            self.sock.close()
            raise DecodeError(f"cannot listen on udp:{self.host}:{self.port}: "
                              f"{exc.strerror}", None,
                              "pick a free port or stop the program using it") from exc
        self.sock.settimeout(0.2)

    def stop(self, *_):
        """Ask :meth:`run` to flush and return (safe from a signal handler)."""
        self._stop.set()

    def handle(self, data: bytes, peer=None):
        """Decode one datagram into the capture and the side table."""
        pkt = self.stats.add(data, f"datagram {self.stats.received + 1}: ")
        if pkt is None:
            return
        frame = hep_frame(pkt, self._seq)
        number = None
        if frame is not None:
            self.records.append((pkt.time_ns, frame))
            number = len(self.records)
        self.rows.append(table_row(pkt, number))

    def run(self) -> dict:
        """Receive until duration, count or :meth:`stop`; write the files; a summary."""
        import time
        start = last_flush = time.monotonic()
        try:
            while not self._stop.is_set():
                now = time.monotonic()
                if self.duration is not None and now - start >= self.duration:
                    break
                if self.count is not None and self.stats.received >= self.count:
                    break
                if now - last_flush >= self.flush_every:
                    self.flush()
                    last_flush = now
                try:
                    data, peer = self.sock.recvfrom(65535)
                except (TimeoutError, OSError):
                    continue
                self.handle(data, peer)
        finally:
            self.sock.close()
            self.flush()
        return self.summary()

    def flush(self):
        """Write the capture and the side table with everything received so far."""
        from labkit.capture.frames import write_pcapng
        tmp = self.out.with_name(self.out.name + ".part")
        write_pcapng(tmp, self.records, interfaces=((1, 6),))
        tmp.replace(self.out)
        lines = ["\t".join(_TABLE_COLUMNS)] + ["\t".join(r) for r in self.rows]
        self.table.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def summary(self) -> dict:
        """What was received and written."""
        return {"listen": f"udp:{self.host}:{self.port}", "capture": str(self.out),
                "side_table": str(self.table), "frames": len(self.records),
                **self.stats.as_dict()}


def read_side_table(path):
    """The collector's side table as a DataFrame (one row per HEP packet).

    Parameters
    ----------
    path : str or Path
        ``*.hep.tsv`` written by :class:`HepCollector` (or the capture next to it).

    Returns
    -------
    pandas.DataFrame
        Columns frame (pcapng frame number, <NA> for packets that are not frames),
        time_ns, proto_type, capture_id, node_name, correlation_id, src, sport, dst,
        dport, ip_proto, vendor_chunks (``vendor:type:hex;...``), problems,
        payload_if_not_framed.

    References
    ----------
    HEP3 Network Protocol Specification rev. 37 (chunks 0x0c, 0x11, 0x13).

    Examples
    --------
    >>> from labkit import data
    >>> t = read_side_table(data.path("hep_kamailio"))
    >>> sorted(t["capture_id"].unique().tolist())
    [2001]
    """
    import pandas as pd
    path = Path(path)
    if path.suffix != ".tsv":
        path = side_table_path(path)
    df = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    for col in ("frame", "time_ns", "proto_type", "capture_id", "sport", "dport", "ip_proto"):
        df[col] = pd.to_numeric(df[col].replace("", None)).astype("Int64")
    return df


def send_hep(heps, address: str, *, gap_s: float = 0.0005) -> int:
    """Send HEP3 packets over UDP, in order; the number sent.

    Parameters
    ----------
    heps : iterable of HepPacket
        E.g. from :func:`packets_to_hep`.
    address : str
        ``udp:HOST:PORT`` of the collector.
    gap_s : float
        Pause between datagrams so a collector's socket buffer keeps up [s].

    Returns
    -------
    int

    References
    ----------
    HEP3 Network Protocol Specification rev. 37.

    Examples
    --------
    >>> send_hep([], "udp:127.0.0.1:9")
    0
    """
    import socket
    import time
    host, port = parse_address(address)
    n = 0
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET,
                       socket.SOCK_DGRAM) as sock:
        for pkt in heps:
            sock.sendto(encode_hep(pkt), (host, port))
            n += 1
            if gap_s:
                time.sleep(gap_s)
    return n


def write_call(capture, call_id: str, out) -> Path:
    """Write the frames of one call (by Call-ID) of `capture` to a pcap of their own.

    Parameters
    ----------
    capture : str or Path
        Capture file (e.g. a collector's pcapng or a HOMER export).
    call_id : str
        Call-ID of the call.
    out : str or Path
        pcap to write; the frames are copied unchanged, with their timestamps [ns].

    Returns
    -------
    Path

    References
    ----------
    RFC 3261 section 8.1.1.4 (Call-ID); draft-ietf-opsawg-pcap.

    Examples
    --------
    >>> import tempfile, os
    >>> from labkit import data
    >>> from labkit.capture import read_capture
    >>> from labkit.sip import sip_messages
    >>> p = write_call(data.path("hep_kamailio"), "1-14169@127.0.0.1",
    ...                os.path.join(tempfile.mkdtemp(), "call.pcap"))
    >>> len(sip_messages(read_capture(p)))    # tshark: 13 frames with this Call-ID
    13
    """
    from labkit.capture import iter_frames
    from labkit.capture.frames import write_pcap
    from labkit.errors import LabkitError
    from labkit.sip import sip_messages
    msgs = sip_messages(capture)   # read in chunks
    wanted = set(msgs.loc[msgs["call_id"] == call_id, "frame"].astype(int))
    if not wanted:
        raise LabkitError(f"no SIP message with Call-ID {call_id!r}", str(capture),
                          "list the calls with labkit.sip.sip_calls and pick one")
    recs, linktype = [], 1
    for f in iter_frames(capture):
        if f.number in wanted:
            recs.append((f.time_ns, f.data))
            linktype = f.linktype
    return write_pcap(out, recs, linktype=linktype, nanosecond=True)
