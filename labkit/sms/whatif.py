"""What-if rows for :mod:`labkit.sms.overhead`: a captured SMS MESSAGE rebuilt with
labkit.capture.frames under other conditions, every row measured with
:func:`labkit.sms.overhead.frame_layers` from the bytes built (re-exported as
``labkit.sms.overhead.what_if``).

The question it answers: "how many octets would the same SMS take with IPv6 inside
the tunnel, without IPsec, with 160 characters, as 3 concatenated parts, in UCS2, in
the MT direction, and what does a USSD over IMS exchange cost on the same bearer?"
(:func:`what_if`, :func:`ussd_exchange`). Nothing is estimated: each scenario is a
frame built from the captured one's addresses, ports, GTP-U tunnel, ESP SA and SIP
headers, then split into layers like a capture; :func:`what_if_frames` and
:func:`ussd_exchange_frames` return those frames, to write to a pcap and open in
Wireshark.

References
----------
3GPP TS 24.011 section 7.3 (RP-DATA), TS 23.040 sections 9.2.2 and 9.2.3.24.1
(SMS-SUBMIT/DELIVER, concatenation UDH), TS 23.038 section 6.1.2.1 (GSM 7-bit
packing) and 6.2.3 (UCS2); TS 24.341 (SMS in a SIP MESSAGE); TS 24.390 clause 4.5 and
Annex A.1 (USSD over IMS); RFC 4303 section 2 (ESP), RFC 8200 (IPv6), 3GPP TS 29.281
(GTP-U); RFC 3261 (SIP).
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from labkit.sms.overhead import LAYERS, efficiency, frame_layers, layer_table

__all__ = ["what_if", "what_if_frames", "ussd_exchange", "ussd_exchange_frames", "USSD_REQUEST",
           "USSD_RESULT"]

_V6 = {"ue": "2001:db8:45::2", "pcscf": "2001:db8:22::21"}
_USSD_XML = ('<?xml version="1.0" encoding="UTF-8"?>\r\n<ussd-data>\r\n<language>en</language>\r\n'
             '<ussd-string>{}</ussd-string>\r\n</ussd-data>\r\n')
USSD_REQUEST = "*100#"                  # what the user dials
USSD_RESULT = "Your balance is 12.34 EUR"   # what the network answers in the BYE (an example)
_BOUNDARY = "ussd-boundary-1"


_LINKS = {1: "ether", 113: "sll", 276: "sll2", 0: "null", 101: "raw"}  # pcap LINKTYPE -> frames


@dataclass(frozen=True)
class _Base:
    """What a captured frame tells us to rebuild it: addresses, ports, tunnel, ESP, SIP."""

    src: str
    dst: str
    sport: int
    dport: int
    gtp: dict | None
    esp: dict | None
    sip_head: bytes
    rp: object
    linktype: int


def _base(frame: bytes, linktype: int) -> _Base:
    from labkit.sms.pdu import decode_rp
    by = {l.name: l for l in frame_layers(frame, linktype)}
    ip, tr = by["inner_ip"].info, by["transport"].info
    gtp = None
    if "gtpu" in by:
        g, o = by["gtpu"].info, by["outer_ip"].info
        gtp = {"teid": g["teid"], "seq": g["seq"], "npdu": g["npdu"], "ext": g["ext"],
               "outer_src": o["src"], "outer_dst": o["dst"]}
    esp = None
    if "esp_header" in by:
        esp = {"spi": by["esp_header"].info["spi"], "seq": by["esp_header"].info["seq"],
               "icv_len": by["esp_icv"].length}
    sip = frame[by["sip_start_line"].offset:by["transport"].offset + tr["length"]]
    head, _, body = sip.partition(b"\r\n\r\n")
    link = linktype if linktype in _LINKS else 1
    return _Base(ip["src"], ip["dst"], tr["sport"], tr["dport"], gtp, esp, head, decode_rp(body), link)


def _frame(base: _Base, body: bytes, *, v6: bool = False, ipsec: bool = True,
           head: bytes | None = None) -> bytes:
    """The SIP message with `body` in the same tunnel/ESP/addressing as `base` (or IPv6)."""
    from labkit.capture import frames as fb
    from labkit.sms.smsip import fixed_sip_message
    head = head if head is not None else base.sip_head
    src, dst = base.src, base.dst
    if v6:  # the UE sends MS->N RP messages; its address is the source of those
        ue, net = (src, dst) if base.rp.link == "MS->N" else (dst, src)
        mapping = {ue: _V6["ue"], net: _V6["pcscf"]}
        for v4, v6addr in mapping.items():
            head = head.replace(v4.encode(), f"[{v6addr}]".encode())
        src, dst = mapping[src], mapping[dst]
    sip = fixed_sip_message(head + b"\r\n\r\n", body)
    return fb.udp_frame(sip, src, dst, base.sport, base.dport, gtp=base.gtp,
                        esp=base.esp if ipsec else None, link=_LINKS[base.linktype])


def _rp_with(base: _Base, tpdu: bytes) -> bytes:
    from labkit.sms.pdu import encode_rp_data
    rp = base.rp
    return encode_rp_data(rp.reference, tpdu, mt=rp.mti == 1, oa=rp.oa.digits if rp.oa else None,
                          da=rp.da.digits if rp.da else None)


def _submit(base: _Base, text: str, **kw) -> bytes:
    from labkit.sms.pdu import encode_submit
    tp = base.rp.tpdu
    return _rp_with(base, encode_submit(tp.da.digits, text, mr=tp.mr or 0, **kw))


def _row(scenario: str, frames_: list[bytes], linktype: int, user_data: int = 0) -> dict:
    tables = [layer_table(frame_layers(f, linktype)) for f in frames_]
    counts = {c: sum(t[c] for t in tables) for c in LAYERS}
    counts["other"] -= user_data  # USSD: the string inside the XML body is the user data
    counts["user_data"] += user_data
    total = sum(len(f) for f in frames_)
    return dict(scenario=scenario, frames=len(frames_), **counts, total=total,
                efficiency_percent=round(efficiency(counts["user_data"], total), 3))


def what_if_frames(mo_frame: bytes, mt_frame: bytes | None = None, *,
                   linktype: int = 1) -> dict[str, tuple[list[bytes], int, int]]:
    """The frames behind :func:`what_if`: scenario -> (frames, linktype, user-data octets
    inside a non-SMS body), so that they can be written to a pcap and opened in Wireshark.

    Parameters
    ----------
    mo_frame : bytes
        A captured frame carrying an MO RP-DATA (SMS-SUBMIT) SIP MESSAGE over UDP.
    mt_frame : bytes, optional
        A captured network-to-UE SMS MESSAGE (e.g. the RP-ACK); without it the MT rows
        are left out and the USSD downlink reuses the MO tunnel with its ends swapped.
    linktype : int
        pcap LINKTYPE of both frames.

    Returns
    -------
    dict of str to (list of bytes, int, int)
        For each scenario of :func:`what_if`, in its row order: the frames built (the
        captured frame itself for the "as captured" rows), their LINKTYPE, and the
        user-data octets carried in a non-SMS body (the ``<ussd-string>`` texts of the
        USSD exchange; 0 for SMS rows, whose user data is found in the TPDU).

    References
    ----------
    As :func:`what_if`. The frames are built by :mod:`labkit.capture.frames` (lengths
    and checksums per RFC 768, RFC 791, RFC 8200, TS 29.281 and RFC 4303).

    Examples
    --------
    Frame lengths [octets] of some scenarios built on ``sms_mo_submit`` (written to a
    pcap, tshark with the ESP NULL heuristic decodes all of them: the 160 K's, the 3
    parts reassembled, IP and UDP checksums good):

    >>> from labkit import data
    >>> from labkit.capture import iter_frames
    >>> fr = list(iter_frames(data.path("sms_mo_submit")))
    >>> f = what_if_frames(fr[0].data, fr[2].data)
    >>> {k: [len(x) for x in v[0]] for k, v in f.items() if "USSD" not in k}
    ... # doctest: +NORMALIZE_WHITESPACE
    {'as captured': [1098], 'IPv6 inner IP': [1138], 'no IPsec (no ESP)': [1073],
     '160-character text': [1238], '3-part concatenated (459 chars)': [1238, 1238, 1238],
     "UCS2 text ('K')": [1098], 'MT direction (SMS-DELIVER)': [858],
     'RP-ACK N->MS as captured': [826]}
    >>> frames, linktype, ussd_octets = f[next(k for k in f if "USSD" in k)]
    >>> len(frames), linktype, ussd_octets          # "*100#" + "Your balance is 12.34 EUR"
    (5, 1, 30)
    """
    base = _base(mo_frame, linktype)
    body, lt = base.rp.raw, base.linktype
    text = base.rp.tpdu.text if base.rp.tpdu else ""
    out = {"as captured": ([bytes(mo_frame)], linktype, 0),
           "IPv6 inner IP": ([_frame(base, body, v6=True)], lt, 0),
           "no IPsec (no ESP)": ([_frame(base, body, ipsec=False)], lt, 0),
           "160-character text": ([_frame(base, _submit(base, "K" * 160))], lt, 0),
           "3-part concatenated (459 chars)":
               ([_frame(base, _submit(base, "K" * 153, concat=(7, 3, i + 1))) for i in range(3)], lt, 0),
           f"UCS2 text ({text!r})": ([_frame(base, _submit(base, text, dcs=8))], lt, 0)}
    if mt_frame is not None:
        out.update(_mt_frames(base, _base(mt_frame, linktype), mt_frame, text, linktype))
    ussd = ussd_exchange_frames(mo_frame, mt_frame, linktype=linktype)
    out[_USSD_SCENARIO] = ([f for _, f, _ in ussd], lt, sum(n for _, _, n in ussd))
    return out


def what_if(mo_frame: bytes, mt_frame: bytes | None = None, *, linktype: int = 1) -> pd.DataFrame:
    """The captured MO SMS rebuilt under other conditions, every row measured from bytes.

    Parameters
    ----------
    mo_frame : bytes
        A captured frame carrying an MO RP-DATA (SMS-SUBMIT) SIP MESSAGE over UDP.
    mt_frame : bytes, optional
        A captured network-to-UE SMS MESSAGE (e.g. the RP-ACK): its SIP headers and
        tunnel are used for the MT and RP-ACK rows.
    linktype : int
        pcap LINKTYPE of both frames; the rebuilt frames use the same link layer.

    Returns
    -------
    pandas.DataFrame
        scenario, frames, one column per :data:`labkit.sms.overhead.LAYERS` name, total
        [octets] and efficiency_percent [%] (100 * user data / total). Rows: as
        captured, IPv6 inner IP (also in the SIP headers), no IPsec, 160-character text,
        3-part concatenated (459 characters, 3 MESSAGEs), UCS2 text, MT direction
        (SMS-DELIVER with the MT headers), the RP-ACK as captured, and a whole USSD
        exchange (:func:`ussd_exchange`: INVITE, 200, ACK, BYE with the result, 200).

    References
    ----------
    RFC 4303 section 2 (ESP header 8 octets = SPI + sequence number; padding so that
    payload + 2 trailer octets end on 4 octets, 2.4; ICV 2.8: 12 octets for
    HMAC-SHA-1-96, RFC 2404); RFC 8200 section 3 (IPv6 header 40 octets, IPv4 20 per
    RFC 791); 3GPP TS 23.040 sections 9.2.3.16 (TP-UDL: 160 septets = 140 octets) and
    9.2.3.24.1 (concatenation IE ``00 03 ref total seq``, 6 octets with the UDHL, and
    a fill bit: 153 septets per part); TS 23.038 section 6.2.3 (UCS2: 2 octets per
    character); TS 24.011 section 7.3.1 (RP-DATA); TS 24.390 (the USSD row).

    Examples
    --------
    The MO "K" of ``sms_mo_submit`` (tshark: 1098 octets, RP-ACK frame 3 826 octets).
    Without ESP, 8 header + 3 padding + 2 trailer + 12 ICV = 25 octets go: 1073. 160
    GSM 7-bit characters are 140 octets of user data (139 more than "K", and
    Content-Length 27 -> 166 takes one more header digit): 1238. IPv6 inside the
    tunnel adds 20 octets of IP header and 20 of longer addresses in the SIP headers:

    >>> from labkit import data
    >>> from labkit.capture import iter_frames
    >>> fr = list(iter_frames(data.path("sms_mo_submit")))
    >>> t = what_if(fr[0].data, fr[2].data).set_index("scenario")
    >>> t.loc[["as captured", "no IPsec (no ESP)", "160-character text", "IPv6 inner IP"],
    ...       ["user_data", "total"]].values.tolist()
    [[1, 1098], [1, 1073], [140, 1238], [1, 1138]]
    >>> t.loc["no IPsec (no ESP)", ["esp_header", "esp_padding", "esp_trailer", "esp_icv"]].tolist()
    [0, 0, 0, 0]
    >>> t.loc["as captured", ["esp_header", "esp_padding", "esp_trailer", "esp_icv"]].tolist()
    [8, 3, 2, 12]

    Three 153-character parts carry 3 x 134 octets of user data (140 - 6 octets of UDH):

    >>> t.loc["3-part concatenated (459 chars)", ["frames", "user_data", "total"]].tolist()
    [3, 402, 3714]
    """
    rows = [_row(name, frames_, lt, extra)
            for name, (frames_, lt, extra) in what_if_frames(mo_frame, mt_frame, linktype=linktype).items()]
    return pd.DataFrame(rows, columns=["scenario", "frames", *LAYERS, "total", "efficiency_percent"])


def _mt_frames(mo: _Base, mt: _Base, mt_frame: bytes, text: str, linktype: int) -> dict:
    from datetime import datetime, timezone
    from labkit.sms.pdu import encode_deliver, encode_rp_data
    sc = mo.rp.da.digits if mo.rp.da else "0"
    peer = mo.rp.tpdu.da.digits if mo.rp.tpdu and mo.rp.tpdu.da else "0"
    scts = datetime(2026, 3, 1, 10, 0, 0, tzinfo=timezone.utc)
    rp = encode_rp_data(mo.rp.reference, encode_deliver(peer, text, scts), mt=True, oa=sc)
    return {"MT direction (SMS-DELIVER)": ([_frame(mt, rp)], mt.linktype, 0),
            f"{mt.rp.type} {mt.rp.link} as captured": ([bytes(mt_frame)], linktype, 0)}


# ---------------------------------------------------------------- USSD over IMS

_USSD_SCENARIO = f"USSD over IMS ({USSD_REQUEST}: INVITE, 200, ACK, BYE, 200; TS 24.390)"
_SMS_ONLY = {b"request-disposition", b"accept-contact", b"content-type", b"content-length"}


def _reverse(base: _Base, downlink: _Base | None) -> _Base:
    """The opposite direction of `base` (same ports swapped); the tunnel of `downlink`
    when a captured frame in that direction is given, else `base`'s with its ends swapped."""
    gtp = downlink.gtp if downlink is not None else (
        None if base.gtp is None else {**base.gtp, "outer_src": base.gtp["outer_dst"],
                                       "outer_dst": base.gtp["outer_src"]})
    esp = downlink.esp if downlink is not None else base.esp
    return _Base(base.dst, base.src, base.dport, base.sport, gtp, esp, b"", base.rp, base.linktype)


