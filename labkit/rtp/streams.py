"""RTP streams as Wireshark 4.0 sees them (RFC 3550), computed with numpy.

:func:`find_rtp` finds every RTP packet of a capture the way tshark 4.0.17 does with
``-o rtp.heuristic_rtp:TRUE``: UDP datagrams to or from an address/port announced in an
SDP earlier in the capture (epan/dissectors/packet-sdp.c ``apply_sdp_transport`` ->
packet-rtp.c ``srtp_add_address``), then, when `heuristic` is on, every other UDP
datagram passing ``dissect_rtp_heur`` (version 2, payload type not 72-76, header with
CSRC list and extension inside the datagram, sane padding) that no port-registered
Wireshark dissector claimed first. A marker bit with payload type 64-95 is RTCP
(RFC 5761 section 4): those go to :func:`find_rtcp`.

:func:`rtp_streams` returns the table ``tshark -q -z rtp,streams`` prints, with the
same numbers (see :mod:`labkit.rtp.stats` for the arithmetic), and :func:`stream_timing`
the per-packet figures of ``sharkd``'s ``rtp-analyse``.

Deliberate differences and limits (documented, tested):

- `clock_rates` lets the user name a dynamic payload type that has no SDP in the
  capture (``{96: "AMR-WB"}`` or ``{96: 16000}``); tshark then has clock rate 0 and
  prints no jitter. Without an override the numbers are tshark's.
- Port-registered dissectors: :data:`PORTS_CLAIMED_BEFORE_HEURISTIC` lists the UDP ports
  whose tshark 4.0.17 dissector took every probe RTP datagram (G.711, G.729, CN,
  dynamic PT; either direction), measured by
  :func:`labkit.capture.wireshark.ports_claiming_rtp`. Ports whose dissector looks at the
  content (e.g. 1701 L2TP, 1812 RADIUS, 2152 GTP-U with some payload sizes) are not
  in it, so a stream on such a port may be RTP here and not in tshark.
- Other UDP heuristic dissectors that Wireshark tries before RTP (e.g. ``srt``,
  ``udt``, ``thrift``) are not modelled.
- SDP: offers/answers from SIP (:func:`labkit.sip.sdp_media`) and MGCP set up RTP at
  the SDP's frame, newest setup wins per address/port, RTCP (port + 1) conversations
  can shadow RTP, and a flow already seen by the heuristic keeps an empty payload-type
  map (Wireshark reuses that conversation). Not modelled: bundled m-lines sharing a
  port (their payload-type maps are merged by Wireshark), a=rtcp ports, SDP in other
  protocols (RTSP, H.248, SAP), and conversations of SIP over TCP reassembled across
  frames when labkit.sip does not reassemble them.

Wireshark 4.0 itself computes: RTP streams keyed by (src, sport, dst, dport, SSRC);
a stream's packets in capture order; dynamic payload names and clock rates from the
conversation's SDP, else "RTPType-N" and no jitter; telephone-event rate 0.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from labkit import _jit
from labkit.errors import LabkitError
from labkit.rtp import _kernel
from labkit.rtp import stats as _st
from labkit.rtp.detect import (PORTS_CLAIMED_BEFORE_HEURISTIC, _CLAIMED_LUT, _endpoint_lookup,
                               _flow_heur_before, _header, _header_and_lengths,
                               _sdp_table, _take)

__all__ = ["RtpPackets", "find_rtp", "find_rtcp", "rtp_streams", "stream_table", "stream_timing", "timing_of",
           "stream_payloads", "streams_frame", "payload_type_name", "clock_rate_of", "STATIC_CLOCK_RATES",
           "DYNAMIC_CLOCK_RATES", "PORTS_CLAIMED_BEFORE_HEURISTIC"]

# Wireshark 4.0 ui/tap-rtp-analysis.c clock_map: static payload type -> clock [Hz]
STATIC_CLOCK_RATES = {0: 8000, 1: 8000, 2: 8000, 3: 8000, 4: 8000, 5: 8000, 6: 16000,
                      7: 8000, 8: 8000, 9: 8000, 10: 44100, 11: 44100, 12: 8000,
                      13: 8000, 14: 90000, 15: 8000, 16: 11025, 17: 22050, 18: 8000,
                      19: 8000, 25: 90000, 26: 90000, 28: 90000, 31: 90000, 32: 90000,
                      33: 90000, 34: 90000}
# ... mimetype_and_clock_map: encoding name prefix -> clock [Hz] (IANA media types)
DYNAMIC_CLOCK_RATES = {
    "AMR": 8000, "AMR-WB": 16000, "BMPEG": 90000, "BT656": 90000, "DV": 90000,
    "EVRC": 8000, "EVRC0": 8000, "EVRC1": 8000, "EVRCB": 8000, "EVRCB0": 8000,
    "EVRCB1": 8000, "EVRCWB": 16000, "EVRCWB0": 16000, "EVRCWB1": 16000, "EVS": 16000,
    "G7221": 16000, "G726-16": 8000, "G726-24": 8000, "G726-32": 8000, "G726-40": 8000,
    "G729D": 8000, "G729E": 8000, "GSM-EFR": 8000, "H263-1998": 90000,
    "H263-2000": 90000, "H264": 90000, "MP1S": 90000, "MP2P": 90000, "MP4V-ES": 90000,
    "mpa-robust": 90000, "opus": 48000, "pointer": 90000, "raw": 90000, "red": 1000,
    "SMV": 8000, "SMV0": 8000, "t140": 1000, "telephone-event": 8000}
# packet-rtp.c rtp_payload_type_short_vals (names in the streams table)
_SHORT = {0: "g711U", 1: "fs-1016", 2: "g721", 3: "GSM", 4: "g723", 5: "DVI4 8k",
          6: "DVI4 16k", 7: "Exp. from Xerox PARC", 8: "g711A", 9: "g722",
          10: "16-bit audio, stereo", 11: "16-bit audio, monaural", 12: "Qualcomm",
          13: "CN", 14: "MPEG-I/II Audio", 15: "g728", 16: "DVI4 11k", 17: "DVI4 22k",
          18: "g729", 19: "CN(old)", 25: "CellB", 26: "JPEG", 28: "NV", 31: "h261",
          32: "MPEG-I/II Video", 33: "MPEG-II streams", 34: "h263"}

def payload_type_name(pt: int) -> str:
    """Wireshark's short name of a payload type without SDP ("g711A", "RTPType-96").

    Parameters
    ----------
    pt : int
        RTP payload type (0..127).

    Returns
    -------
    str

    References
    ----------
    Wireshark 4.0.17 epan/rtp_pt.h (``rtp_payload_type_short_vals``); RFC 3551 section 6.

    Examples
    --------
    >>> payload_type_name(8), payload_type_name(0), payload_type_name(96)
    ('g711A', 'g711U', 'RTPType-96')
    """
    if pt >= 96:
        return f"RTPType-{pt}"
    if 72 <= pt <= 76:
        return "Reserved for RTCP conflict avoidance"
    return _SHORT.get(pt, "Unassigned")


def clock_rate_of(pt: int, name: str | None = None, rate: int = 0) -> int:
    """Clock rate [Hz] Wireshark 4.0 uses for jitter (0 = none computed).

    Static payload types use the fixed table; dynamic ones need an encoding `name`
    (from SDP rtpmap, which also gives `rate`, or a decode-as binding);
    telephone-event counts as 0 (RFC 4733 section 2.2.1: timestamps do not advance).

    Parameters
    ----------
    pt : int
        RTP payload type.
    name : str, optional
        Encoding name for a dynamic payload type (``"AMR-WB"``, ``"opus"``...).
    rate : int
        Clock rate the SDP gave [Hz], 0 when unknown.

    Returns
    -------
    int
        Clock rate [Hz]; 0 when Wireshark computes no jitter for it.

    References
    ----------
    Wireshark 4.0.17 ui/tap-rtp-analysis.c (``clock_map``, ``mimetype_and_clock_map``);
    RFC 3551 section 6; RFC 4733 section 2.2.1.

    Examples
    --------
    >>> clock_rate_of(8), clock_rate_of(9), clock_rate_of(96), clock_rate_of(96, "AMR-WB")
    (8000, 8000, 0, 16000)
    """
    if pt < 96:
        return STATIC_CLOCK_RATES.get(pt, 0)
    if name is None:
        return 0
    if name.lower().startswith("telephone-event"):
        return 0
    if rate:
        return int(rate)
    for mime in reversed(list(DYNAMIC_CLOCK_RATES)):
        if name.lower().startswith(mime.lower()):
            return DYNAMIC_CLOCK_RATES[mime]
    return 0


@dataclass(frozen=True)
class RtpPackets:
    """Every RTP packet of a capture, header fields as arrays (file order).

    ``row`` indexes the :class:`labkit.capture.Packets` they came from; ``stream`` is
    the stream id (0 = first stream seen); per-stream keys are in ``keys`` (a DataFrame
    with src, sport, dst, dport, ssrc). ``names`` gives the payload name of every
    packet as Wireshark shows it; ``clock`` the clock rate [Hz] used for jitter.
    """

    packets: object
    row: np.ndarray
    frame: np.ndarray
    time_ns: np.ndarray
    t_ms: np.ndarray
    ssrc: np.ndarray
    seq: np.ndarray
    timestamp: np.ndarray
    pt: np.ndarray
    marker: np.ndarray
    payload_offset: np.ndarray
    payload_len: np.ndarray
    stream: np.ndarray
    clock: np.ndarray
    name_code: np.ndarray
    names: tuple
    key_arrays: dict
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def n_streams(self) -> int:
        return len(self.key_arrays["ssrc"])

    @property
    def keys(self):
        """Stream keys as a DataFrame: src, sport, dst, dport, ssrc (row = stream id)."""
        import pandas as pd
        return pd.DataFrame(self.key_arrays, columns=["src", "sport", "dst", "dport", "ssrc"])

    @property
    def telephone_event(self) -> np.ndarray:
        """Packets whose dynamic payload type is named telephone-event (RFC 4733)."""
        te = np.array([n.lower().startswith("telephone-event") for n in self.names], bool)
        return (self.pt >= 96) & (te[self.name_code] if len(te) else False)

    def stats(self) -> _st.StreamStats:
        """Wireshark 4.0 per-stream analysis of every stream (computed once, cached).

        Per-packet fields (delta, jitter, skew, flags) are None here; see
        :meth:`stream_stats` / :func:`stream_timing`.
        """
        if "stats" not in self._cache:
            self._cache["stats"] = _st.analyze_streams(
                self.stream, self.t_ms, self.seq, self.timestamp, self.pt, self.marker,
                self.clock, self.n_streams, per_packet=False)
        return self._cache["stats"]

    def stream_stats(self, stream: int) -> tuple[np.ndarray, _st.StreamStats]:
        """Packet indices of one stream and its analysis with per-packet fields."""
        key = ("stream", int(stream))
        if key not in self._cache:
            idx = np.flatnonzero(self.stream == stream)
            self._cache[key] = (idx, _st.analyze_streams(
                np.zeros(len(idx), np.int64), self.t_ms[idx], self.seq[idx],
                self.timestamp[idx], self.pt[idx], self.marker[idx], self.clock[idx], 1,
                tevent=self.telephone_event[idx]))
        return self._cache[key]


# -------------------------------------------------------------------- find_rtp
def find_rtp(packets, *, sdp=None, heuristic=True, clock_rates=None,
             decode_as=None) -> RtpPackets:
    """Every RTP packet, as Wireshark 4.0 finds it, with parsed headers.

    Parameters
    ----------
    packets : labkit.capture.Packets
        From :func:`labkit.capture.read_capture`.
    sdp : DataFrame or list of dict, optional
        :func:`labkit.sip.sdp_media` of the same capture (computed when omitted), or
        its rows as dicts (frame, address, port, proto, rtpmap are used).
    heuristic : bool
        Also find RTP without SDP, as tshark's ``rtp_udp`` heuristic (RFC 3550 5.1).
    clock_rates : dict, optional
        Override per payload type: ``{96: "AMR-WB"}`` (name; clock from Wireshark's
        table) or ``{96: 16000}`` [Hz]. Not something tshark can do.
    decode_as : dict, optional
        ``{pt: name}`` as tshark's ``-d rtp.pt==96,amr`` binding (name only, as
        Wireshark: the clock then comes from the name's prefix).

    Returns
    -------
    RtpPackets

    References
    ----------
    RFC 3550 section 5.1 (header); Wireshark 4.0.17 epan/dissectors/packet-rtp.c
    (``dissect_rtp_heur``) and packet-sdp.c (conversations set up by SDP).

    Examples
    --------
    >>> from labkit import data
    >>> from labkit.capture import read_capture
    >>> find_rtp(read_capture(data.path("relay_rtpengine"))).n_streams   # tshark: 4 streams
    4
    """
    sel, hd, hdr, pad, plen, owner, by_sdp, sdp_rows = _detect(
        packets, heuristic, lambda first_byte: _sdp_table(packets, sdp, first_byte))
    return _build(packets, sel, hd, hdr, pad, plen, owner, by_sdp, sdp_rows, clock_rates,
                  decode_as)


def _detect(packets, heuristic, sdp_rows_of):
    """The RTP rows of `packets` and their header fields, as :func:`find_rtp` finds them.

    `sdp_rows_of(first_byte)` gives the SDP conversations (:func:`_sdp_table` entries)
    that apply; :mod:`labkit.rtp.scan` passes the ones of every chunk read so far.
    Returns (rows, header fields, header length, padding, payload length, SDP owner,
    set up by SDP, SDP entries), all but the last for the selected rows.
    """
    proto = np.asarray(packets.proto)
    cand = np.flatnonzero(proto == 17)
    hd, plen, hdr, pad = _header_and_lengths(packets, cand)
    padbit = (hd["b0"] & 0x20) != 0
    # dissect_rtp: header, CSRC list and extension must be captured; a padded packet
    # cut short by the snap length is shown as data and never reaches the RTP tap
    v2 = ((hd["b0"] >> 6) == 2) & (plen >= 12) & (hdr <= plen) & ~(padbit & _cut(packets, cand))
    pt = hd["b1"] & 0x7F
    mk = (hd["b1"] & 0x80) != 0
    rtcp = mk & (pt >= 64) & (pt <= 95)
    first_byte = np.zeros(len(packets), np.uint8)
    first_byte[cand] = hd["b0"]
    sdp_rows = sdp_rows_of(first_byte)
    owner, shadow = _endpoint_lookup(packets, cand, sdp_rows)
    by_sdp = (owner >= 0) & ~shadow & v2 & ~rtcp
    heur = np.zeros(len(cand), bool)
    if heuristic:
        pad_ok = ~padbit | ((pad != 0) & (pad <= plen - hdr))
        sp = _take(packets.sport, cand, len(packets))
        dp = _take(packets.dport, cand, len(packets))
        blocked = _CLAIMED_LUT[sp] | _CLAIMED_LUT[dp]
        heur = ((owner < 0) | shadow) & v2 & ~rtcp & ~((pt >= 72) & (pt <= 76)) & pad_ok & ~blocked
    take = by_sdp | heur
    if take.all():
        return cand, hd, hdr, pad, plen, owner, by_sdp, sdp_rows
    return (cand[take], {k: v[take] for k, v in hd.items()}, hdr[take], pad[take],
            plen[take], owner[take], by_sdp[take], sdp_rows)


def _cut(packets, rows) -> np.ndarray:
    """Rows whose frame was truncated by the capture's snap length."""
    cap, wire = getattr(packets, "caplen", None), getattr(packets, "wirelen", None)
    if cap is None or wire is None:
        return np.zeros(len(rows), bool)
    n = len(packets)
    return _take(cap, rows, n) < _take(wire, rows, n)


