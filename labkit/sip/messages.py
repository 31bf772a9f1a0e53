"""SIP messages, dialogs and SDP offers/answers from a capture (RFC 3261, RFC 3264).

SIP is found by its start line (``METHOD uri SIP/2.0`` or ``SIP/2.0 NNN reason``) on UDP
and TCP on any port, as Wireshark's heuristic does with "try heuristic sub-dissectors".
TCP segments are put back in sequence order per direction and cut into messages by
``Content-Length`` (RFC 3261 section 18.3, mandatory on stream transports). A message
spanning several segments gets the frame number of its last segment, as in Wireshark.

The input is a :class:`labkit.capture.Packets` (or anything with the same attributes:
``frame``, ``time_ns``, ``proto``, ``sport``, ``dport``, ``tcp_seq``, ``payload_len``,
``payload(i)``, ``src(i)``, ``dst(i)``).

The questions it answers: "which SIP messages are in this capture?", "which SDP is an
offer and which its answer, per hop?" and "who called whom, and how did the call end?".

References
----------
RFC 3261 sections 7 (message format), 7.3.3 (compact header forms), 13.2.1 (where
offers and answers go), 18.3 (framing, Content-Length); RFC 3264 (offer/answer);
RFC 6337 (offer/answer in practice: late offers, PRACK, UPDATE); RFC 3326 (Reason
header); RFC 4566 (SDP). Wireshark epan/dissectors/packet-sip.c (heuristic dissector,
TCP reassembly by Content-Length) is the oracle the tests compare with.
"""
from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass

import numpy as np

from labkit.errors import LabkitWarning
from labkit.sip.sdp import is_sdp, parse_sdp

__all__ = ["SipMessage", "parse_sip", "sip_messages", "sip_message_rows", "as_messages", "sdp_media", "sdp_media_rows", "offers_answers",
           "sip_calls", "parse_reason", "COMPACT_HEADERS"]

# RFC 3261 section 7.3.3 compact forms (+ RFC 3515 r, RFC 3265 o/u, RFC 4028 x,
# RFC 3841 a/j/d, RFC 3892 b, RFC 4474 y/n).
COMPACT_HEADERS = {"i": "call-id", "m": "contact", "e": "content-encoding",
                   "l": "content-length", "c": "content-type", "f": "from", "s": "subject",
                   "k": "supported", "t": "to", "v": "via", "r": "refer-to", "o": "event",
                   "u": "allow-events", "x": "session-expires", "a": "accept-contact",
                   "j": "reject-contact", "d": "request-disposition", "b": "referred-by",
                   "y": "identity", "n": "identity-info"}

_REQUEST = re.compile(rb"^([A-Z][A-Z0-9_.!%*+`'~-]*) (\S+) SIP/2\.0\r?$")
_STATUS = re.compile(rb"^SIP/2\.0 ([1-6]\d\d)(?: (.*))?\r?$")
_START = re.compile(rb"(?m)^(?:[A-Z][A-Z0-9_.!%*+`'~-]* \S+ SIP/2\.0|SIP/2\.0 [1-6]\d\d)\b")
_HEADER_END = re.compile(rb"\r?\n\r?\n")


@dataclass(frozen=True)
class SipMessage:
    """One parsed SIP message: start line, headers in order (lower-case full names), body.

    Attributes
    ----------
    method, request_uri : str or None
        Request line (None in a response).
    status : int or None
        Status code of a response (None in a request).
    reason_phrase : str or None
        Reason phrase of a response.
    headers : tuple of (str, str)
        (lower-case full name, value) in message order; compact forms expanded.
    body : bytes
        The body, Content-Length bytes long [bytes].
    problem : str or None
        What is malformed (truncated datagram), else None.

    References
    ----------
    RFC 3261 section 7 (requests, responses, header fields) and 7.3.3 (compact forms).

    Examples
    --------
    >>> from labkit import data
    >>> from labkit.capture import read_capture
    >>> msg, _ = parse_sip(bytes(read_capture(data.path("codec_mismatch_488")).payload(1)))
    >>> msg.status, msg.reason_phrase, msg.header("i"), msg.header("CSeq")
    (488, 'Not Acceptable Here', '6c140fda455e428b', '54605 INVITE')
    """

    method: str | None
    request_uri: str | None
    status: int | None
    reason_phrase: str | None
    headers: tuple
    body: bytes
    problem: str | None = None

    def header(self, name: str) -> str | None:
        """First value of header `name` (case-insensitive, compact forms accepted).

        Parameters
        ----------
        name : str
            Header name, full ("Call-ID") or compact ("i").

        Returns
        -------
        str or None
            The first value, None when absent.
        """
        name = COMPACT_HEADERS.get(name.lower(), name.lower())
        return next((v for n, v in self.headers if n == name), None)

    def header_all(self, name: str) -> list[str]:
        """Every value of header `name`.

        Parameters
        ----------
        name : str
            Header name, full or compact.

        Returns
        -------
        list of str
            Values in message order (a comma-separated line is one value).
        """
        name = COMPACT_HEADERS.get(name.lower(), name.lower())
        return [v for n, v in self.headers if n == name]