def _headers(head: bytes) -> list[tuple[bytes, bytes, bytes]]:
    """(lower-case name, value, the line as sent) of each header line after the start line."""
    out = []
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        out.append((name.strip().lower(), value.strip(), line))
    return out


def _value(hdrs, name: bytes) -> bytes:
    return next((v for n, v, _ in hdrs if n == name), b"")


def _sip(start: str, lines: list[str], body: bytes = b"", ctype: str | None = None) -> bytes:
    """One SIP message: start line, headers, Content-Type/Length, body."""
    head = [start, *lines] + ([f"Content-Type: {ctype}"] if ctype else [])
    head.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def _ussd_body(text: str) -> bytes:
    return _USSD_XML.format(text).encode()


def _sdp(addr: str, port: int) -> bytes:
    ip = "IP6" if ":" in addr else "IP4"
    return (f"v=0\r\no=- 1 1 IN {ip} {addr}\r\ns=-\r\nc=IN {ip} {addr}\r\nt=0 0\r\n"
            f"m=audio {port} RTP/AVP 0\r\na=inactive\r\n").encode()


def _multipart(sdp: bytes, ussd: bytes) -> bytes:
    b = _BOUNDARY.encode()
    return (b"--" + b + b"\r\nContent-Type: application/sdp\r\n\r\n" + sdp + b"\r\n--" + b
            + b"\r\nContent-Type: application/vnd.3gpp.ussd+xml\r\n"
            + b"Content-Disposition: render;handling=optional\r\n\r\n" + ussd + b"\r\n--" + b + b"--\r\n")