def _names_and_clock(pt, owner, by_sdp, flow_heur_before, sdp_rows, clock_rates,
                     decode_as):
    """Payload name code and clock rate per packet (Wireshark's dissect_rtp rules)."""
    names: list[str] = []
    code_of: dict[str, int] = {}
    own = np.where(by_sdp & ~flow_heur_before, owner, -1) + 1
    width = int(own.max(initial=0)) + 1
    combo = pt.astype(np.int64) * width + own
    present = np.flatnonzero(np.bincount(combo, minlength=1))
    lut_code = np.zeros(len(present) and present[-1] + 1, np.int64)
    lut_clock = np.zeros_like(lut_code)
    for c in present.tolist():
        p, o = c // width, c % width - 1
        name, rate = None, 0
        if p >= 96:
            if o >= 0:
                name, rate = (sdp_rows[o][3].get(p) or (None, 0))
            elif decode_as and p in decode_as:
                name = str(decode_as[p])
        clock = clock_rate_of(p, name, rate or 0)
        if clock_rates and p in clock_rates:
            ov = clock_rates[p]
            if isinstance(ov, str):
                name, clock = ov, clock_rate_of(96, ov)
            else:
                clock = int(ov)
        label = name if name is not None else payload_type_name(p)
        lut_code[c] = code_of.setdefault(label, len(code_of))
        lut_clock[c] = clock
    return (lut_code.astype(np.int32)[combo], lut_clock.astype(np.int32)[combo],
            tuple(code_of))