def parse_sip(data: bytes, *, datagram: bool = False) -> tuple[SipMessage, int] | None:
    """Parse one SIP message at the start of `data`.

    Parameters
    ----------
    data : bytes
        A UDP payload, or a TCP stream's bytes from a message start.
    datagram : bool
        True for a UDP payload (one whole message): a missing blank line or a body
        shorter than Content-Length still gives the message, with ``problem`` set
        (Wireshark shows such messages too, flagged malformed).

    Returns
    -------
    (SipMessage, used) or None
        `used` is the number of bytes consumed (headers + Content-Length body); None when
        `data` does not start with a SIP start line or (stream) the message is incomplete.
        When Content-Length is absent the body is the rest of `data` (RFC 3261 18.3, UDP).
        `used` is in [bytes].

    References
    ----------
    RFC 3261 section 7 (start line, headers, blank line, body) and 18.3 (Content-Length
    frames a message on a stream; on UDP a missing one means "the rest").

    Examples
    --------
    The real 488 of baresip (frame 2; tshark: udp.length 344 = 8 + 336 bytes of SIP,
    Content-Length 0):

    >>> from labkit import data
    >>> from labkit.capture import read_capture
    >>> raw = bytes(read_capture(data.path("codec_mismatch_488")).payload(1))
    >>> msg, used = parse_sip(raw)
    >>> msg.status, msg.reason_phrase, used, len(raw), msg.body
    (488, 'Not Acceptable Here', 336, 336, b'')

    Cut short, a stream message is not complete yet; a datagram is kept, flagged:

    >>> parse_sip(raw[:100]) is None
    True
    >>> parse_sip(raw[:100], datagram=True)[0].problem
    'no blank line after the headers (truncated?)'
    """
    end = _HEADER_END.search(data)
    problem = None
    if end is None:
        if not datagram:
            return None
        head_end = body_start = len(data)
        problem = "no blank line after the headers (truncated?)"
    else:
        head_end, body_start = end.start(), end.end()
    head = data[:head_end].split(b"\n")
    start = _start_line(head[0])
    if start is None:
        return None
    headers = _headers(head[1:])
    length = _content_length(headers)
    if length is None:
        length = len(data) - body_start
    if len(data) - body_start < length:
        if not datagram:
            return None
        problem = f"body has {len(data) - body_start} bytes, Content-Length says {length}"
        length = len(data) - body_start
    body = bytes(data[body_start:body_start + length])
    return SipMessage(*start, headers=tuple(headers), body=body, problem=problem), \
        body_start + length


def _start_line(line: bytes):
    m = _REQUEST.match(line)
    if m:
        return m.group(1).decode(), m.group(2).decode("utf-8", "replace"), None, None
    m = _STATUS.match(line)
    if m:
        phrase = (m.group(2) or b"").decode("utf-8", "replace").strip()
        return None, None, int(m.group(1)), phrase
    return None