def _ussd_messages(mo: _Base, request: str, result: str) -> list[tuple[str, bytes, bool]]:
    """(label, SIP message, sent by the UE) of the UE-initiated exchange, from the MO
    MESSAGE's own headers (Via, Route, From, P-Access-Network-Info, User-Agent, ...)."""
    hdrs = _headers(mo.sip_head)
    keep = [(n, raw) for n, _, raw in hdrs if n not in _SMS_ONLY and n != b"cseq"]
    frm, to, cid = (_value(hdrs, n).decode() for n in (b"from", b"to", b"call-id"))
    domain = to.split("@", 1)[1].split(">", 1)[0] if "@" in to else "ims.invalid"
    ruri = f"sip:{request.replace('#', '%23')}@{domain};user=dialstring"
    to_ussd, to_tagged = f"<{ruri}>", f"<{ruri}>;tag=as0001"
    ue_contact = f"<sip:{mo.src}:{mo.sport}>" if ":" not in mo.src else f"<sip:[{mo.src}]:{mo.sport}>"
    as_contact = "<sip:ussd-as@" + domain + ";lr>"
    via = _value(hdrs, b"via").decode()
    invite_lines = [raw.decode() if n != b"to" else f"To: {to_ussd}" for n, raw in keep]
    invite_lines += ["CSeq: 1 INVITE", f"Contact: {ue_contact}", "Recv-Info: g.3gpp.ussd",
                     "Accept: application/sdp, application/vnd.3gpp.ussd+xml"]
    invite = _sip(f"INVITE {ruri} SIP/2.0", invite_lines,
                  _multipart(_sdp(mo.src, 0), _ussd_body(request)),
                  f"multipart/mixed;boundary={_BOUNDARY}")
    common = [f"From: {frm}", f"To: {to_tagged}", f"Call-ID: {cid}"]
    ok = _sip("SIP/2.0 200 OK", [f"Via: {via}", *common, "CSeq: 1 INVITE",
                                 f"Contact: {as_contact}", "Recv-Info: g.3gpp.ussd"],
              _sdp(mo.dst, 0), "application/sdp")
    route = [raw.decode() for n, _, raw in hdrs if n in (b"route", b"max-forwards")]
    ack = _sip(f"ACK {as_contact[1:-1]} SIP/2.0",
               [f"Via: {via.replace('branch=z9hG4bK', 'branch=z9hG4bKack')}", *route, *common, "CSeq: 1 ACK"])
    net_via = f"SIP/2.0/UDP {mo.dst}:{mo.dport};branch=z9hG4bKbye0001"
    swapped = [f"From: {to_tagged}", f"To: {frm}", f"Call-ID: {cid}"]
    bye = _sip(f"BYE {ue_contact[1:-1]} SIP/2.0", [f"Via: {net_via}", "Max-Forwards: 69", *swapped,
                                                   "CSeq: 1 BYE"],
               _ussd_body(result), "application/vnd.3gpp.ussd+xml")
    ok_bye = _sip("SIP/2.0 200 OK", [f"Via: {net_via}", *swapped, "CSeq: 1 BYE"])
    return [("INVITE (USSD request)", invite, True), ("200 OK (INVITE)", ok, False),
            ("ACK", ack, True), ("BYE (USSD result)", bye, False), ("200 OK (BYE)", ok_bye, True)]