def _build(packets, sel, hd, hdr, pad, plen, owner, by_sdp, sdp_rows, clock_rates, decode_as):
    n = len(packets)
    src, dst = _take(packets.src_id, sel, n), _take(packets.dst_id, sel, n)
    sp, dp = _take(packets.sport, sel, n), _take(packets.dport, sel, n)
    ssrc = hd["ssrc"]
    stream, keys = _stream_ids(packets, src, sp, dst, dp, ssrc)
    pt = hd["b1"] & 0x7F
    code, clock, names = _names_and_clock(pt, owner, by_sdp,
                                          _flow_heur_before(packets, sel, by_sdp),
                                          sdp_rows, clock_rates, decode_as)
    time_ns = _take(packets.time_ns, sel, n)
    body = np.maximum(plen - hdr - np.where((hd["b0"] & 0x20) != 0, pad, 0), 0)
    return RtpPackets(
        packets=packets, row=sel, frame=_take(packets.frame, sel, n), time_ns=time_ns,
        t_ms=_st.rel_ms(time_ns, packets.first_time_ns), ssrc=ssrc.astype(np.uint32),
        seq=hd["seq"].astype(np.int32), timestamp=hd["ts"].astype(np.uint32),
        pt=pt.astype(np.uint8), marker=(hd["b1"] & 0x80) != 0,
        payload_offset=_take(packets.payload_offset, sel, n) + hdr,
        payload_len=body.astype(np.int32), stream=stream.astype(np.int32), clock=clock,
        name_code=code,
        names=names, key_arrays=keys)


