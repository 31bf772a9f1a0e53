"""Which UDP datagrams Wireshark 4.0 dissects as RTP: header checks, SDP conversations.

Used by :func:`labkit.rtp.find_rtp`. Reimplemented from reading Wireshark 4.0.17:
packet-rtp.c (``dissect_rtp_heur``, ``dissect_rtp``, ``srtp_add_address``,
``get_conv_info``), packet-udp.c (``decode_udp_ports``: conversation, then low port,
high port, then heuristics), packet-sdp.c (``apply_sdp_transport``) and
epan/conversation.c (``find_conversation``: an address/port announced by SDP matches
datagrams to it first, then from it).
"""
from __future__ import annotations

import warnings

import numpy as np

from labkit import _jit
from labkit.errors import LabkitError, LabkitWarning
from labkit.rtp import _kernel

__all__ = ["PORTS_CLAIMED_BEFORE_HEURISTIC"]

# UDP ports whose registered tshark 4.0.17 dissector takes an RTP datagram before the
# RTP heuristic is tried (packet-udp.c decode_udp_ports: conversation, low port, high
# port, then heuristics). Measured by labkit.capture.wireshark.ports_claiming_rtp(); a test
# re-measures it against the installed tshark.
PORTS_CLAIMED_BEFORE_HEURISTIC: frozenset[int] = frozenset((
    7, 13, 19, 37, 49, 53, 67, 68, 69, 111, 123, 137, 138, 173, 213, 269, 319, 320,
    389, 427, 434, 464, 496, 513, 514, 520, 521, 524, 525, 546, 547, 664, 701, 853,
    854, 910, 921, 925, 1001, 1101, 1153, 1194, 1293, 1628, 1629, 1718, 1719, 1745,
    1755, 1900, 2099, 2157, 2221, 2222, 2246, 2268, 2269, 2313, 2345, 2887, 2944,
    2945, 2948, 2949, 3000, 3130, 3250, 3343, 3357, 3389, 3452, 3455, 3544, 3567,
    3671, 3784, 3785, 3804, 3863, 4305, 4306, 4307, 4341, 4342, 4500, 4551, 4555,
    4569, 4729, 4754, 4784, 4789, 4790, 4791, 4991, 5031, 5072, 5246, 5247, 5353,
    5355, 5404, 5405, 5436, 5567, 5683, 5684, 5868, 6073, 6081, 6118, 6160, 6635,
    6784, 6970, 7074, 7075, 7255, 7275, 7784, 8200, 8600, 8755, 8767, 8805, 8848,
    9200, 9201, 9202, 9203, 9214, 9875, 9877, 9899, 9901, 9956, 10253, 11211, 11273,
    12000, 12001, 12002, 12003, 12004, 12220, 12222, 12223, 13400, 17220, 17500,
    17755, 17756, 19132, 19948, 19999, 23272, 24576, 24577, 25826, 26000, 27500,
    27910, 27950, 27951, 27952, 27953, 27960, 27961, 27962, 27963, 32000, 32512,
    34962, 34980, 37008, 41170, 44818, 47000, 54328))

_CLAIMED_LUT = np.zeros(65536, bool)
_CLAIMED_LUT[list(PORTS_CLAIMED_BEFORE_HEURISTIC)] = True
_SDP_RTP_PROTOS = {"RTP/AVP", "RTP/AVPF", "RTP/SAVP", "RTP/SAVPF", "UDP/TLS/RTP/SAVP",
                   "UDP/TLS/RTP/SAVPF"}


# ----------------------------------------------------------------- header parsing
def _take(arr, rows, n_all):
    """arr[rows], without a copy when rows is every row in order."""
    arr = np.asarray(arr)
    if len(rows) == n_all and (n_all == 0 or (rows[0] == 0 and rows[-1] == n_all - 1)):
        return arr
    return arr[rows]

_BLOCK = 32 << 20  # [bytes] file block read at a time by _head_from_file