def ussd_exchange_frames(mo_frame: bytes, mt_frame: bytes | None = None, *, linktype: int = 1,
                         request: str = USSD_REQUEST, result: str = USSD_RESULT
                         ) -> list[tuple[str, bytes, int]]:
    """The frames of one UE-initiated USSD exchange, rebuilt on the captured MO tunnel.

    The SIP messages are those of :func:`ussd_exchange` (built from the MO MESSAGE's
    headers); UE-to-network messages use the MO frame's addresses, ports, GTP-U tunnel
    and ESP SA, network-to-UE messages the MT frame's (or the MO ones swapped).

    Parameters
    ----------
    mo_frame : bytes
        A captured MO SMS MESSAGE frame (its headers and tunnel are reused).
    mt_frame : bytes, optional
        A captured network-to-UE frame: its GTP-U/ESP for the downlink messages.
    linktype : int
        pcap LINKTYPE of the frames; the rebuilt frames use the same link layer.
    request, result : str
        The USSD string dialled and the network's answer [text].

    Returns
    -------
    list of (label, frame, user-data octets)
        INVITE (USSD request), 200 OK, ACK, BYE (USSD result), 200 OK; the user data is
        the text inside ``<ussd-string>`` (`request` in the INVITE, `result` in the BYE),
        in octets of its UTF-8 encoding.

    References
    ----------
    3GPP TS 24.390 clause 4.5 and Annex A.1 (INVITE with an SDP + ussd+xml multipart
    body, 200, ACK, BYE with the result, 200); RFC 3261 sections 13 and 15.1.1; RFC 2046
    section 5.1 (multipart/mixed).

    Examples
    --------
    Written to a pcap, tshark decodes frame 1 as an INVITE with a multipart/mixed body
    (application/sdp, then application/vnd.3gpp.ussd+xml with ``<ussd-string>*100#``)
    and frame 4 as a BYE whose ussd+xml body holds "Your balance is 12.34 EUR":

    >>> from labkit import data
    >>> from labkit.capture import iter_frames
    >>> fr = list(iter_frames(data.path("sms_mo_submit")))
    >>> [(label, len(f), n) for label, f, n in ussd_exchange_frames(fr[0].data, fr[2].data)]
    ... # doctest: +NORMALIZE_WHITESPACE
    [('INVITE (USSD request)', 1566, 5), ('200 OK (INVITE)', 618, 0), ('ACK', 554, 0),
     ('BYE (USSD result)', 622, 25), ('200 OK (BYE)', 390, 0)]
    """
    from labkit.capture import frames as fb
    mo = _base(mo_frame, linktype)
    down = _base(mt_frame, linktype) if mt_frame is not None else None
    up, back = mo, _reverse(mo, down)
    out = []
    for label, sip, from_ue in _ussd_messages(mo, request, result):
        b = up if from_ue else back
        frame = fb.udp_frame(sip, b.src, b.dst, b.sport, b.dport, gtp=b.gtp, esp=b.esp,
                             link=_LINKS[b.linktype])
        text = request if label.startswith("INVITE") else result if label.startswith("BYE") else ""
        out.append((label, frame, len(text.encode())))
    return out