def _first_rank(key: np.ndarray):
    """Ids 0..k-1 of the distinct values of `key` in order of first appearance, and
    the sorted first positions.

    Few distinct values among many (RTP streams among packets): the distinct values
    of a 1-in-64 sample, plus those it missed, are looked up by binary search (a
    quarter of the time of a full sort); else a sort of all values.
    """
    key = np.asarray(key)
    if len(key) >= 1024:
        cand = np.unique(key[::64])
        pos = np.searchsorted(cand, key)
        np.minimum(pos, len(cand) - 1, out=pos)
        miss = cand[pos] != key
        found = not miss.any()
        if not found:
            extra = np.unique(key[miss])
            if len(extra) <= len(key) // 64:  # now every value is in `cand`
                cand = np.union1d(cand, extra)
                pos = np.searchsorted(cand, key)
                found = True
        if found:
            first = np.empty(len(cand), np.int64)
            first[pos[::-1]] = np.arange(len(key) - 1, -1, -1)  # last write wins
            order = np.argsort(first, kind="stable")
            rank = np.empty(len(cand), np.int64)
            rank[order] = np.arange(len(cand))
            return rank[pos], first[order]
    uniq, first, inv = np.unique(key, return_index=True, return_inverse=True)
    rank = np.empty(len(uniq), np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(uniq))
    return rank[inv.reshape(-1)], np.sort(first)


