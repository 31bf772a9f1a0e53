"""What the bytes of an SMS over IMS cost: per-layer accounting from the frame bytes.

:func:`frame_layers` walks one captured frame from the link layer to the SMS user data
and returns every layer with the octets it occupies: Ethernet (+802.1Q), Linux cooked
or loopback headers, outer IPv4/IPv6, UDP, GTP-U (3GPP TS 29.281 5.1, 8 or 12+ octets),
inner IP, ESP (RFC 4303: header, padding + pad length + next header, ICV; NULL
encryption RFC 2410 is detected from the trailer, an encrypted ESP is one opaque
layer), UDP/TCP, SIP start line and headers (RFC 3261 7), RP header (TS 24.011 7.3),
TP header and user data (TS 23.040 9.2). Nothing is assumed: every count comes from
lengths found in the frame. :func:`sms_overhead` does this for every SMS-related SIP
message of a capture, :func:`qualcomm_comparison` sets one message beside the published
828-byte figure, and :func:`what_if` rebuilds the message with labkit.capture.frames under other
conditions (IPv6, no IPsec, longer texts, UCS2, MT, RP-ACK, USSD).
"""
from __future__ import annotations

import ipaddress
import struct
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from labkit.capture.tunnels import ESP_ICV_LENGTHS  # Wireshark's esp_null_heur order
from labkit.errors import DecodeError, LabkitWarning

__all__ = ["Layer", "LAYERS", "QUALCOMM", "frame_layers", "layer_table", "sms_overhead",
           "overhead_long", "qualcomm_comparison", "efficiency"]

LAYERS = ["link", "outer_ip", "outer_udp", "gtpu", "inner_ip", "esp_header", "esp_padding", "esp_trailer",
          "esp_icv", "esp_opaque", "transport", "sip_start_line", "sip_headers", "rp_header",
          "tp_header", "user_data", "other"]
# Published breakdown for a Qualcomm handset sending "K" over IMS on S1-U [bytes].
QUALCOMM = {"Ethernet": 14, "IP": 20, "UDP": 8, "GTP": 12, "IP (inner)": 20, "ESP": 22,
            "UDP (inner)": 8, "SIP": 707, "SMS header": 16, "body": 1}
_GTP_PORT = 2152
_ESP_NEXT = (4, 6, 17, 41, 59)  # IPv4, TCP, UDP, IPv6, no next header


@dataclass(frozen=True)
class Layer:
    """One layer of a frame: name (one of :data:`LAYERS`), protocol label, offset and
    octet count within the frame, and details (addresses, ports, SPI, ...)."""

    name: str
    protocol: str
    offset: int
    length: int
    info: dict = field(default_factory=dict, compare=False)


class _Walk:
    """Cursor over one frame collecting Layer records."""

    def __init__(self, frame: bytes, where: str | None):
        self.data, self.pos, self.end, self.where = frame, 0, len(frame), where
        self.layers: list[Layer] = []
        self.truncated = False  # an IP packet longer than the captured bytes (snaplen)

    def clip(self, end: int) -> None:
        """End of the current IP packet; beyond the capture means the frame was cut."""
        if end > self.end:
            self.truncated = True
        self.end = min(self.end, end)

    def need(self, n: int, what: str) -> None:
        if self.pos + n > self.end:
            raise DecodeError(f"{what} truncated: {n} octets needed at offset {self.pos}, "
                              f"{self.end - self.pos} left", self.where)

    def add(self, name: str, proto: str, n: int, **info) -> None:
        self.layers.append(Layer(name, proto, self.pos, n, info))
        self.pos += n

    def add_trailer(self, name: str, proto: str, n: int, **info) -> None:
        self.end -= n
        self.layers.append(Layer(name, proto, self.end, n, info))


# ---------------------------------------------------------------- link layers