def _head_from_file(packets, width: int):
    """First `width` payload bytes of every row, read with plain file reads.

    Same result as ``packets.head(width)`` (whose rows live in the capture file, as
    ``payload_offset`` documents), but the bytes come through read() in blocks instead
    of touching every page of the memory-mapped file, so the mapped file does not stay
    resident: the peak memory of a large capture drops by about the file size. Rows of
    reassembled datagrams (offset beyond the file) and any doubt fall back to head().
    """
    store = getattr(packets, "_store", None)
    if (getattr(store, "head", None) is not None and store.head_for is packets.payload_offset
            and width <= store.head.shape[1]):
        return store.head[:, :width]      # kept while reading: no file access
    path = getattr(packets, "path", None)
    off = np.asarray(packets.payload_offset)
    n = np.asarray(packets.payload_len)
    try:
        size = path.stat().st_size if path is not None else -1
    except OSError:
        size = -1
    store = getattr(getattr(packets, "_store", None), "file", None)
    if size <= 0 or store is None or len(store) != size or len(off) == 0:
        return packets.head(width)
    out = np.zeros((len(off), width), np.uint8)
    infile = off < size
    order = np.argsort(off, kind="stable") if np.any(off[1:] < off[:-1]) else None
    so = off if order is None else off[order]
    buf = bytearray(min(_BLOCK, size) + 4096)  # a small file: no 32 MB zero-fill
    arr = np.frombuffer(buf, np.uint8)
    # every byte offset as the start of one `width`-byte item: row gathers copy items
    windows = np.ndarray((len(arr) - width + 1,), dtype=f"V{width}", buffer=buf, strides=(1,))
    out_items = out.view(f"V{width}")[:, 0]
    with open(path, "rb", buffering=0) as fh:
        for start in range(0, size, _BLOCK):
            a, b = np.searchsorted(so, [start, min(start + _BLOCK, size)])
            if a == b:
                continue
            fh.seek(start)
            got = fh.readinto(buf)
            arr[got:] = 0
            rows = slice(a, b) if order is None else order[a:b]
            out_items[rows] = windows[np.minimum(off[rows] - start, len(windows) - 1)]
    short = np.flatnonzero(n < width)  # zero-pad past the payload, as head()
    if len(short):
        out[short[:, None], np.arange(width)] *= (np.arange(width) < n[short, None])
    if not infile.all():
        extra = np.flatnonzero(~infile)
        out[extra] = packets.select(extra).head(width)
    return out


def _header(packets, rows):
    """RTP header fields of candidate rows from the first 16 payload bytes."""
    h = _take(_head_from_file(packets, 16), rows, len(packets))
    b0, b1 = h[:, 0].astype(np.int32), h[:, 1].astype(np.int32)
    be16 = lambda i: (h[:, i].astype(np.int32) << 8) | h[:, i + 1]  # noqa: E731
    be32 = lambda i: np.ascontiguousarray(h[:, i:i + 4]).view(">u4")[:, 0].astype(np.uint32)  # noqa: E731
    return dict(b0=b0, b1=b1, seq=be16(2), ts=be32(4), ssrc=be32(8), ext16=be16(14))


def _lengths(packets, rows, hd):
    """Header length [bytes] and padding count; -1 header length = does not fit."""
    plen = _take(packets.payload_len, rows, len(packets)).astype(np.int64)
    cc = hd["b0"] & 0x0F
    hdr = 12 + 4 * cc
    ext = (hd["b0"] & 0x10) != 0
    hdr = np.where(ext & (cc == 0), hdr + 4 + 4 * hd["ext16"], hdr)
    slow = np.flatnonzero((ext & (cc > 0)) | ((hd["b0"] & 0x20) != 0))
    return plen, hdr, _whole_payload_fields(packets, rows, hd, hdr, slow)