def ussd_exchange(mo_frame: bytes, mt_frame: bytes | None = None, *, linktype: int = 1,
                  request: str = USSD_REQUEST, result: str = USSD_RESULT) -> pd.DataFrame:
    """A UE-initiated USSD (``*100#``) over IMS as the whole exchange, octets per layer.

    USSD over IMS is not one message: the UE sends an INVITE whose multipart body holds an
    SDP offer and the USSD request (application/vnd.3gpp.ussd+xml); the network answers
    200 OK (SDP answer), the UE ACKs, and when the network does not ask for more it sends
    the result in the body of a BYE, which the UE answers 200 OK. Each message is built
    from the captured MO MESSAGE's own headers (Via, Route, From, P-Access-Network-Info,
    User-Agent; SMS-only headers dropped) and carried on the captured tunnel and ESP SA
    (UE to network) or the MT frame's (network to UE), then measured like a capture.

    Parameters
    ----------
    mo_frame : bytes
        A captured MO SMS MESSAGE frame (its headers and tunnel are reused).
    mt_frame : bytes, optional
        A captured network-to-UE frame: its GTP-U/ESP for the downlink messages.
    linktype : int
        pcap LINKTYPE of the frames.
    request, result : str
        The USSD string dialled and the network's answer [text].

    Returns
    -------
    pandas.DataFrame
        message, direction ("UE->N"/"N->UE"), one column per
        :data:`labkit.sms.overhead.LAYERS` name [octets], total [octets],
        efficiency_percent [%]; a last row "whole exchange".

    References
    ----------
    3GPP TS 24.390 clause 4.5 (USSD in INVITE, INFO and BYE bodies; figure 4.1: UE
    initiated, the network does not request further information) and Annex A.1 (the
    example flow: INVITE, 200, ACK, BYE, 200); RFC 3261 sections 13 and 15.1.1.

    Examples
    --------
    >>> from labkit import data
    >>> from labkit.capture import iter_frames
    >>> fr = list(iter_frames(data.path("sms_mo_submit")))
    >>> t = ussd_exchange(fr[0].data, fr[2].data)
    >>> t["message"].tolist()[:3], int(t.iloc[-1]["user_data"])
    (['INVITE (USSD request)', '200 OK (INVITE)', 'ACK'], 30)
    """
    rows = []
    for label, frame, n in ussd_exchange_frames(mo_frame, mt_frame, linktype=linktype,
                                                request=request, result=result):
        row = _row(label, [frame], linktype, n)
        row["direction"] = "UE->N" if label in ("INVITE (USSD request)", "ACK", "200 OK (BYE)") else "N->UE"
        rows.append(row)
    total = _sum_row("whole exchange", rows)
    out = pd.DataFrame(rows + [total]).rename(columns={"scenario": "message"})
    return out[["message", "direction", *LAYERS, "total", "efficiency_percent"]]


def _sum_row(name: str, rows: list[dict]) -> dict:
    counts = {c: sum(r[c] for r in rows) for c in [*LAYERS, "total"]}
    return dict(scenario=name, direction="", frames=len(rows), **counts,
                efficiency_percent=round(efficiency(counts["user_data"], counts["total"]), 3))