def _link(w: _Walk, linktype: int) -> int:
    """Link header; returns the ethertype (or 0x0800/0x86DD guess for raw)."""
    d = w.data
    if linktype == 1:  # Ethernet II, 802.1Q/QinQ tags
        w.need(14, "Ethernet header")
        n, etype = 12, struct.unpack_from("!H", d, 12)[0]
        while etype in (0x8100, 0x88A8, 0x9100):
            w.need(n + 6, "VLAN tag")
            n, etype = n + 4, struct.unpack_from("!H", d, n + 4)[0]
        w.add("link", "Ethernet" if n == 12 else "Ethernet+VLAN", n + 2)
        return etype
    if linktype in (113, 276):  # Linux cooked v1 (16) / v2 (20)
        size, at = (16, 14) if linktype == 113 else (20, 0)
        w.need(size, "Linux cooked header")
        etype = struct.unpack_from("!H", d, at)[0]
        w.add("link", "SLL" if linktype == 113 else "SLL2", size)
        return etype
    if linktype == 0:  # BSD loopback
        w.need(4, "loopback header")
        fam = struct.unpack_from("<I", d, 0)[0]
        fam = fam if fam < 256 else struct.unpack_from(">I", d, 0)[0]
        w.add("link", "Null/Loopback", 4)
        return 0x0800 if fam == 2 else 0x86DD
    if linktype in (101, 228, 229, 12, 14):  # raw IP
        w.need(1, "IP header")
        return 0x0800 if d[0] >> 4 == 4 else 0x86DD
    raise DecodeError(f"link type {linktype} is not supported for byte accounting", w.where,
                      "export the capture as Ethernet, Linux cooked or raw IP")


# ---------------------------------------------------------------- IP / UDP / GTP / ESP

def _ipv4(w: _Walk, name: str) -> tuple[int, str, str]:
    d, p = w.data, w.pos
    w.need(20, "IPv4 header")
    ihl = (d[p] & 0xF) * 4
    total = struct.unpack_from("!H", d, p + 2)[0]
    if ihl < 20 or total < ihl:
        raise DecodeError(f"IPv4 header length {ihl} / total length {total} invalid", w.where)
    if struct.unpack_from("!H", d, p + 6)[0] & 0x3FFF:
        raise DecodeError("IPv4 fragment: byte accounting needs whole datagrams", w.where,
                          "account the reassembled message with labkit.capture")
    w.clip(p + total)  # Ethernet padding after the IP packet is not counted
    src, dst = str(ipaddress.IPv4Address(d[p + 12:p + 16])), str(ipaddress.IPv4Address(d[p + 16:p + 20]))
    w.add(name, "IPv4", ihl, src=src, dst=dst, ttl=d[p + 8], ident=struct.unpack_from("!H", d, p + 4)[0],
          df=bool(d[p + 6] & 0x40), tos=d[p + 1], options=bytes(d[p + 20:p + ihl]), total_length=total)
    return d[p + 9], src, dst


def _ipv6(w: _Walk, name: str) -> tuple[int, str, str]:
    d, p = w.data, w.pos
    w.need(40, "IPv6 header")
    plen, nxt = struct.unpack_from("!HB", d, p + 4)
    w.clip(p + 40 + plen)
    src, dst = str(ipaddress.IPv6Address(d[p + 8:p + 24])), str(ipaddress.IPv6Address(d[p + 24:p + 40]))
    n = 40
    while nxt in (0, 43, 60):  # hop-by-hop, routing, destination options
        w.need(n + 8, "IPv6 extension header")
        nxt, n = d[p + n], n + (d[p + n + 1] + 1) * 8
    w.need(n, "IPv6 extension header")
    w.add(name, "IPv6", n, src=src, dst=dst, payload_length=plen)
    return nxt, src, dst


def _ip(w: _Walk, version_hint: int | None, name: str) -> tuple[int, str, str]:
    w.need(1, "IP header")
    version = w.data[w.pos] >> 4
    if version == 4:
        return _ipv4(w, name)
    if version == 6:
        return _ipv6(w, name)
    raise DecodeError(f"IP version {version} at offset {w.pos}", w.where)


def _udp(w: _Walk, name: str) -> tuple[int, int]:
    d, p = w.data, w.pos
    w.need(8, "UDP header")
    sport, dport, length = struct.unpack_from("!HHH", d, p)
    if length >= 8:
        w.end = min(w.end, p + length)
    w.add(name, "UDP", 8, sport=sport, dport=dport, length=length)
    return sport, dport