def _key(a, b):
    """(address id << 16 | port) as uint64."""
    k = np.asarray(a).astype(np.uint64)
    k <<= np.uint64(16)
    k |= np.asarray(b).astype(np.uint64)
    return k


def _same_keys(stream, first, cols, block=1 << 18) -> bool:
    """Does every packet carry exactly its stream's first packet's key fields?"""
    for a in range(0, len(stream), block):
        f = first[stream[a:a + block]]
        for c in cols:
            c = np.asarray(c)
            if not np.array_equal(c[a:a + block], c[f]):
                return False
    return True


def _stream_ids(packets, src, sp, dst, dp, ssrc):
    """Stream id per packet by first appearance of (src, sport, dst, dport, SSRC).

    Large inputs: the exact five fields in a compiled hash table
    (:func:`labkit.rtp._kernel.stream_keys`). Small ones: a 64-bit mix of the five
    fields is factorised (a sort); a check of every packet against its stream's first
    packet (in blocks, to bound memory) falls back to factorising the exact tuple if two
    keys ever collided. Both number the streams by first appearance.
    """
    if _jit.use_compiled(len(src)):    # exact keys in a compiled hash table
        stream, first = _jit.compiled(_kernel.stream_keys)(
            *(np.ascontiguousarray(c) for c in (src, sp, dst, dp, ssrc)))
        return stream, _stream_key_columns(packets, src, sp, dst, dp, ssrc, first)
    with np.errstate(over="ignore"):
        mix = _key(src, sp)
        mix *= np.uint64(0x9E3779B97F4A7C15)
        tmp = _key(dst, dp)
        tmp *= np.uint64(0xC2B2AE3D27D4EB4F)
        mix ^= tmp
        tmp[:] = ssrc
        tmp *= np.uint64(0x165667B19E3779F9)
        mix ^= tmp
    del tmp
    stream, first = _first_rank(mix)
    del mix
    if not _same_keys(stream, first, (src, sp, dst, dp, ssrc)):  # pragma: no cover
        k1, k2 = _key(src, sp).astype(np.int64), _key(dst, dp).astype(np.int64)
        flow, _ = _first_rank(_first_rank(k1)[0] * (len(k2) + 1) + _first_rank(k2)[0])
        stream, first = _first_rank((flow << 32) | np.asarray(ssrc).astype(np.int64))
    return stream, _stream_key_columns(packets, src, sp, dst, dp, ssrc, first)


def _stream_key_columns(packets, src, sp, dst, dp, ssrc, first) -> dict:
    """The key fields of each stream (its first packet's), addresses as text."""
    addrs = np.asarray(packets.addresses, dtype=object)
    return {"src": addrs[src[first]].astype(str), "sport": sp[first].astype(int),
            "dst": addrs[dst[first]].astype(str), "dport": dp[first].astype(int),
            "ssrc": ssrc[first].astype(np.int64)}


