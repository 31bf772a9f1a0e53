"""What the bytes of an SMS over IMS cost: per-layer accounting from the frame bytes.

:func:`frame_layers` takes the header boundaries of one captured frame from the capture
dissector (:func:`labkit.capture.layers.layer_boundaries`, the engine of
:func:`labkit.capture.read_capture`: link layer, outer IPv4/IPv6, UDP, GTP-U (3GPP TS
29.281 5.1, 8 or 12+ octets), inner IP, ESP (RFC 4303: header, padding + pad length + next
header, ICV; NULL encryption RFC 2410 found by Wireshark's heuristic, an encrypted or
snaplen-cut ESP is one opaque layer), UDP/TCP) and splits the SIP payload into start
line and headers (RFC 3261 7), RP header (TS 24.011 7.3), TP header and user data
(TS 23.040 9.2). Nothing is assumed: every count comes from lengths found in the frame.
:func:`sms_overhead` does this for every SMS-related SIP message of a capture,
:func:`qualcomm_comparison` sets one message beside the published 828-byte figure, and
:func:`labkit.sms.whatif.what_if` rebuilds the message with labkit.capture.frames under
other conditions (IPv6, no IPsec, longer texts, UCS2, MT, RP-ACK, USSD).
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


# ---------------------------------------------------------------- from the capture dissector

_LINK = {"eth": "Ethernet", "vlan": "VLAN", "sll": "SLL", "sll2": "SLL2", "null": "Null/Loopback",
         "pppoes": "PPPoE", "ppp": "", "mpls": "MPLS"}


def _ip_info(d: bytes, p: int, protocol: str) -> tuple[dict, int]:
    """Fields of the IP header at `p` (addresses, TTL, ...) and the end of its packet."""
    if protocol == "IPv4":
        ihl, total = (d[p] & 0xF) * 4, struct.unpack_from("!H", d, p + 2)[0]
        info = dict(src=str(ipaddress.IPv4Address(d[p + 12:p + 16])),
                    dst=str(ipaddress.IPv4Address(d[p + 16:p + 20])), ttl=d[p + 8],
                    ident=struct.unpack_from("!H", d, p + 4)[0], df=bool(d[p + 6] & 0x40),
                    tos=d[p + 1], options=bytes(d[p + 20:p + ihl]), total_length=total)
        return info, p + max(total, ihl)
    plen = struct.unpack_from("!H", d, p + 4)[0]
    info = dict(src=str(ipaddress.IPv6Address(d[p + 8:p + 24])),
                dst=str(ipaddress.IPv6Address(d[p + 24:p + 40])), payload_length=plen)
    return info, p + 40 + plen


def _gtpu_info(d: bytes, p: int, n: int) -> dict:
    """TEID, sequence, N-PDU and extension headers of the GTP-U header at `p`, `n` octets
    (TS 29.281 5.1-5.2; the dissector found `n`)."""
    flags, teid = d[p], struct.unpack_from("!I", d, p + 4)[0]
    ext, q, nxt = [], 12, d[p + 11] if flags & 0x04 else 0
    while nxt and q < n:
        size = d[p + q] * 4
        ext.append((nxt, bytes(d[p + q + 1:p + q + size - 1])))
        nxt, q = d[p + q + size - 1], q + size
    return dict(teid=teid, seq=struct.unpack_from("!H", d, p + 8)[0] if flags & 0x02 else None,
                npdu=d[p + 10] if flags & 0x01 else None, ext=tuple(ext))


def _ip_protocol(d: bytes, layers: list[Layer]) -> int:
    """Next protocol after the last IP header (or ESP trailer) of `layers`."""
    for l in reversed(layers):
        if l.name == "esp_trailer":
            return l.info["next_header"]
        if l.protocol == "IPv4":
            return d[l.offset + 9]
        if l.protocol == "IPv6":
            return d[l.offset + 6]
    return -1


def _account(d: bytes, rows: list, where: str | None) -> tuple[list[Layer], int]:
    """The dissector's boundaries as accounting layers; returns (layers, end of packet).

    Without a tunnel the one IP header is the message's own ("inner_ip") when a UDP/TCP
    header follows it; otherwise (another IP protocol, an opaque ESP) it stays
    "outer_ip", as the accounting has always named it.
    """
    layers, end = _account_rows(d, rows, where)
    if not any(l.name in ("gtpu", "transport") for l in layers):
        layers = [Layer("outer_ip", l.protocol, l.offset, l.length, l.info) if l.name == "inner_ip"
                  else l for l in layers]
    return layers, end


def _account_rows(d: bytes, rows: list, where: str | None) -> tuple[list[Layer], int]:
    """Map the boundary rows to accounting layers (see :func:`_account`)."""
    from labkit.capture.layers import TRAILERS
    layers: list[Layer] = []
    end = len(d)
    heads = [r for r in rows if r.name not in TRAILERS]
    trailers = {r.name: r for r in rows if r.name in TRAILERS}  # one ESP is accounted
    link = [r for r in heads if r.name in _LINK and r.offset < next(
        (h.offset for h in heads if h.name in ("ip", "ipv6")), end)]
    if link:
        labels = [_LINK[r.name] for r in link if _LINK[r.name]]
        label = labels[0] + "".join(f"+{x}" for x in dict.fromkeys(labels[1:]))
        layers.append(Layer("link", label, 0, sum(r.length for r in link)))
    rest = heads[len(link):]
    tunnel = any(r.name == "gtp" for r in rest)
    n_ip, i = 0, 0
    while i < len(rest):
        r = rest[i]
        prev = next((l.name for l in reversed(layers) if not l.name.startswith("esp_")
                     or l.name == "esp_header"), None)
        nxt = rest[i + 1].name if i + 1 < len(rest) else None
        if r.name in ("ip", "ipv6") and (n_ip == 0 or prev == "gtpu"):
            n = r.length
            while i + 1 < len(rest) and rest[i + 1].name.startswith("ipv6."):
                i, n = i + 1, n + rest[i + 1].length
            proto = "IPv4" if r.name == "ip" else "IPv6"
            info, ipend = _ip_info(d, r.offset, proto)
            end = min(end, ipend)
            name = "outer_ip" if tunnel and n_ip == 0 else "inner_ip"
            layers.append(Layer(name, proto, r.offset, n, info))
            n_ip += 1
        elif r.name == "udp" and prev in ("outer_ip", "inner_ip", "esp_header"):
            sport, dport, length = struct.unpack_from("!HHH", d, r.offset)
            if length >= 8:
                end = min(end, r.offset + length)
            outer = nxt in ("gtp", "esp")  # GTP-U, or UDP-encapsulated ESP (RFC 3948)
            layers.append(Layer("outer_udp" if outer else "transport", "UDP", r.offset, 8,
                                dict(sport=sport, dport=dport, length=length)))
        elif r.name == "tcp" and prev in ("inner_ip", "esp_header"):
            sport, dport, seq = struct.unpack_from("!HHI", d, r.offset)
            layers.append(Layer("transport", "TCP", r.offset, r.length,
                                dict(sport=sport, dport=dport, seq=seq)))
        elif r.name == "gtp" and prev == "outer_udp":
            layers.append(Layer("gtpu", "GTP-U", r.offset, r.length, _gtpu_info(d, r.offset, r.length)))
        elif r.name == "esp" and prev in ("inner_ip", "outer_udp"):
            spi, seq = struct.unpack_from("!II", d, r.offset)
            if nxt == "esp_opaque":
                layers.append(Layer("esp_header", "ESP", r.offset, 8, dict(spi=spi, seq=seq)))
                o = rest[i + 1]
                cut = o.detail == "cut by the capture"
                layers.append(Layer("esp_opaque", "ESP (cut by the capture)" if cut else
                                    "ESP (encrypted)", o.offset, o.length, dict(spi=spi, truncated=cut)))
                return layers, end
            layers.append(Layer("esp_header", "ESP", r.offset, 8, dict(spi=spi, seq=seq,
                                                                         encryption="NULL")))
            icv, tr, pad = trailers["esp_icv"], trailers["esp_trailer"], trailers["esp_pad"]
            layers.append(Layer("esp_icv", "ESP ICV", icv.offset, icv.length))
            layers.append(Layer("esp_trailer", "ESP trailer", tr.offset, 2,
                                dict(pad_length=d[tr.offset], next_header=d[tr.offset + 1])))
            layers.append(Layer("esp_padding", "ESP padding", pad.offset, pad.length))
            end = pad.offset
        elif r.name == "data" and prev == "transport":
            layers.extend(_sip_and_sms(d[r.offset:r.offset + r.length], r.offset))
            return layers, end
        elif r.name == "truncated":
            raise DecodeError(f"{r.detail} truncated: {len(d) - r.offset} octets left at offset "
                              f"{r.offset}", where)
        elif r.name == "fragment":
            raise DecodeError(f"{r.detail}: byte accounting needs whole datagrams", where,
                              "account the reassembled message with labkit.capture")
        else:  # a payload or a tunnel the accounting has no layer for (GRE, IP-in-IP, ...)
            if r.name == "data" and r.detail == "not IP" and link and link[-1].name in ("eth", "vlan"):
                label = f"ethertype 0x{struct.unpack_from('!H', d, r.offset - 2)[0]:04x}"
            elif not any(l.name.endswith("_ip") for l in layers):
                label = r.detail or r.name
            else:
                label = f"IP protocol {_ip_protocol(d, layers)}"
            if end > r.offset:
                layers.append(Layer("other", label, r.offset, end - r.offset))
            return layers, end
        i += 1
    if not any(l.name.endswith("_ip") for l in layers):
        at = sum(l.length for l in layers)
        raise DecodeError("no IP header after the link layer" + (
            f": IP version {d[at] >> 4} at offset {at}" if at < len(d) else ""), where)
    return layers, end


# ---------------------------------------------------------------- application

def _sip_and_sms(payload: bytes, at: int) -> list[Layer]:
    """SIP start line, headers (incl. the empty line) and an SMS body split RP/TP/UD
    (RFC 3261 7; the payload starts at frame offset `at`)."""
    eol = payload.find(b"\r\n")
    sep = payload.find(b"\r\n\r\n")
    if eol < 0 or sep < 0 or b"SIP/2.0" not in payload[:eol]:
        return [Layer("other", "payload", at, len(payload))] if payload else []
    out = [Layer("sip_start_line", "SIP", at, eol + 2, dict(line=payload[:eol].decode("utf-8", "replace"))),
           Layer("sip_headers", "SIP", at + eol + 2, sep + 4 - (eol + 2))]
    body, at = payload[sep + 4:], at + sep + 4
    if not body:
        return out
    if b"application/vnd.3gpp.sms" in payload[:sep].lower():
        return out + _sms_body(body, at)
    return out + [Layer("other", "SIP body", at, len(body))]


def _sms_body(body: bytes, at: int) -> list[Layer]:
    """RP header / TP header / user data octets of an SMS body (labkit.sms)."""
    from labkit.sms.pdu import decode_rp
    try:
        rp = decode_rp(body)
    except DecodeError:
        return [Layer("other", "SIP body (not RP)", at, len(body))]
    tp_len = len(rp.user_data)
    out = [Layer("rp_header", rp.type, at, len(body) - tp_len)]
    at += len(body) - tp_len
    if rp.tpdu is None and tp_len:
        out.append(Layer("other", "TPDU (does not decode)", at, tp_len))
    elif rp.tpdu is not None:
        out.append(Layer("tp_header", rp.tpdu.type, at, rp.tpdu.header_len))
        out.append(Layer("user_data", rp.tpdu.encoding or "", at + rp.tpdu.header_len, rp.tpdu.ud_len,
                         dict(text=rp.tpdu.text)))
    return out


def frame_layers(frame: bytes, linktype: int = 1, *, where: str | None = None,
                 gtp_ports: tuple = (_GTP_PORT,)) -> list[Layer]:
    """Every layer of one frame with the octets it occupies, outermost first.

    The header boundaries are the capture dissector's
    (:func:`labkit.capture.layers.layer_boundaries`); this function names them for the
    accounting (outer/inner IP, GTP-U, ESP parts, transport) and splits the SIP payload.

    Parameters
    ----------
    frame : bytes
        The captured frame (link header included).
    linktype : int
        pcap LINKTYPE (1 Ethernet, 113/276 Linux cooked, 0/108 loopback, 101/228/229 raw IP).
    where : str, optional
        "file, frame N" for error messages.
    gtp_ports : tuple of int
        UDP ports on which a G-PDU is opened (3GPP TS 29.281: 2152).

    Returns
    -------
    list of Layer
        name (one of :data:`LAYERS`), protocol, offset [octets from the frame start],
        length [octets], info (addresses, ports, TTL, TEID, SPI, pad length, ...). Offsets
        ascend except the ESP trailers (ICV, pad length + next header, padding), listed
        after the ESP header though they follow the payload. The lengths add up to the
        frame length (Ethernet padding and a payload no layer claims are "other").

    Raises
    ------
    DecodeError
        A header cut by the end of the frame, an IP fragment (account the reassembled
        message), no IP header, or a link type the dissector does not know.

    References
    ----------
    - 3GPP TS 29.281 clause 5.1 (GTP-U header: 8 octets, 12 with the E/S/PN flags);
      RFC 4303 section 2 (ESP header 8 octets, padding, pad length, next header, ICV);
      RFC 2410 (NULL encryption); RFC 3261 clause 7 (start line, headers, empty line);
      3GPP TS 24.011 clause 7.3 (RP messages); 3GPP TS 23.040 clause 9.2 (TPDU).
    - Boundaries: :mod:`labkit.capture.layers` (tested against tshark 4.0 PDML).

    Examples
    --------
    The MO SMS "K" on S1-U: GTP-U, then IPsec ESP NULL between UE and P-CSCF.

    >>> from labkit import data
    >>> from labkit.capture import iter_frames
    >>> fr = next(iter_frames(data.path("sms_mo_submit")))
    >>> layers = frame_layers(fr.data, fr.linktype)
    >>> [(l.name, l.length) for l in sorted(layers, key=lambda l: l.offset)][:6]
    [('link', 14), ('outer_ip', 20), ('outer_udp', 8), ('gtpu', 8), ('inner_ip', 20), ('esp_header', 8)]
    >>> [(l.name, l.protocol, l.length) for l in layers if l.name in ("rp_header", "tp_header", "user_data")]
    [('rp_header', 'RP-DATA', 12), ('tp_header', 'SMS-SUBMIT', 14), ('user_data', 'GSM7', 1)]
    >>> sum(l.length for l in layers) == len(fr.data) == 1098
    True
    """
    from labkit.capture.dissect import LINKTYPES
    from labkit.capture.layers import layer_boundaries
    d = bytes(frame)
    if int(linktype) not in LINKTYPES:
        raise DecodeError(f"link type {linktype} is not supported for byte accounting", where,
                          "export the capture as Ethernet, Linux cooked or raw IP")
    layers, _ = _account(d, layer_boundaries(d, linktype, gtp_ports=gtp_ports), where)
    counted = sum(l.length for l in layers)
    if counted < len(d):  # Ethernet padding, bytes after the UDP datagram
        layers.append(Layer("other", "padding", counted, len(d) - counted))
    return layers


def layer_table(layers: list[Layer]) -> dict[str, int]:
    """Octets per layer name (every name of :data:`LAYERS`, zeros included).

    Parameters
    ----------
    layers : list of Layer
        As returned by :func:`frame_layers`.

    Returns
    -------
    dict
        name -> octets [octets], in the order of :data:`LAYERS`; a name that occurs more
        than once (``other``) is summed.

    References
    ----------
    - The layer names and what they count: :func:`frame_layers` (RFC 4303 section 2,
      3GPP TS 29.281 clause 5.1, RFC 3261 clause 7, 3GPP TS 24.011 clause 7.3).

    Examples
    --------
    >>> from labkit import data
    >>> from labkit.capture import iter_frames
    >>> fr = next(iter_frames(data.path("sms_mo_submit")))
    >>> t = layer_table(frame_layers(fr.data, fr.linktype))
    >>> t["esp_header"], t["esp_padding"], t["esp_trailer"], t["esp_icv"]
    (8, 3, 2, 12)
    >>> t["sip_start_line"] + t["sip_headers"], sum(t.values())
    (968, 1098)
    """
    out = dict.fromkeys(LAYERS, 0)
    for l in layers:
        out[l.name] += l.length
    return out


def efficiency(user_data: int, total: int) -> float:
    """User-data share of the frame [%].

    Parameters
    ----------
    user_data : int
        Octets of SMS user data (TP-UD) [octets].
    total : int
        Octets of the whole frame [octets]; 0 gives 0.0.

    Returns
    -------
    float
        100 * user_data / total [%].

    References
    ----------
    - TP-User-Data: 3GPP TS 23.040 clause 9.2.3.24; the 828-octet figure: :data:`QUALCOMM`.

    Examples
    --------
    >>> round(efficiency(1, 828), 2)  # one character in the published 828-octet frame
    0.12
    >>> efficiency(5, 0)
    0.0
    """
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
        efficiency_percent [%] (100 * user data / total), sorted by frame. A frame that
        cannot be accounted (an IP fragment: the message is not in one frame) is left out
        with a :class:`~labkit.errors.LabkitWarning`.

    References
    ----------
    - SMS over IP: 3GPP TS 24.341 clause 5.3 (MESSAGE with application/vnd.3gpp.sms);
      RP: 3GPP TS 24.011 clause 7.3; TPDU: 3GPP TS 23.040 clause 9.2; the layers:
      :func:`frame_layers`.

    Examples
    --------
    >>> from labkit import data
    >>> table = sms_overhead(data.path("sms_mo_submit"))
    >>> table[["frame", "message", "user_data", "total"]].values.tolist()
    [[1, 'MESSAGE', 1, 1098], [2, '202 Accepted', 0, 398], [3, 'MESSAGE', 0, 826], [4, '200 OK', 0, 478]]
    >>> float(table["efficiency_percent"].iloc[0])  # 100 * 1 / 1098
    0.091
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
    """Long form (frame, message, group, bytes) of :func:`grouped` for plotting.

    Parameters
    ----------
    table : pandas.DataFrame
        As returned by :func:`sms_overhead`.

    Returns
    -------
    pandas.DataFrame
        frame, message, group (the published categories of :data:`GROUPS`: "Ethernet",
        "IP", ..., "body", "other"), bytes [octets]; one row per frame and group.

    References
    ----------
    - Categories of the published Qualcomm breakdown (:data:`QUALCOMM`); layers:
      :func:`frame_layers`.

    Examples
    --------
    >>> from labkit import data
    >>> long = overhead_long(sms_overhead(data.path("sms_mo_submit")))
    >>> long[long["frame"] == 1].set_index("group")["bytes"].to_dict()
    {'Ethernet': 14, 'IP': 20, 'UDP': 8, 'GTP': 8, 'IP (inner)': 20, 'ESP': 25, 'UDP (inner)': 8, 'SIP': 968, 'SMS header': 26, 'body': 1, 'other': 0}
    """
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

    Parameters
    ----------
    frame : bytes
        The captured frame of the SIP MESSAGE (link header included).
    linktype : int
        pcap LINKTYPE of the frame (1 Ethernet, 113/276 Linux cooked, ...).

    Returns
    -------
    pandas.DataFrame
        layer (the published categories), published, measured [octets], difference
        (measured - published) [octets] and explanation (derived from this frame's own
        headers); a last row "total" [octets] and the efficiency line "efficiency [%]".

    References
    ----------
    - 3GPP TS 29.281 clause 5.1 (GTP-U 8 or 12 octets), RFC 4303 section 2 (ESP 8 + pad
      + 2 + ICV), RFC 2404 (HMAC-SHA-1-96: 12-octet ICV), 3GPP TS 24.011 clause 7.3 and
      3GPP TS 23.040 clause 9.2 (SMS header); :func:`labkit.sms.min_sms_header_octets`.

    Examples
    --------
    >>> from labkit import data
    >>> from labkit.capture import iter_frames
    >>> fr = next(iter_frames(data.path("sms_mo_submit")))
    >>> cmp = qualcomm_comparison(fr.data, fr.linktype).set_index("layer")
    >>> cmp.loc[["GTP", "ESP", "SMS header", "total"], ["published", "measured"]].values.tolist()
    [[12, 8], [22, 25], [16, 26], [828, 1098]]
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