def _tcp(w: _Walk, name: str) -> tuple[int, int]:
    d, p = w.data, w.pos
    w.need(20, "TCP header")
    sport, dport = struct.unpack_from("!HH", d, p)
    hlen = (d[p + 12] >> 4) * 4
    w.need(hlen, "TCP header")
    w.add(name, "TCP", hlen, sport=sport, dport=dport, seq=struct.unpack_from("!I", d, p + 4)[0])
    return sport, dport


def _gtpu(w: _Walk) -> None:
    """GTP-U v1 header incl. optional seq/N-PDU/extension headers (TS 29.281 5.1-5.2)."""
    d, p = w.data, w.pos
    w.need(8, "GTP-U header")
    flags, mtype, length, teid = struct.unpack_from("!BBHI", d, p)
    if flags >> 5 != 1 or mtype != 255:
        raise DecodeError(f"GTP-U flags 0x{flags:02x} / message type {mtype} is not a G-PDU", w.where)
    n, ext = 8, []
    if flags & 0x07:
        w.need(12, "GTP-U optional fields")
        n, nxt = 12, d[p + 11]
        while flags & 0x04 and nxt:
            w.need(n + 1, "GTP-U extension header")
            size = d[p + n] * 4
            if size == 0:
                raise DecodeError("GTP-U extension header of length 0", w.where)
            w.need(n + size, "GTP-U extension header")
            ext.append((nxt, bytes(d[p + n + 1:p + n + size - 1])))
            nxt, n = d[p + n + size - 1], n + size
    info = dict(teid=teid, seq=struct.unpack_from("!H", d, p + 8)[0] if flags & 0x02 else None,
                npdu=d[p + 10] if flags & 0x01 else None, ext=tuple(ext))
    w.add("gtpu", "GTP-U", n, **info)


def _esp_null_trailer(w: _Walk) -> tuple[int, int, int] | None:
    """(icv_len, pad_len, next_header) when the ESP payload looks like NULL encryption.

    RFC 4303 2.4: padding bytes are 1, 2, 3, ...; RFC 2410: the payload is plain. We try
    the usual ICV lengths and accept when the pad bytes count up, the next header is a
    known protocol and the protected UDP/TCP header fits exactly.
    """
    body = w.data[w.pos + 8:w.end]
    for icv in ESP_ICV_LENGTHS:
        if len(body) < icv + 2:
            continue
        pad_len, nxt = body[len(body) - icv - 2], body[len(body) - icv - 1]
        plain = len(body) - icv - 2 - pad_len
        if nxt not in _ESP_NEXT or plain < 0:
            continue
        if body[plain:plain + pad_len] != bytes(range(1, pad_len + 1)):
            continue
        if nxt == 17 and (plain < 8 or struct.unpack_from("!H", body, 4)[0] != plain):
            continue
        return icv, pad_len, nxt
    return None


def _esp(w: _Walk) -> int | None:
    """ESP header/trailer/ICV layers; returns the next header or None when encrypted."""
    w.need(8, "ESP header")
    spi, seq = struct.unpack_from("!II", w.data, w.pos)
    null = None if w.truncated else _esp_null_trailer(w)
    if null is None:
        w.add("esp_header", "ESP", 8, spi=spi, seq=seq)
        kind = "ESP (cut by the capture)" if w.truncated else "ESP (encrypted)"
        w.add("esp_opaque", kind, w.end - w.pos, spi=spi, truncated=w.truncated)
        return None
    icv, pad_len, nxt = null
    w.add("esp_header", "ESP", 8, spi=spi, seq=seq, encryption="NULL")
    w.add_trailer("esp_icv", "ESP ICV", icv)
    w.add_trailer("esp_trailer", "ESP trailer", 2, pad_length=pad_len, next_header=nxt)
    w.add_trailer("esp_padding", "ESP padding", pad_len)
    return nxt


# ---------------------------------------------------------------- application