# -------------------------------------------------------------------- find_rtcp
def find_rtcp(packets):
    """RTCP packets (RFC 3550 section 6) found as Wireshark separates them from RTP.

    A UDP datagram with version 2 and second byte 192..223 (marker + payload type
    64..95, RFC 5761 section 4) is RTCP. Returns frame, src, sport, dst, dport,
    rtcp_pt (first packet type of the compound), ssrc (sender), length [bytes].

    Parameters
    ----------
    packets : labkit.capture.Packets
        From :func:`labkit.capture.read_capture`.

    Returns
    -------
    pandas.DataFrame
        One row per RTCP datagram, in frame order (columns above).

    References
    ----------
    RFC 3550 section 6.4 (SR/RR); RFC 5761 section 4 (RTP/RTCP demultiplexing).

    Examples
    --------
    >>> from labkit import data
    >>> from labkit.capture import read_capture
    >>> len(find_rtcp(read_capture(data.path("relay_rtpengine")))) >= 0
    True
    """
    cand = np.flatnonzero(np.asarray(packets.proto) == 17)
    hd = _header(packets, cand)
    plen = np.asarray(packets.payload_len)[cand]
    ok = ((hd["b0"] >> 6) == 2) & (hd["b1"] >= 192) & (hd["b1"] <= 223) & (plen >= 8)
    rows = cand[ok]
    addrs = np.asarray(packets.addresses, dtype=object)
    import pandas as pd
    return pd.DataFrame({
        "frame": np.asarray(packets.frame)[rows],
        "src": addrs[np.asarray(packets.src_id)[rows]].astype(str),
        "sport": np.asarray(packets.sport)[rows].astype(int),
        "dst": addrs[np.asarray(packets.dst_id)[rows]].astype(str),
        "dport": np.asarray(packets.dport)[rows].astype(int),
        "rtcp_pt": hd["b1"][ok].astype(int),
        "ssrc": hd["ts"][ok].astype(np.int64),
        "length": plen[ok].astype(int)})


# ----------------------------------------------------------------- stream table
_COLUMNS = ["start", "end", "src", "sport", "dst", "dport", "ssrc", "payloads", "packets",
            "lost", "lost_pct", "min_delta", "mean_delta", "max_delta", "min_jitter",
            "mean_jitter", "max_jitter", "problem", "stream", "codec", "clock_rate",
            "first_frame", "last_frame", "seq_errors", "expected", "max_skew"]