def _whole_payload_fields(packets, rows, hd, hdr, slow) -> np.ndarray:
    """Padding count of every row (0 unless the P bit is set: the payload's last
    octet, RFC 3550 5.1); for the `slow` rows the extension after a CSRC list is
    added to `hdr` in place (1 << 30 when it is not captured)."""
    pad = np.zeros(len(rows), np.int64)
    for i in slow.tolist():
        data = packets.payload(int(rows[i]))
        h = int(hdr[i])
        b0 = int(hd["b0"][i])
        if b0 & 0x10 and b0 & 0x0F:
            h = h + 4 + 4 * int.from_bytes(data[h + 2:h + 4], "big") if len(data) >= h + 4 else 1 << 30
            hdr[i] = h
        if b0 & 0x20 and data:
            pad[i] = data[-1]
    return pad


def _header_and_lengths(packets, rows):
    """:func:`_header` and :func:`_lengths` of the candidate `rows`: (fields, payload
    length, header length, padding). Large inputs in one compiled pass
    (:func:`labkit.rtp._kernel.header_fields`), the same values."""
    if not _jit.use_compiled(len(rows)):
        hd = _header(packets, rows)
        return (hd, *_lengths(packets, rows, hd))
    head = np.ascontiguousarray(_head_from_file(packets, 16))
    b0, b1, seq, ts, ssrc, ext16, plen, hdr, slow = _jit.compiled(_kernel.header_fields)(
        head, np.ascontiguousarray(rows, dtype=np.int64), np.asarray(packets.payload_len))
    hd = dict(b0=b0, b1=b1, seq=seq, ts=ts, ssrc=ssrc, ext16=ext16)
    return hd, plen, hdr, _whole_payload_fields(packets, rows, hd, hdr, np.flatnonzero(slow))


# ------------------------------------------------------------ SDP conversations
def _signalling_rows(packets, first_byte):
    """Rows that can carry SIP/MGCP text: TCP, or UDP starting with a letter/digit."""
    b = first_byte
    text = ((b >= 0x41) & (b <= 0x5A)) | ((b >= 0x30) & (b <= 0x39))
    return np.flatnonzero((np.asarray(packets.proto) == 6) | text)


def _sdp_table(packets, sdp, first_byte=None):
    if sdp is None:
        rows = None if first_byte is None else _signalling_rows(packets, first_byte)
        if rows is not None and len(rows) == 0:
            return []  # no SIP/MGCP text at all: no need to load the SIP layer
        try:
            from labkit import sip
            sub = packets
            if rows is not None and hasattr(packets, "select"):
                sub = packets.select(rows)
            sdp = sip.sdp_media_rows(sub)  # sdp_media's rows, without pandas
        except ImportError:  # pragma: no cover - sip module missing
            sdp = None
        except LabkitError as exc:
            warnings.warn(f"SDP not read, RTP found by heuristic only: {exc}", LabkitWarning)
            sdp = None
        sdp = (sdp or []) + _mgcp_sdp(packets, first_byte)
    if sdp is None or len(sdp) == 0:
        return []
    if not hasattr(sdp, "columns"):  # a list of sdp_media rows as dicts
        return _sdp_entries(sdp)
    ok = sdp["port"].fillna(0).astype(int) > 0
    ok &= sdp["proto"].astype(str).isin(_SDP_RTP_PROTOS)
    rows = sdp[ok].sort_values("frame", kind="stable")
    out = []
    for r in rows.itertuples(index=False):
        addr = getattr(r, "address", None)
        if not isinstance(addr, str) or not addr:
            continue
        rtpmap = getattr(r, "rtpmap", None) or {}
        out.append((int(r.frame), addr, int(r.port), dict(rtpmap)))
    return out


def _sdp_entries(records) -> list:
    """:func:`_sdp_table` of sdp_media rows given as dicts (same filter and order)."""
    out = []
    for r in sorted(records, key=lambda r: int(r["frame"])):  # stable, as sort_values
        port, addr = r.get("port"), r.get("address")
        if port is None or port != port or int(port) <= 0:  # None/NaN count as port 0
            continue
        if str(r.get("proto")) not in _SDP_RTP_PROTOS:
            continue
        if not isinstance(addr, str) or not addr:
            continue
        out.append((int(r["frame"]), addr, int(port), dict(r.get("rtpmap") or {})))
    return out


_MGCP_PORTS = (2427, 2727)