def _sip_and_sms(w: _Walk) -> None:
    """SIP start line, headers (incl. the empty line) and an SMS body split RP/TP/UD."""
    payload = w.data[w.pos:w.end]
    eol = payload.find(b"\r\n")
    sep = payload.find(b"\r\n\r\n")
    if eol < 0 or sep < 0 or b"SIP/2.0" not in payload[:eol]:
        if payload:
            w.add("other", "payload", len(payload))
        return
    w.add("sip_start_line", "SIP", eol + 2, line=payload[:eol].decode("utf-8", "replace"))
    w.add("sip_headers", "SIP", sep + 4 - (eol + 2))
    body = w.data[w.pos:w.end]
    if not body:
        return
    head = payload[:sep].lower()
    if b"application/vnd.3gpp.sms" in head:
        _sms_body(w, body)
    else:
        w.add("other", "SIP body", len(body))


def _sms_body(w: _Walk, body: bytes) -> None:
    """RP header / TP header / user data octets of an SMS body (labkit.sms)."""
    from labkit.sms.pdu import decode_rp
    try:
        rp = decode_rp(body)
    except DecodeError:
        w.add("other", "SIP body (not RP)", len(body))
        return
    tp_len = len(rp.user_data)
    w.add("rp_header", rp.type, len(body) - tp_len)
    if rp.tpdu is None and tp_len:
        w.add("other", "TPDU (does not decode)", tp_len)
    elif rp.tpdu is not None:
        w.add("tp_header", rp.tpdu.type, rp.tpdu.header_len)
        w.add("user_data", rp.tpdu.encoding or "", rp.tpdu.ud_len, text=rp.tpdu.text)


def frame_layers(frame: bytes, linktype: int = 1, *, where: str | None = None,
                 gtp_ports: tuple = (_GTP_PORT,)) -> list[Layer]:
    """Every layer of one frame with the octets it occupies, outermost first.

    Parameters
    ----------
    frame : bytes
        The captured frame (link header included).
    linktype : int
        pcap LINKTYPE (1 Ethernet, 113/276 Linux cooked, 0 loopback, 101 raw).
    where : str, optional
        "file, frame N" for error messages.

    Returns
    -------
    list of Layer
        Offsets ascending except trailers (ESP padding/ICV) which follow the payload.
        The lengths add up to the frame length (Ethernet padding is reported as "other").

    Raises
    ------
    DecodeError
        A header that is truncated or inconsistent.
    """
    w = _Walk(bytes(frame), where)
    etype = _link(w, linktype)
    if etype not in (0x0800, 0x86DD):
        w.add("other", f"ethertype 0x{etype:04x}", w.end - w.pos)
        return _finish(w, len(frame))
    _transport_chain(w, "outer_ip")
    return _finish(w, len(frame))


def _transport_chain(w: _Walk, ip_name: str) -> None:
    proto, _, _ = _ip(w, None, ip_name)
    if proto == 50:
        proto = _esp(w)
        if proto is None:
            return
    if proto == 17:
        sport, dport = _udp(w, "outer_udp" if ip_name == "outer_ip" else "transport")
        if ip_name == "outer_ip" and _GTP_PORT in (sport, dport):
            _gtpu(w)
            _transport_chain(w, "inner_ip")
            return
        _relabel_plain(w, ip_name)
        _sip_and_sms(w)
    elif proto == 6:
        _tcp(w, "transport")
        _relabel_plain(w, ip_name)
        _sip_and_sms(w)
    elif w.end > w.pos:
        w.add("other", f"IP protocol {proto}", w.end - w.pos)


def _relabel_plain(w: _Walk, ip_name: str) -> None:
    """Without a tunnel the only IP/UDP are the message's own: call them inner."""
    if ip_name != "outer_ip":
        return
    w.layers = [Layer({"outer_ip": "inner_ip", "outer_udp": "transport"}.get(l.name, l.name),
                      l.protocol, l.offset, l.length, l.info) for l in w.layers]


def _finish(w: _Walk, total: int) -> list[Layer]:
    if w.end > w.pos:
        w.add("other", "unparsed", w.end - w.pos)
    counted = sum(l.length for l in w.layers)
    if counted < total:
        w.layers.append(Layer("other", "padding", total - (total - counted), total - counted))
    return w.layers