def _headers(lines: list[bytes]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for raw in lines:
        line = raw.decode("utf-8", "replace").rstrip("\r")
        if line[:1] in (" ", "\t") and out:  # folded continuation (RFC 3261 7.3.1)
            out[-1] = (out[-1][0], out[-1][1] + " " + line.strip())
            continue
        name, sep, value = line.partition(":")
        if sep:
            name = name.strip().lower()
            out.append((COMPACT_HEADERS.get(name, name), value.strip()))
    return out


def _content_length(headers) -> int | None:
    for name, value in headers:
        if name == "content-length":
            return int(value) if value.strip().isdigit() else None
    return None


# ---------------------------------------------------------------------------------------
# Finding SIP in Packets


def _looks_like_sip(payload: bytes) -> bool:
    return bool(_START.match(payload[:200]))


def _udp_messages(packets, i):
    data = packets.payload(i)
    if not _looks_like_sip(data):
        return []
    parsed = parse_sip(data, datagram=True)
    return [(parsed[0], i, 1)] if parsed else []


class _TcpFlow:
    """One direction of a TCP connection: in-order bytes and the rows they came from."""

    def __init__(self):
        self.next_seq: int | None = None
        self.buf = bytearray()
        self.segments = 0  # segments that contributed to the bytes in buf
        self.pending: dict[int, bytes] = {}  # out-of-order segments waiting for a gap

    def feed(self, seq: int, data: bytes, where: str) -> None:
        if self.next_seq is None:
            self.next_seq = seq
        if self._delta(seq) > 0:
            if len(self.pending) < 8:  # wait a little for the missing bytes
                self.pending[seq] = data
                return
            warnings.warn(f"{where}: TCP gap of {self._delta(seq)} bytes never filled; dropped "
                          f"{len(self.buf)} buffered bytes of an incomplete SIP message",
                          LabkitWarning)
            self.buf.clear()
            self.pending.clear()
            self.next_seq = seq
        self._append(seq, data)
        while True:  # segments that arrived early and now fit
            ready = [s for s in self.pending if self._delta(s) <= 0]
            if not ready:
                break
            for s in sorted(ready, key=self._delta):
                self._append(s, self.pending.pop(s))

    def _delta(self, seq: int) -> int:
        return (seq - self.next_seq + 2**31) % 2**32 - 2**31

    def _append(self, seq: int, data: bytes) -> None:
        delta = self._delta(seq)
        if delta < 0:  # retransmitted / overlapping bytes: keep only the new part
            data = data[-delta:]
        if data:  # called only with delta <= 0: the new bytes start at next_seq
            self.buf += data
            self.next_seq = (self.next_seq + len(data)) % 2**32
            self.segments += 1

    def take(self):
        """Complete messages at the front of the buffer (resynchronising on start lines)."""
        out = []
        while self.buf:
            m = _START.search(self.buf)
            if m is None:
                if len(self.buf) > 65536:
                    self.buf.clear()
                break
            del self.buf[:m.start()]
            parsed = parse_sip(bytes(self.buf)) if _content_length_known(self.buf) else None
            if parsed is None:
                break
            out.append((parsed[0], self.segments))
            del self.buf[:parsed[1]]
            self.segments = 1 if self.buf else 0
        return out


def _content_length_known(buf) -> bool:
    """On TCP a message is complete only once its header block is (Content-Length needed)."""
    return _HEADER_END.search(buf) is not None


def _tcp_messages(packets, i, flows):
    key = (int(packets.src_id[i]), int(packets.sport[i]), int(packets.dst_id[i]),
           int(packets.dport[i])) if hasattr(packets, "src_id") else \
        (packets.src(i), int(packets.sport[i]), packets.dst(i), int(packets.dport[i]))
    data, seq = packets.payload(i), int(packets.tcp_seq[i])
    flow = flows.get(key)
    if not isinstance(flow, _TcpFlow):
        if not _START.search(data[:2000]):
            # not (yet) SIP: keep the last few segments, they may be the rest of a message
            # whose start arrives later (out of order)
            flows[key] = ((flow or []) + [(seq, data)])[-8:]
            return []
        early = flow or []
        flow = flows[key] = _TcpFlow()
        flow.next_seq = seq
        flow.pending.update((s, d) for s, d in early if flow._delta(s) > 0)
    flow.feed(seq, data, f"frame {int(packets.frame[i])}")
    return [(msg, i, n) for msg, n in flow.take()]


def _candidate_rows(packets, carried=()) -> np.ndarray:
    """Rows worth looking at: UDP whose first byte is an upper-case letter (every SIP start
    line; RTP starts 0x80-0xBF), and every TCP segment of a direction in which at least one
    segment starts with such a letter (continuation segments start anywhere), or whose
    direction is in `carried` (TCP state from earlier chunks of the capture)."""
    has_data = np.asarray(packets.payload_len) > 0
    proto = np.asarray(packets.proto)
    tcp, udp = has_data & (proto == 6), has_data & (proto == 17)
    if not hasattr(packets, "head") or not (tcp | udp).any():
        return np.flatnonzero(tcp | udp)
    first = np.asarray(packets.head(1))[:, 0]
    letter = (first >= ord("A")) & (first <= ord("Z"))
    return np.flatnonzero((udp & letter) | _sip_like_tcp(packets, tcp, letter, carried))


def _sip_like_tcp(packets, tcp, letter, carried=()) -> np.ndarray:
    if not tcp.any() or not hasattr(packets, "src_id"):
        return tcp
    key = np.stack([np.asarray(packets.src_id, np.int64), np.asarray(packets.sport, np.int64),
                    np.asarray(packets.dst_id, np.int64), np.asarray(packets.dport, np.int64)], 1)
    keys, flow = np.unique(key, axis=0, return_inverse=True)
    flow = flow.ravel()
    wanted = np.zeros(flow.max() + 1, bool)
    wanted[flow[tcp & letter]] = True
    if carried:
        for j in np.flatnonzero(~wanted):
            wanted[j] = tuple(int(v) for v in keys[j]) in carried
    return tcp & wanted[flow]


_COLUMNS = ["frame", "time", "time_ns", "src", "sport", "dst", "dport", "transport",
            "ip_reassembled", "segments",
            "method", "status", "reason_phrase", "request_uri", "call_id", "cseq",
            "cseq_method", "from_uri", "from_tag", "to_uri", "to_tag", "content_type",
            "reason", "body", "sdp", "sdp_typed", "problem", "headers"]


def sip_messages(packets) -> pd.DataFrame:
    """Every SIP message in `packets`, one row each, in capture order.

    Parameters
    ----------
    packets : path, labkit.capture.Packets or list of dict
        A capture file (read in chunks of frames with :func:`labkit.capture.iter_capture`,
        the TCP reassembly carried from chunk to chunk, so memory holds the SIP messages,
        not the capture), the UDP datagrams and TCP segments of a capture read already,
        or the rows :func:`sip_message_rows` gave for its chunks.

    Returns
    -------
    pandas.DataFrame
        Columns: frame, time [s since the capture's first frame], time_ns [ns epoch], src,
        sport, dst, dport, transport ("UDP"/"TCP"), ip_reassembled (the datagram was put
        together from IP fragments by labkit.capture), segments (TCP segments the message
        spanned; 1 on UDP), method (requests) or status and
        reason_phrase (responses), request_uri, call_id, cseq (int), cseq_method,
        from_uri, from_tag, to_uri, to_tag, content_type, reason (Reason header, RFC
        3326), body (bytes), sdp (the SDP text found in the body, also inside multipart or
        without Content-Type, else None), sdp_typed (the SDP is labelled application/sdp,
        so Wireshark dissects it), problem (what is malformed, else None), headers (tuple of (lower-case name, value)).

    References
    ----------
    RFC 3261 sections 7, 8.1.1 (Call-ID, CSeq, From/To tags) and 18.3; RFC 3326
    (Reason); Wireshark epan/dissectors/packet-sip.c (frame numbers of reassembled TCP
    messages).

    Examples
    --------
    The real baresip call refused with 488 (tshark -Y sip: frames 1 INVITE, 2 488,
    3 ACK, all CSeq 54605):

    >>> from labkit import data
    >>> from labkit.capture import read_capture
    >>> msgs = sip_messages(read_capture(data.path("codec_mismatch_488")))
    >>> for r in msgs.itertuples():
    ...     print(r.frame, r.transport, r.src, "->", r.dst, r.method, r.status, r.cseq)
    1 UDP 10.0.0.1 -> 10.0.0.2 INVITE <NA> 54605
    2 UDP 10.0.0.2 -> 10.0.0.1 nan 488 54605
    3 UDP 10.0.0.1 -> 10.0.0.2 ACK <NA> 54605

    Given the path, the file is read in chunks (the same table):

    >>> sip_messages(data.path("codec_mismatch_488")).equals(msgs)
    True
    """
    import pandas as pd
    if isinstance(packets, (str, os.PathLike)):
        rows = _file_rows(packets)
    else:
        rows = packets if isinstance(packets, list) else _message_rows(packets)
    df = pd.DataFrame(rows, columns=_COLUMNS)
    df["status"] = df["status"].astype("Int64")
    df["cseq"] = df["cseq"].astype("Int64")
    return df.sort_values("frame", kind="stable").reset_index(drop=True)


def sip_message_rows(packets, tcp_state: dict | None = None) -> list[dict]:
    """The rows of :func:`sip_messages` as dicts, in frame order, without pandas.

    For a capture read in chunks (:func:`labkit.capture.iter_capture`): give every chunk
    the same `tcp_state` dict; the rows of every chunk, concatenated, then give
    :func:`sip_messages` of the whole capture, a SIP message whose TCP segments fall in
    two chunks included (it is reported at the frame that completes it, as in a
    whole-file read).

    Parameters
    ----------
    packets : labkit.capture.Packets
        UDP datagrams and TCP segments (one chunk or a whole capture).
    tcp_state : dict, optional
        The TCP reassembly state of the chunks read so far (start with ``{}``; it is
        updated in place). Without it each call starts afresh.

    Returns
    -------
    list of dict
        One dict per SIP message with the columns of :func:`sip_messages`.

    References
    ----------
    RFC 3261 section 7 (SIP messages), 18.3 (framing over TCP: Content-Length).

    Examples
    --------
    >>> from labkit import data
    >>> from labkit.capture import iter_capture
    >>> rows = [r for c in iter_capture(data.path("relay_rtpengine"), chunk_packets=500)   # tshark -Y sip: 13
    ...         for r in sip_message_rows(c)]
    >>> len(rows), rows[0]["method"], len(sip_messages(rows))
    (13, 'INVITE', 13)
    """
    return _message_rows(packets, tcp_state)


def _file_rows(path) -> list[dict]:
    """:func:`sip_message_rows` of a capture file read in chunks, TCP state carried."""
    from labkit.capture import iter_capture
    tcp_state: dict = {}
    return [r for chunk in iter_capture(path) for r in _message_rows(chunk, tcp_state)]


def _message_rows(packets, flows: dict | None = None) -> list[dict]:
    """The rows of :func:`sip_messages` as dicts, in frame order, without pandas."""
    flows = {} if flows is None else flows
    found = []
    proto = np.asarray(packets.proto)
    for i in _candidate_rows(packets, flows):
        if proto[i] == 17:
            found += _udp_messages(packets, i)
        elif proto[i] == 6:
            found += _tcp_messages(packets, i, flows)
    origin = getattr(packets, "first_time_ns", None)
    if origin is None and len(packets):
        origin = int(np.min(packets.time_ns))
    l4 = getattr(packets, "l4_offset", None)
    rows = [_row(packets, i, msg, origin, n, l4 is not None and int(l4[i]) < 0)
            for msg, i, n in found]
    rows.sort(key=lambda r: r["frame"])  # stable, as sort_values(kind="stable")
    return rows


def _row(packets, i, msg: SipMessage, origin, segments, reassembled) -> dict:
    cseq_num, cseq_method = _cseq(msg.header("cseq"))
    from_h, to_h = msg.header("from") or "", msg.header("to") or ""
    t = int(packets.time_ns[i])
    return {"frame": int(packets.frame[i]), "time": (t - origin) / 1e9, "time_ns": t,
            "src": packets.src(i), "sport": int(packets.sport[i]), "dst": packets.dst(i),
            "dport": int(packets.dport[i]),
            "transport": "TCP" if int(packets.proto[i]) == 6 else "UDP",
            "ip_reassembled": bool(reassembled), "segments": segments,
            "method": msg.method, "status": msg.status, "reason_phrase": msg.reason_phrase,
            "request_uri": msg.request_uri, "call_id": msg.header("call-id"),
            "cseq": cseq_num, "cseq_method": cseq_method, "from_uri": _uri(from_h),
            "from_tag": _tag(from_h), "to_uri": _uri(to_h), "to_tag": _tag(to_h),
            "content_type": msg.header("content-type"),
            "reason": "; ".join(msg.header_all("reason")) or None,
            "body": msg.body, "sdp": _sdp_text(msg), "sdp_typed": _sdp_typed(msg),
            "problem": msg.problem, "headers": msg.headers}


def _cseq(value):
    parts = (value or "").split()
    if len(parts) >= 2 and parts[0].isdigit():
        return int(parts[0]), parts[1].upper()
    return None, None


def _uri(value: str) -> str | None:
    m = re.search(r"<([^>]*)>", value)
    return m.group(1) if m else (value.split(";")[0].strip() or None)


def _tag(value: str) -> str | None:
    params = value.rsplit(">", 1)[-1]
    m = re.search(r";\s*tag=([^;,\s]+)", params, re.I)
    return m.group(1) if m else None


def _sdp_text(msg: SipMessage) -> str | None:
    """The SDP in the body: application/sdp directly or one part of a multipart body."""
    ctype = (msg.header("content-type") or "").lower()
    if not msg.body:
        return None
    if ctype.startswith("application/sdp") or (not ctype and is_sdp(_text(msg.body))):
        return _text(msg.body)
    if ctype.startswith("multipart/"):
        m = re.search(r'boundary="?([^";]+)"?', msg.header("content-type") or "", re.I)
        if m:
            return _multipart_sdp(msg.body, m.group(1).encode())
    return None


def _sdp_typed(msg: SipMessage) -> bool:
    """True when the SDP is labelled (Content-Type application/sdp, or a multipart part):
    only then does Wireshark dissect it as SDP."""
    ctype = (msg.header("content-type") or "").lower()
    return bool(msg.body) and (ctype.startswith("application/sdp") or
                               (ctype.startswith("multipart/") and _sdp_text(msg) is not None))


def _multipart_sdp(body: bytes, boundary: bytes) -> str | None:
    for part in body.split(b"--" + boundary):
        head, sep, content = part.partition(b"\r\n\r\n")
        if not sep:
            head, sep, content = part.partition(b"\n\n")
        if sep and b"application/sdp" in head.lower():
            return _text(content.rstrip(b"\r\n"))
    return None


def _text(body: bytes) -> str:
    return body.decode("utf-8", errors="replace")


# ---------------------------------------------------------------------------------------
# SDP per m= line, offers/answers, calls


def _present(value) -> bool:
    return isinstance(value, str) and value != ""


def as_messages(source) -> pd.DataFrame:
    """`source` as a :func:`sip_messages` table: the one way from "a capture the user
    named" to its SIP messages, for every analysis that accepts either.

    Parameters
    ----------
    source : str, Path, labkit.capture.Packets or pandas.DataFrame
        A capture file (read in chunks by :func:`sip_messages`: memory holds the SIP
        messages, not the capture), its packets, or a :func:`sip_messages` table (returned
        as it is).

    Returns
    -------
    pandas.DataFrame
        The :func:`sip_messages` table.

    References
    ----------
    RFC 3261 section 7 (SIP messages); DESIGN.md principle 5 (one way from a path to
    data; :func:`labkit.capture.as_packets` is its packet-level twin).

    Examples
    --------
    >>> from labkit import data
    >>> msgs = as_messages(data.path("codec_mismatch_488"))   # tshark -Y sip: 3 frames
    >>> len(msgs), as_messages(msgs) is msgs
    (3, True)
    """
    import pandas as pd
    if isinstance(source, pd.DataFrame):
        return source
    if isinstance(source, (str, os.PathLike)):
        return sip_messages(source)
    if hasattr(source, "payload_len") and hasattr(source, "proto"):
        return sip_messages(source)   # Packets, or a stand-in with their columns
    from labkit.capture import as_packets
    return sip_messages(as_packets(source))   # anything else: as_packets says what to give


def _label(row) -> str:
    return row["method"] if isinstance(row["method"], str) else str(int(row["status"]))


_MEDIA_COLUMNS = ["frame", "time", "call_id", "cseq", "cseq_method", "message", "src",
                  "dst", "m_index", "media", "address", "port", "proto", "pts", "rtpmap",
                  "codecs", "fmtp", "direction", "ptime", "problems"]


def sdp_media(packets_or_messages, *, wireshark: bool = True) -> pd.DataFrame:
    """One row per SDP ``m=`` line of every SIP message (RFC 4566 section 5.14).

    Parameters
    ----------
    packets_or_messages : Packets or DataFrame
        A capture's packets, or the result of :func:`sip_messages`.
    wireshark : bool
        True (default): only bodies Wireshark dissects as SDP (labelled
        ``application/sdp``), so RTP set-up matches Wireshark's. False: also SDP bodies
        sent without Content-Type.

    Returns
    -------
    pandas.DataFrame
        frame, time [s], call_id, cseq, cseq_method, message ("INVITE", "200" ...), src,
        dst, m_index, media ("audio"...), address (media c= else session c=), port,
        proto, pts (list of payload types in order), rtpmap (dict pt -> (name, clock
        rate [Hz]) of the explicit a=rtpmap lines only, which is what Wireshark's SDP
        dissector registers for the RTP conversation), codecs (same for every pt,
        static ones from RFC 3551 added), fmtp (dict pt -> str), direction, ptime [ms],
        problems (tuple of str).

    References
    ----------
    RFC 4566 sections 5.7 (c=), 5.14 (m=), 6 (rtpmap, fmtp, ptime, direction); RFC 3551
    table 4 (static payload types); Wireshark epan/dissectors/packet-sdp.c.

    Examples
    --------
    The GSM-only offer of the real 488 call (tshark: sdp.media "audio 10008 RTP/AVP 3
    101"):

    >>> from labkit import data
    >>> m = sdp_media(data.path("codec_mismatch_488")).iloc[0]
    >>> print(m.frame, m.message, m.address, m.port, m.pts, m.ptime)
    1 INVITE 10.0.0.1 10008 [3, 101] 20.0
    >>> m.codecs
    {3: ('GSM', 8000), 101: ('telephone-event', 8000)}
    """
    import pandas as pd
    msgs = as_messages(packets_or_messages)
    keep = msgs["sdp"].notna() & (msgs["sdp_typed"] if wireshark else True)
    rows = []
    for _, msg in msgs[keep].iterrows():
        sd = parse_sdp(msg["sdp"])
        for m in sd.media:
            rows.append(_media_row(msg, sd, m))
    df = pd.DataFrame(rows, columns=_MEDIA_COLUMNS)
    df["cseq"] = df["cseq"].astype("Int64")
    return df


def sdp_media_rows(packets, *, wireshark: bool = True) -> list[dict]:
    """The rows of :func:`sdp_media` of `packets` as plain dicts, without pandas.

    For the command line (it starts faster without pandas): same keys as the
    DataFrame's columns; cseq is an int or None instead of an Int64 value.

    Parameters
    ----------
    packets : labkit.capture.Packets
        UDP datagrams and TCP segments of a capture.
    wireshark : bool
        As in :func:`sdp_media`.

    Returns
    -------
    list of dict
        One dict per ``m=`` line, keys as :func:`sdp_media`'s columns (time [s],
        port, ptime [ms]).

    References
    ----------
    RFC 4566 section 5.14 (m=) and 6; RFC 3551 table 4.

    Examples
    --------
    The four hops of the real call through kamailio and rtpengine (tshark
    sdp.connection_info / sdp.media: frames 1, 3, 5, 9 carry 10.0.0.1:10010,
    10.0.0.10:30000, 10.0.0.2:10022, 10.0.0.10:30008, all "RTP/AVP 8 101"):

    >>> from labkit import data
    >>> from labkit.capture import read_capture
    >>> rows = sdp_media_rows(read_capture(data.path("early_media_ringback")))
    >>> [(r["frame"], r["message"], r["address"], r["port"]) for r in rows[:4]]
    [(1, 'INVITE', '10.0.0.1', 10010), (3, 'INVITE', '10.0.0.10', 30000), (5, '183', '10.0.0.2', 10022), (9, '183', '10.0.0.10', 30008)]
    >>> rows[0]["pts"], rows[0]["cseq"], type(rows[0]["cseq"]).__name__
    ([8, 101], 58720, 'int')
    """
    rows = []
    for msg in _message_rows(packets):
        if msg["sdp"] is None or (wireshark and not msg["sdp_typed"]):
            continue
        sd = parse_sdp(msg["sdp"])
        for m in sd.media:
            rows.append(_media_row(msg, sd, m))
    return rows


def _media_row(msg, sd, m) -> dict:
    return {"frame": msg["frame"], "time": msg["time"], "call_id": msg["call_id"],
            "cseq": msg["cseq"], "cseq_method": msg["cseq_method"], "message": _label(msg),
            "src": msg["src"], "dst": msg["dst"], "m_index": m.index, "media": m.kind,
            "address": m.connection, "port": m.port, "proto": m.proto,
            "pts": list(m.formats),
            "rtpmap": {pt: (c.name, c.rate) for pt, c in m.rtpmap.items()},
            "codecs": {pt: (c.name, c.rate) for pt, c in m.codecs.items() if c is not None},
            "fmtp": dict(m.fmtp), "direction": m.direction, "ptime": m.ptime,
            "problems": sd.problems}


_OA_COLUMNS = ["call_id", "dialog", "frame", "time", "src", "dst", "message", "cseq",
               "cseq_method", "role", "offer_frame", "sdp"]


def offers_answers(packets_or_messages) -> pd.DataFrame:
    """Every SDP offer and answer per dialog (RFC 3261 section 13.2.1, RFC 3264, RFC 6337).

    An SDP in INVITE/UPDATE/PRACK is an offer; an SDP in a response (18x or 2xx) to that
    request is its answer; an SDP in a 18x/2xx to an INVITE without SDP is an offer (late
    offer) answered in the PRACK or ACK. Pairing is per hop: a proxy that forwards (and
    perhaps rewrites) an offer makes a second offer on the next hop, and a response is
    paired with the offer that went the opposite way between the same two addresses.
    Copies on the same hop (retransmissions, a 200 repeating the 183's SDP) are marked
    ``offer (repeat)`` / ``answer (repeat)``.

    Parameters
    ----------
    packets_or_messages : str, Path, Packets or DataFrame
        A capture's path, its packets, or :func:`sip_messages` of it.

    Returns
    -------
    pandas.DataFrame
        call_id, dialog (the callee's tag: forked dialogs differ), frame, time [s], src,
        dst, message, cseq, cseq_method, role
        ("offer", "answer", "offer (repeat)", "answer (repeat)", "capabilities" for SDP in
        a response to OPTIONS, "unexpected"), offer_frame (the frame of the
        offer an answer belongs to), sdp (:class:`labkit.sip.sdp.SessionDescription`).

    References
    ----------
    RFC 3261 section 13.2.1 (offer in INVITE or, late, in the 2xx/ACK); RFC 3264
    sections 5-6 (offer, answer); RFC 3262 (PRACK), RFC 3311 (UPDATE); RFC 6337
    section 3 (an answer in a reliable 18x; the 200 repeats it).

    Examples
    --------
    The real call through kamailio (10.0.0.10): each hop has its own offer, the 183
    answers it and the 200 repeats that answer (tshark -Y sip: SDP in frames 1, 3, 5, 9,
    1001, 1003):

    >>> from labkit import data
    >>> oa = offers_answers(data.path("early_media_ringback"))
    >>> for r in oa.itertuples():
    ...     print(r.frame, r.src, "->", r.dst, r.message, r.role, r.offer_frame)
    1 10.0.0.1 -> 10.0.0.10 INVITE offer <NA>
    3 10.0.0.10 -> 10.0.0.2 INVITE offer <NA>
    5 10.0.0.2 -> 10.0.0.10 183 answer 3
    9 10.0.0.10 -> 10.0.0.1 183 answer 1
    1001 10.0.0.2 -> 10.0.0.10 200 answer (repeat) 3
    1003 10.0.0.10 -> 10.0.0.1 200 answer (repeat) 1
    """
    import pandas as pd
    msgs = as_messages(packets_or_messages)
    rows = []
    for call_id, group in msgs.groupby("call_id", sort=False):
        rows += _dialog_offers(call_id, group)
    df = pd.DataFrame(rows, columns=_OA_COLUMNS)
    df["offer_frame"] = df["offer_frame"].astype("Int64")
    df["cseq"] = df["cseq"].astype("Int64")
    return df.sort_values("frame", kind="stable").reset_index(drop=True)


def _dialog_offers(call_id, group) -> list[dict]:
    txns: dict = {}  # (cseq, method) -> list of offers [{frame, src, dst, by_request, answered}]
    rows = []
    caller_tag = group["from_tag"].iloc[0]
    for _, msg in group.iterrows():
        if not _present(msg["sdp"]):
            continue
        role, offer_frame = _role(msg, txns)
        rows.append({"call_id": call_id, "dialog": _callee_tag(msg, caller_tag),
                     "frame": msg["frame"], "time": msg["time"],
                     "src": msg["src"], "dst": msg["dst"], "message": _label(msg),
                     "cseq": msg["cseq"], "cseq_method": msg["cseq_method"], "role": role,
                     "offer_frame": offer_frame, "sdp": parse_sdp(msg["sdp"])})
    return rows


def _callee_tag(msg, caller_tag) -> str:
    """The callee's tag, which tells forked dialogs of one Call-ID apart ('' before one
    is known, e.g. in the initial INVITE)."""
    tag = msg["to_tag"] if msg["from_tag"] == caller_tag else msg["from_tag"]
    return tag if isinstance(tag, str) else ""


def _hop_offer(offers, msg, by_request):
    """The offer this message answers: same transaction, reverse hop (else the latest)."""
    cands = [o for o in offers if o["by_request"] == by_request]
    same_hosts = [o for o in cands if o["src"] == msg["dst"] and o["dst"] == msg["src"]]
    same_hop = [o for o in same_hosts if o["sport"] == msg["dport"] and o["dport"] == msg["sport"]]
    return (same_hop or same_hosts or cands or [None])[-1]


def _answer(offer):
    role = "answer (repeat)" if offer["answered"] else "answer"
    offer["answered"] = True
    return role, offer["frame"]


def _new_offer(offers, msg, by_request):
    for o in offers:
        if (o["src"], o["sport"], o["dst"], o["dport"], o["by_request"]) == \
                (msg["src"], msg["sport"], msg["dst"], msg["dport"], by_request):
            return "offer (repeat)", o["frame"]
    offers.append({"frame": msg["frame"], "src": msg["src"], "dst": msg["dst"],
                   "sport": msg["sport"], "dport": msg["dport"],
                   "by_request": by_request, "answered": False})
    return "offer", None


def _role(msg, txns):
    method = msg["method"] if isinstance(msg["method"], str) else None
    if method in ("ACK", "PRACK"):
        # ACK shares the INVITE's CSeq number; PRACK has its own (RAck names the INVITE's),
        # so for PRACK take the newest unanswered offer made in a response to an INVITE.
        invite_offers = txns.get((msg["cseq"], "INVITE"), []) if method == "ACK" else \
            [o for (_, m), offers in txns.items() if m == "INVITE" for o in offers
             if not o["answered"]]
        late = _hop_offer(invite_offers, msg, False)
        if method == "ACK" or (late is not None and not late["answered"]):
            return _answer(late) if late is not None else ("unexpected", None)
    if method in ("INVITE", "UPDATE", "PRACK"):
        return _new_offer(txns.setdefault((msg["cseq"], method), []), msg, True)
    if method is not None:
        return "unexpected", None
    if msg["cseq_method"] == "OPTIONS":
        return "capabilities", None  # RFC 3264 section 9: SDP in a 200 to OPTIONS
    offers = txns.setdefault((msg["cseq"], msg["cseq_method"]), [])
    offer = _hop_offer(offers, msg, True)
    if offer is not None:
        return _answer(offer)
    if msg["cseq_method"] == "INVITE" and 100 < (msg["status"] or 0) < 300:
        return _new_offer(offers, msg, False)  # late offer: INVITE without SDP
    return "unexpected", None


_Q850 = re.compile(r"cause\s*=\s*(\d+)", re.I)


def parse_reason(value: str | None) -> list[dict]:
    """Reason header values (RFC 3326): [{'protocol': 'Q.850', 'cause': 88, 'text': ...}].

    Parameters
    ----------
    value : str or None
        The Reason header's value (several reasons comma separated), or None.

    Returns
    -------
    list of dict
        One dict per reason: protocol ("SIP", "Q.850"), cause (int or None), text (str
        or None); [] for None or "".

    References
    ----------
    RFC 3326 section 2 (syntax, protocols SIP and Q.850); ITU-T Q.850 table 1 (cause
    values).

    Examples
    --------
    No bundled capture carries a Reason header (their calls end with 488 or BYE
    without one), so the examples of RFC 3326 section 2:

    >>> parse_reason('SIP ;cause=200 ;text="Call completed elsewhere"')
    [{'protocol': 'SIP', 'cause': 200, 'text': 'Call completed elsewhere'}]
    >>> [r["cause"] for r in parse_reason('SIP ;cause=600 ;text="Busy Everywhere", '
    ...                                   'Q.850 ;cause=16 ;text="Terminated"')]
    [600, 16]
    >>> from labkit import data
    >>> from labkit.sip import sip_messages
    >>> from labkit.capture import read_capture
    >>> parse_reason(sip_messages(read_capture(data.path("codec_mismatch_488"))).reason.iloc[1])
    []
    """
    out = []
    for part in re.split(r",(?=\s*[A-Za-z0-9.]+\s*;)", value or ""):
        if not part.strip():
            continue
        proto = part.split(";")[0].strip()
        cause = _Q850.search(part)
        text = re.search(r'text\s*=\s*"([^"]*)"', part)
        out.append({"protocol": proto, "cause": int(cause.group(1)) if cause else None,
                    "text": text.group(1) if text else None})
    return out


_CALL_COLUMNS = ["call_id", "first_frame", "last_frame", "from_uri", "to_uri", "caller",
                 "callee", "final_status", "final_phrase", "final_frame", "answered",
                 "ended_by", "reason", "q850_cause", "q850_text", "attempts", "n_messages"]


def sip_calls(packets_or_messages) -> pd.DataFrame:
    """One row per INVITE dialog (Call-ID): who called whom and how it ended.

    ``final_status`` is the final (>=200) response to the last initial INVITE (an INVITE
    repeated with credentials after 401/407 has a new CSeq; ``attempts`` counts them);
    ``reason`` is the Reason header of that response or, failing that, of the CANCEL/BYE; ``q850_cause`` is
    its Q.850 cause value (ITU-T Q.850 table 1, e.g. 88 = incompatible destination).

    Parameters
    ----------
    packets_or_messages : str, Path, Packets or DataFrame
        A capture's path, its packets, or :func:`sip_messages` of it.

    Returns
    -------
    pandas.DataFrame
        One row per Call-ID with an INVITE: call_id, first_frame, last_frame, from_uri,
        to_uri, caller, callee (addresses of the first INVITE), final_status,
        final_phrase, final_frame, answered (2xx), ended_by ("BYE", "CANCEL" or None),
        reason, q850_cause, q850_text, attempts (initial INVITE CSeqs), n_messages.

    References
    ----------
    RFC 3261 sections 13.2.2.4 (2xx), 15 (BYE, CANCEL), 22.2 (a new request with
    credentials after 401/407 has a higher CSeq); RFC 3326; ITU-T Q.850 table 1.

    Examples
    --------
    The real 488 (data/lab MANIFEST: "final response 488 to the INVITE", no Reason):

    >>> from labkit import data
    >>> call = sip_calls(data.path("codec_mismatch_488")).iloc[0]
    >>> print(call.caller, call.callee, call.final_status, call.final_phrase, call.answered)
    10.0.0.1 10.0.0.2 488 Not Acceptable Here False
    >>> print(call.ended_by, call.q850_cause, call.attempts, call.n_messages)
    None None 1 3
    """
    import pandas as pd
    msgs = as_messages(packets_or_messages)
    rows = []
    for call_id, group in msgs.groupby("call_id", sort=False):
        invites = group[group["method"] == "INVITE"]
        if invites.empty:
            continue
        # initial INVITEs carry no To tag; a retry after 401/407 has a new CSeq
        initial = invites[invites["to_tag"].isna()]
        initial = initial if not initial.empty else invites
        rows.append(_call_row(call_id, group, invites.iloc[0], initial.iloc[-1]["cseq"],
                              int(initial["cseq"].nunique())))
    return pd.DataFrame(rows, columns=_CALL_COLUMNS)


def _call_row(call_id, group, invite, cseq, attempts) -> dict:
    final = group[(group["cseq"] == cseq) & (group["cseq_method"] == "INVITE")
                  & (group["status"].fillna(0) >= 200)]
    final = final.iloc[0] if not final.empty else None
    enders = group[group["method"].isin(["BYE", "CANCEL"])]
    ended_by = enders.iloc[0]["method"] if not enders.empty else None
    reason = final["reason"] if final is not None and _present(final["reason"]) else None
    if reason is None and not enders.empty and _present(enders.iloc[0]["reason"]):
        reason = enders.iloc[0]["reason"]
    q850 = next((r for r in parse_reason(reason) if r["protocol"].upper() == "Q.850"), {})
    return {"call_id": call_id, "first_frame": int(group["frame"].min()),
            "last_frame": int(group["frame"].max()), "from_uri": invite["from_uri"],
            "to_uri": invite["to_uri"], "caller": invite["src"], "callee": invite["dst"],
            "final_status": None if final is None else int(final["status"]),
            "final_phrase": None if final is None else final["reason_phrase"],
            "final_frame": None if final is None else int(final["frame"]),
            "answered": final is not None and 200 <= int(final["status"]) < 300,
            "ended_by": ended_by, "reason": reason, "q850_cause": q850.get("cause"),
            "q850_text": q850.get("text"), "attempts": attempts, "n_messages": len(group)}