def _mgcp_sdp(packets, first_byte=None):
    """SDP carried in MGCP (RFC 3435 section 3.5), which Wireshark also applies.

    A list of dicts with the sdp_media keys frame, address, port, proto, rtpmap.
    """
    from labkit.sip.sdp import parse_sdp
    sp, dp = np.asarray(packets.sport), np.asarray(packets.dport)
    ok = (np.asarray(packets.proto) == 17) & (np.isin(sp, _MGCP_PORTS) | np.isin(dp, _MGCP_PORTS))
    if first_byte is not None:
        ok &= (first_byte >= 0x30) & (first_byte <= 0x5A)
    rows = np.flatnonzero(ok)
    out = []
    for i in rows.tolist():
        text = packets.payload(i).decode("utf-8", "replace")
        cut = text.find("\nv=0")
        if cut < 0:
            continue
        try:
            sd = parse_sdp(text[cut + 1:])
        except LabkitError:
            continue
        for m in sd.media:
            out.append({"frame": int(packets.frame[i]), "address": m.connection,
                        "port": m.port, "proto": m.proto,
                        "rtpmap": {pt: (c.name, c.rate) for pt, c in m.rtpmap.items()}})
    return out


def _endpoint_lookup(packets, idx, sdp_rows):
    """For each candidate: index of the SDP entry owning dst (else src) endpoint, or -1.

    Wireshark keeps one conversation per announced address/port; the newest one set
    up before the packet wins; RTCP conversations (port + 1) can shadow it.
    """
    n = len(idx)
    owner = np.full(n, -1, np.int64)
    if not sdp_rows:
        return owner, np.zeros(n, bool)
    addrs = {a: i for i, a in enumerate(packets.addresses)}
    frame = np.asarray(packets.frame)[idx]
    is_rtcp = np.zeros(n, bool)
    ep_events = {}
    for k, (f, addr, port, _m) in enumerate(sdp_rows):
        aid = addrs.get(addr)
        if aid is None:
            continue
        ep_events.setdefault((aid, port), []).append((f, k, False))
        ep_events.setdefault((aid, port + 1), []).append((f, k, True))
    src = np.asarray(packets.src_id)[idx].astype(np.int64)
    dst = np.asarray(packets.dst_id)[idx].astype(np.int64)
    sp = np.asarray(packets.sport)[idx].astype(np.int64)
    dp = np.asarray(packets.dport)[idx].astype(np.int64)
    for side_a, side_p in ((src, sp), (dst, dp)):  # dst last: it has priority
        key = side_a * 65536 + side_p
        for (aid, port), ev in ep_events.items():
            sel = np.flatnonzero(key == aid * 65536 + port)
            if not len(sel):
                continue
            ev = sorted(ev)
            fr = np.array([e[0] for e in ev])
            j = np.searchsorted(fr, frame[sel], side="left") - 1
            hit = j >= 0
            sel, j = sel[hit], j[hit]
            owner[sel] = np.array([e[1] for e in ev], np.int64)[j]
            is_rtcp[sel] = np.array([e[2] for e in ev], bool)[j]
    return owner, is_rtcp


def _flow_heur_before(packets, sel, by_sdp):
    """Packets set up by SDP whose flow was earlier dissected as heuristic RTP.

    Wireshark then keeps the heuristic conversation's (empty) payload-type map.
    """
    out = np.zeros(len(sel), bool)
    if by_sdp.all() or not by_sdp.any():
        return out
    key = (np.asarray(packets.dst_id)[sel].astype(np.int64) << 32) | (
        np.asarray(packets.dport)[sel].astype(np.int64) << 16) | np.asarray(packets.sport)[sel]
    hpos = np.flatnonzero(~by_sdp)
    hk, first = np.unique(key[hpos], return_index=True)  # first heuristic packet per flow
    spos = np.flatnonzero(by_sdp)
    j = np.searchsorted(hk, key[spos])
    j = np.minimum(j, len(hk) - 1)
    out[spos] = (hk[j] == key[spos]) & (hpos[first[j]] < spos)
    return out