def layer_table(layers: list[Layer]) -> dict[str, int]:
    """Octets per layer name (every name of :data:`LAYERS`, zeros included)."""
    out = dict.fromkeys(LAYERS, 0)
    for l in layers:
        out[l.name] += l.length
    return out


def efficiency(user_data: int, total: int) -> float:
    """User-data share of the frame [%]."""
    return 100.0 * user_data / total if total else 0.0


# ---------------------------------------------------------------- captures

GROUPS = {  # labkit layers -> the categories of the published Qualcomm figure
    "Ethernet": ["link"], "IP": ["outer_ip"], "UDP": ["outer_udp"], "GTP": ["gtpu"],
    "IP (inner)": ["inner_ip"], "ESP": ["esp_header", "esp_padding", "esp_trailer", "esp_icv",
                                            "esp_opaque"],
    "UDP (inner)": ["transport"], "SIP": ["sip_start_line", "sip_headers"],
    "SMS header": ["rp_header", "tp_header"], "body": ["user_data"], "other": ["other"],
}


def _label(msg) -> str:
    if isinstance(msg["method"], str):
        return msg["method"]
    return f"{int(msg['status'])} {msg['reason_phrase'] or ''}".strip()


def _sms_related(sip: pd.DataFrame) -> pd.DataFrame:
    """SMS MESSAGE requests and the responses to them (same Call-ID and CSeq)."""
    from labkit.sms.pdu import is_sms_content_type
    req = sip[(sip["method"] == "MESSAGE") & sip["content_type"].map(is_sms_content_type).astype(bool)]
    keys = set(zip(req["call_id"], req["cseq"]))
    related = pd.Series([k in keys for k in zip(sip["call_id"], sip["cseq"])], index=sip.index)
    resp = sip[sip["status"].notna() & related]
    return pd.concat([req, resp]).sort_values("frame", kind="stable")


def sms_overhead(path, *, frames: list[int] | None = None) -> pd.DataFrame:
    """Octets per layer for every SMS MESSAGE of a capture and the responses to it.

    Parameters
    ----------
    path : str or Path
        Capture file (pcap/pcapng).
    frames : list of int, optional
        Only these frame numbers (default: every SMS-related SIP message).

    Returns
    -------
    pandas.DataFrame
        frame, message ("MESSAGE", "200 OK", ...), sms (RP type and link or ""), one
        column per name in :data:`LAYERS` [octets], total [octets] (= frame length) and
        efficiency_percent [%] (100 * user data / total), sorted by frame.
    """
    from labkit.sip import sip_messages
    from labkit.sms.pdu import decode_rp
    from labkit.capture import as_packets, iter_frames
    packets = as_packets(path)
    sip = _sms_related(sip_messages(packets))
    if frames is not None:
        sip = sip[sip["frame"].isin(frames)]
    wanted = {int(f): m for f, m in zip(sip["frame"], sip.to_dict("records"))}
    rows = []
    for fr in iter_frames(path):
        if fr.number not in wanted:
            continue
        msg = wanted[fr.number]
        where = f"{Path(path).name}, frame {fr.number}"
        try:
            counts = layer_table(frame_layers(fr.data, fr.linktype, where=where))
        except DecodeError as exc:  # e.g. an IP fragment: the message is not in one frame
            warnings.warn(f"{exc}; frame left out of the table", LabkitWarning, stacklevel=2)
            continue
        rows.append(dict(frame=fr.number, message=_label(msg), sms=_sms_label(msg, decode_rp),
                         **counts, total=len(fr.data),
                         efficiency_percent=round(efficiency(counts["user_data"], len(fr.data)), 3)))
    return pd.DataFrame(rows, columns=["frame", "message", "sms", *LAYERS, "total",
                                       "efficiency_percent"])


def _sms_label(msg, decode_rp) -> str:
    if not isinstance(msg["method"], str):
        return ""
    try:
        rp = decode_rp(msg["body"])
    except DecodeError:
        return "not decodable"
    return f"{rp.type} {rp.link}" + (f" {rp.tpdu.type}" if rp.tpdu else "")