def _rel_s(time_ns, origin_ns):
    rel = np.asarray(time_ns, np.int64) - np.int64(origin_ns)
    secs = np.where(rel >= 0, rel // 1_000_000_000, -((-rel) // 1_000_000_000))
    return secs.astype(float) + (rel - secs * 1_000_000_000).astype(float) / 1e9


def _payload_names(rtp: RtpPackets):
    """'g711A, CN' per stream: names by ascending PT, first name seen for each PT."""
    combo = rtp.stream.astype(np.int64) * 128 + rtp.pt
    first = np.full(rtp.n_streams * 128, len(rtp), np.int64)
    np.minimum.at(first, combo, np.arange(len(rtp)))
    per: dict = {}
    for c in np.flatnonzero(first < len(rtp)).tolist():  # ascending stream, then PT
        i = int(first[c])
        per.setdefault(c // 128, []).append(rtp.names[rtp.name_code[i]])
    return [", ".join(per.get(s, [])) for s in range(rtp.n_streams)]


def stream_table(rtp: RtpPackets) -> dict:
    """The columns of :func:`rtp_streams` as numpy arrays/lists, stream id order.

    The same data without pandas (the command line uses it: it starts faster).

    Parameters
    ----------
    rtp : RtpPackets
        From :func:`find_rtp`.

    Returns
    -------
    dict of str to numpy.ndarray or list
        Column name -> values, one per stream, in stream id order (oldest first).

    References
    ----------
    As :func:`rtp_streams`.

    Examples
    --------
    >>> from labkit import data
    >>> from labkit.capture import read_capture
    >>> table = stream_table(find_rtp(read_capture(data.path("relay_rtpengine"))))
    >>> [int(n) for n in table["packets"]]
    [550, 550, 550, 550]
    """
    st = rtp.stats()
    ns, n = rtp.n_streams, len(rtp)
    first_idx = np.full(ns, n, np.int64)
    np.minimum.at(first_idx, rtp.stream, np.arange(n))
    last_idx = np.full(ns, -1, np.int64)
    np.maximum.at(last_idx, rtp.stream, np.arange(n))
    origin = rtp.packets.first_time_ns
    return _table_columns(
        _rel_s(rtp.time_ns[first_idx], origin), _rel_s(rtp.time_ns[last_idx], origin),
        rtp.key_arrays, _payload_names(rtp), {f: getattr(st, f) for f in _STAT_COLUMNS},
        [rtp.names[rtp.name_code[i]] for i in first_idx.tolist()], rtp.frame[first_idx],
        rtp.frame[last_idx])


_STAT_COLUMNS = ("packets", "lost", "lost_pct", "min_delta", "mean_delta", "max_delta",
                 "min_jitter", "mean_jitter", "max_jitter", "problem", "clock_rate",
                 "seq_errors", "expected", "max_skew")


def _table_columns(start, end, keys, payloads, stats, codec, first_frame, last_frame) -> dict:
    """The columns of :func:`stream_table` (``_COLUMNS`` order) from their parts: start
    and end [s], the stream keys (src, sport, dst, dport, ssrc), payload names, the
    per-stream statistics (``_STAT_COLUMNS`` of :class:`labkit.rtp.stats.StreamStats`),
    first codec and first/last frame of each stream. Shared by :func:`stream_table` and
    :mod:`labkit.rtp.scan`."""
    parts = {"start": start, "end": end, **{c: keys[c] for c in ("src", "sport", "dst",
                                                                   "dport", "ssrc")},
             "payloads": payloads, **{c: stats[c] for c in _STAT_COLUMNS},
             "stream": np.arange(len(payloads)), "codec": codec, "first_frame": first_frame,
             "last_frame": last_frame}
    return {c: parts[c] for c in _COLUMNS}


def rtp_streams(capture_or_packets, *, clock_rates=None, heuristic=True, sdp=None,
                decode_as=None):
    """The ``tshark -q -z rtp,streams`` table (Wireshark 4.0.17), one row per stream.

    Parameters
    ----------
    capture_or_packets : path, Packets or RtpPackets
    clock_rates, heuristic, sdp, decode_as
        See :func:`find_rtp`.

    Returns
    -------
    pandas.DataFrame
        Newest stream first, as tshark. start/end [s since first frame], src, sport,
        dst, dport, ssrc, payloads (names joined by ", "), packets, lost, lost_pct [%],
        min/mean/max_delta [ms], min/mean/max_jitter [ms] (min -1 when none), problem
        (tshark's "X"), plus stream (id), codec (first payload name), clock_rate [Hz],
        first_frame, last_frame, seq_errors, expected, max_skew [ms].

    References
    ----------
    Wireshark 4.0.17 ui/tap-rtp-common.c and ui/tap-rtp-analysis.c (see
    ../shared/REFERENCE.md section 1 and docs/references.md); RFC 3550 appendix A.8
    (interarrival jitter).

    Examples
    --------
    >>> from labkit import data
    >>> t = rtp_streams(data.path("relay_rtpengine"))   # tshark -z rtp,streams: 4 x 550
    >>> t[["payloads", "packets", "lost"]].values.tolist()
    [['g711A', 550, 0], ['g711A', 550, 0], ['g711A', 550, 0], ['g711A', 550, 0]]
    """
    rtp = _as_rtp(capture_or_packets, clock_rates=clock_rates, heuristic=heuristic,
                  sdp=sdp, decode_as=decode_as)
    return streams_frame(stream_table(rtp))


def streams_frame(table: dict):
    """The DataFrame of :func:`rtp_streams` from :func:`stream_table`'s columns.

    Parameters
    ----------
    table : dict
        From :func:`stream_table` or :func:`labkit.rtp.scan_streams`.

    Returns
    -------
    pandas.DataFrame
        One row per stream, newest first, as tshark prints them.

    References
    ----------
    Wireshark 4.0.17 ui/cli/tap-rtp.c (the order of the printed table).

    Examples
    --------
    >>> from labkit import data
    >>> from labkit.rtp import scan_streams
    >>> streams_frame(scan_streams(data.path("ringback_amrwb")))["packets"].tolist()
    [551, 551]
    """
    import pandas as pd
    df = pd.DataFrame(table, columns=_COLUMNS)
    return df.iloc[::-1].reset_index(drop=True)


def _as_rtp(obj, **kw) -> RtpPackets:
    if isinstance(obj, RtpPackets):
        return obj
    from labkit.capture import as_packets
    return find_rtp(as_packets(obj), **kw)


# ------------------------------------------------------------ per-packet timing
def _status(flags: int, pt: int) -> str:
    """sharkd's status text for a packet (sharkd_session.c rtp-analyse)."""
    if pt == 13:
        return "Comfort noise (PT=13, RFC 3389)"
    if pt == 19:
        return "Comfort noise (PT=19, reserved)"
    if flags & _st.FLAG_WRONG_SEQ:
        return "Wrong sequence number"
    if flags & _st.FLAG_REG_PT_CHANGE:
        te = " telephone/event" if flags & _st.FLAG_PT_T_EVENT else ""
        return f"Payload changed to PT={pt}{te}"
    if flags & _st.FLAG_WRONG_TIMESTAMP:
        return "Incorrect timestamp"
    if (flags & _st.FLAG_PT_CHANGE and not flags & (_st.FLAG_FIRST | _st.FLAG_PT_CN
                                                     | _st.FLAG_MARKER)
            and flags & _st.FLAG_FOLLOW_PT_CN):
        return "Marker missing?"
    if flags & _st.FLAG_PT_T_EVENT:
        return f"PT={pt} telephone/event"
    return ""


def _stream_index(rtp: RtpPackets, stream) -> int:
    if isinstance(stream, (int, np.integer)) and 0 <= int(stream) < rtp.n_streams:
        return int(stream)
    if isinstance(stream, (int, np.integer)):
        hit = np.flatnonzero(rtp.key_arrays["ssrc"] == int(stream))
        if len(hit) == 1:
            return int(hit[0])
    raise LabkitError(f"no RTP stream {stream!r}", None,
                      f"use a stream id 0..{rtp.n_streams - 1} or a unique SSRC")


def stream_timing(rtp: RtpPackets, stream):
    """Per-packet timing of one stream, as sharkd 4.0 ``rtp-analyse`` reports it.

    Parameters
    ----------
    rtp : RtpPackets
    stream : int
        Stream id (row ``stream`` of :func:`rtp_streams`) or a unique SSRC.

    Returns
    -------
    pandas.DataFrame
        frame, arrival [ms since the stream's first packet], delta [ms], jitter [ms],
        skew [ms] (RFC 3550 A.8 as Wireshark: values carried over on packets that do
        not update them), seq, timestamp, marker, pt, flags (Wireshark STAT_FLAG bits),
        status (sharkd's text).

    References
    ----------
    Wireshark 4.0.17 ui/tap-rtp-analysis.c ``rtppacket_analyse``; RFC 3550 appendix A.8.

    Examples
    --------
    >>> from labkit import data
    >>> from labkit.capture import read_capture
    >>> tm = stream_timing(find_rtp(read_capture(data.path("relay_rtpengine"))), 0)
    >>> tm[["frame", "delta", "jitter"]].head(2).round(3).values.tolist()   # sharkd rtp-analyse
    [[14.0, 0.0, 0.0], [18.0, 16.364, 0.227]]
    """
    s = _stream_index(rtp, stream)
    idx, st = rtp.stream_stats(s)
    return timing_of(st, rtp.time_ns[idx], rtp.frame[idx], rtp.seq[idx], rtp.timestamp[idx],
                     rtp.marker[idx], rtp.pt[idx])


def timing_of(st, time_ns, frame, seq, timestamp, marker, pt):
    """:func:`stream_timing` from one stream's own packets (what a chunked reader holds).

    Parameters
    ----------
    st : labkit.rtp.stats.StreamStats
        :func:`labkit.rtp.stats.analyze_streams` of these packets alone (one stream, with
        the per-packet fields delta, jitter, skew, flags).
    time_ns, frame, seq, timestamp, marker, pt : numpy.ndarray
        The stream's packets in file order: arrival [ns since the epoch], frame number,
        RTP sequence number, RTP timestamp, marker bit, payload type.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`stream_timing`.

    References
    ----------
    As :func:`stream_timing`.

    Examples
    --------
    >>> from labkit import data
    >>> from labkit.capture import read_capture
    >>> rtp = find_rtp(read_capture(data.path("relay_rtpengine")))
    >>> idx, st = rtp.stream_stats(0)
    >>> tm = timing_of(st, rtp.time_ns[idx], rtp.frame[idx], rtp.seq[idx], rtp.timestamp[idx],
    ...                rtp.marker[idx], rtp.pt[idx])
    >>> tm[["frame", "delta", "jitter"]].head(2).round(3).values.tolist()   # sharkd rtp-analyse
    [[14.0, 0.0, 0.0], [18.0, 16.364, 0.227]]
    """
    import pandas as pd
    t = np.asarray(time_ns, np.int64)
    flags = np.asarray(st.flags, np.int32)
    pts = np.asarray(pt, np.uint8)
    return pd.DataFrame({
        "frame": np.asarray(frame, np.int64), "arrival": (t - t[0]) / 1e6,
        "delta": st.delta, "jitter": st.jitter, "skew": st.skew,
        "seq": np.asarray(seq, np.int32), "timestamp": np.asarray(timestamp, np.uint32),
        "marker": np.asarray(marker, bool), "pt": pts, "flags": flags,
        "status": [_status(int(f), int(p)) for f, p in zip(flags.tolist(), pts.tolist())]})


def stream_payloads(rtp: RtpPackets, stream, limit: int | None = None) -> list[bytes]:
    """RTP payloads of one stream (after CSRC, extension; padding removed), file order.

    Parameters
    ----------
    rtp : RtpPackets
        From :func:`find_rtp`.
    stream : int
        Stream id.
    limit : int, optional
        Only the stream's first `limit` packets (default: all).

    Returns
    -------
    list of bytes
        One payload per packet of the stream.

    References
    ----------
    RFC 3550 section 5.1 (CSRC list, X extension, P padding).

    Examples
    --------
    >>> from labkit import data
    >>> from labkit.capture import read_capture
    >>> pays = stream_payloads(find_rtp(read_capture(data.path("relay_rtpengine"))), 0)
    >>> len(pays), len(pays[0])        # 550 packets of 20 ms PCMA: 160 octets each
    (550, 160)
    """
    s = _stream_index(rtp, stream)
    idx = np.flatnonzero(rtp.stream == s)[:limit]
    pk = rtp.packets
    out = []
    for i in idx.tolist():
        row = int(rtp.row[i])
        start = int(rtp.payload_offset[i] - np.asarray(pk.payload_offset)[row])
        out.append(pk.payload(row)[start:start + int(rtp.payload_len[i])])
    return out