def grouped(table: pd.DataFrame) -> pd.DataFrame:
    """The layer columns summed into the categories of :data:`GROUPS`."""
    out = table.drop(columns=[c for c in LAYERS if c in table.columns]).copy()
    for name, cols in GROUPS.items():
        out[name] = table[[c for c in cols if c in table.columns]].sum(axis=1)
    return out


def overhead_long(table: pd.DataFrame) -> pd.DataFrame:
    """Long form (frame, message, group, bytes) of :func:`grouped` for plotting."""
    g = grouped(table)
    return g.melt(id_vars=["frame", "message"], value_vars=list(GROUPS), var_name="group",
                  value_name="bytes")


# ---------------------------------------------------------------- the published figure

def _explain(group: str, row: dict, layers: list[Layer]) -> str:
    """Why our octets differ from the published figure, from the layers of this frame."""
    by = {}
    for l in layers:
        by.setdefault(l.name, []).append(l)
    get = lambda n: by.get(n, [None])[0]  # noqa: E731
    if group == "GTP" and get("gtpu"):
        g = get("gtpu")
        return (f"{g.length} = 8 mandatory" + (" + 4 optional (sequence number flag set)"
                if g.length > 8 else ", no S/E/PN flags") + "; 12 means a flag is set")
    if group == "ESP" and get("esp_header"):
        if get("esp_opaque"):
            return "encrypted ESP: payload opaque"
        t, icv = get("esp_trailer"), get("esp_icv")
        return (f"8 header + {t.info['pad_length']} padding + 2 trailer + {icv.length} ICV "
                "(NULL encryption, HMAC-SHA-1-96); 22 = no padding")
    if group == "SIP" and get("sip_start_line"):
        s, h = get("sip_start_line"), get("sip_headers")
        return f"{s.length} start line + {h.length} headers and empty line; depends on the headers sent"
    if group == "SMS header" and get("rp_header"):
        rp, tp = get("rp_header"), get("tp_header")
        tp_len = tp.length if tp else 0
        return (f"{rp.length} RP ({rp.protocol}: type, reference, RP-OA, RP-DA, RP-UD length) + "
                f"{tp_len} TP ({tp.protocol if tp else 'none'}: first octet, addresses, PID, DCS, "
                "time/validity, UDL); 16 octets fit only very short addresses (e.g. 2 + 4 "
                "digits, no validity period): with 11-digit numbers the minimum is 25, 26 "
                "with a relative validity period (labkit.sms.min_sms_header_octets)")
    if group in ("IP", "IP (inner)"):
        l = get("outer_ip" if group == "IP" else "inner_ip")
        return f"{l.protocol} header" if l else "absent"
    return ""


def qualcomm_comparison(frame: bytes, linktype: int = 1) -> pd.DataFrame:
    """One frame's octets beside the published Qualcomm figure (828 octets, 0.12 %).

    Returns
    -------
    pandas.DataFrame
        layer (the published categories), published, measured [octets], difference
        (measured - published) and explanation (derived from this frame's own headers);
        a last row "total" and the efficiency line "efficiency [%]".
    """
    layers = frame_layers(frame, linktype)
    table = layer_table(layers)
    rows = []
    for group, cols in GROUPS.items():
        measured = sum(table[c] for c in cols)
        published = QUALCOMM.get(group, 0)
        if group == "other" and not measured:
            continue
        rows.append(dict(layer=group, published=published, measured=measured,
                         difference=measured - published, explanation=_explain(group, table, layers)))
    pub_total, total = sum(QUALCOMM.values()), len(frame)
    rows.append(dict(layer="total", published=pub_total, measured=total,
                     difference=total - pub_total, explanation="frame length"))
    rows.append(dict(layer="efficiency [%]", published=round(efficiency(1, pub_total), 2),
                     measured=round(efficiency(table["user_data"], total), 2),
                     difference=None, explanation="user data / frame"))
    return pd.DataFrame(rows, columns=["layer", "published", "measured", "difference",
                                       "explanation"], dtype=object)
