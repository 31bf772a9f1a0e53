"""The whole SMS transaction, SIP octets header by header, and the MO "K" three ways.

One SMS over IMS is not one message: the MO ``MESSAGE`` (RP-DATA) is answered ``202
Accepted``, then the network sends its own ``MESSAGE`` with the RP-ACK, which the UE
answers ``200 OK`` (TS 24.341 5.3.1.3, 5.3.2.4). :func:`mo_transaction` adds the four up.
:func:`sip_header_octets` splits a message's SIP octets line by line, since the header
block dominates everything else; :func:`min_sms_header_octets` states when the RP + TP
headers could be as small as a published figure says; :func:`mo_k_rows` sets the published
figure, our rebuilt frame and the user's capture side by side, each labelled with how it
was made. :func:`sms_frames` is the plumbing notebook 02 needs (messages, frames, the MO
and MT frames to use).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from labkit.errors import LabkitError
from labkit.sms.overhead import GROUPS, LAYERS, QUALCOMM, efficiency, frame_layers, layer_table

__all__ = ["SmsFrames", "sms_frames", "mo_transaction", "sip_header_octets",
           "min_sms_header_octets", "mo_k_rows"]


@dataclass(frozen=True)
class SmsFrames:
    """The SMS messages of a capture and the frames a notebook analyses.

    Attributes
    ----------
    path : Path
    messages : pandas.DataFrame
        :func:`labkit.sms.sms_messages` of the capture.
    frames : dict of int to labkit.capture.Frame
        Every frame by number.
    mo : int or None
        Frame of the MO RP-DATA (SMS-SUBMIT) MESSAGE analysed.
    mt : int or None
        Frame of the network-to-UE SMS MESSAGE used for the downlink (e.g. the RP-ACK).
    """

    path: Path
    messages: pd.DataFrame
    frames: dict
    mo: int | None
    mt: int | None

    def data(self, number: int) -> bytes:
        """The bytes of frame `number`."""
        return self.frames[number].data

    @property
    def linktype(self) -> int:
        """LINKTYPE of the MO frame (of the first frame without one)."""
        number = self.mo if self.mo is not None else min(self.frames)
        return self.frames[number].linktype


def sms_frames(capture, mo_frame: int | None = None, mt_frame: int | None = None) -> SmsFrames:
    """Decode the SMS of `capture` and pick its MO and MT frames (first ones by default).

    Parameters
    ----------
    capture : str or Path
        pcap/pcapng with SMS over IP.
    mo_frame, mt_frame : int, optional
        Frame numbers of an MO RP-DATA MESSAGE and of a network-to-UE SMS MESSAGE.

    Returns
    -------
    SmsFrames

    Raises
    ------
    LabkitError
        When a given frame number carries no SMS MESSAGE of that direction.

    References
    ----------
    3GPP TS 24.341 5.3.1 (MO) and 5.3.2 (MT) SMS over IP.

    Examples
    --------
    >>> from labkit import data
    >>> s = sms_frames(data.path("sms_mo_submit"))
    >>> s.mo, s.mt, len(s.data(s.mo))
    (1, 3, 1098)
    """
    from labkit.capture import iter_frames
    from labkit.sms.smsip import sms_messages
    path = Path(capture)
    messages = sms_messages(path)
    mo_rows = messages[(messages["rp_type"] == "RP-DATA") & (messages["direction"] == "MO")]
    mt_rows = messages[messages["direction"] == "MT"]
    mo = _pick(mo_frame, mo_rows, path, "MO RP-DATA")
    mt = _pick(mt_frame, mt_rows, path, "network-to-UE SMS")
    return SmsFrames(path, messages, {f.number: f for f in iter_frames(path)}, mo, mt)


def _pick(number, rows, path, what) -> int | None:
    if number is None:
        return int(rows["frame"].iloc[0]) if len(rows) else None
    if int(number) not in set(rows["frame"]):
        raise LabkitError(f"frame {number} is not an {what} MESSAGE", str(path.name),
                          f"use one of: {sorted(int(f) for f in rows['frame']) or 'none in this capture'}")
    return int(number)


def mo_transaction(capture, mo_frame: int | None = None) -> pd.DataFrame:
    """Octets per layer of the whole MO SMS transaction: MESSAGE, 202, RP-ACK MESSAGE, 200.

    Parameters
    ----------
    capture : str or Path
        pcap/pcapng with an MO SMS over IP.
    mo_frame : int, optional
        Frame of the MO RP-DATA MESSAGE (default: the first).

    Returns
    -------
    pandas.DataFrame
        The rows of :func:`labkit.sms.overhead.sms_overhead` for the MO MESSAGE, its
        responses, the network's MESSAGE carrying the RP-ACK (or RP-ERROR) with the same
        RP message reference, and its responses; a last row "whole transaction" with the
        sums and efficiency_percent [%] (user data / all octets).

    References
    ----------
    3GPP TS 24.341 5.3.1.3 (MO: 202 then the RP-ACK in a MESSAGE from the network, answered
    200); TS 24.011 7.3.1-7.3.3 (RP-DATA, RP-ACK, RP-ERROR share the RP-Message Reference).

    Examples
    --------
    >>> from labkit import data
    >>> t = mo_transaction(data.path("sms_mo_submit"))
    >>> t["message"].tolist()
    ['MESSAGE', '202 Accepted', 'MESSAGE', '200 OK', 'whole transaction']
    >>> int(t.iloc[-1]["total"]), int(t.iloc[-1]["user_data"])  # 1098 + 398 + 826 + 478
    (2800, 1)
    """
    from labkit.capture import as_packets
    from labkit.sip import sip_messages
    from labkit.sms.overhead import sms_overhead
    s = sms_frames(capture, mo_frame)
    if s.mo is None:
        raise LabkitError("no MO RP-DATA MESSAGE", str(s.path.name), "pick a capture with an MO SMS")
    m = s.messages.set_index("frame")
    ref = m.loc[s.mo, "rp_ref"]
    acks = s.messages[(s.messages["direction"] == "MT") & (s.messages["rp_ref"] == ref)
                      & s.messages["rp_type"].isin(["RP-ACK", "RP-ERROR"]) & (s.messages["frame"] > s.mo)]
    sip = sip_messages(as_packets(s.path)).set_index("frame")
    keys = {(sip.loc[f, "call_id"], sip.loc[f, "cseq"]) for f in [s.mo, *acks["frame"].head(1)]}
    wanted = [f for f in sip.index if (sip.loc[f, "call_id"], sip.loc[f, "cseq"]) in keys]
    table = sms_overhead(s.path, frames=wanted)
    total = {c: int(table[c].sum()) for c in [*LAYERS, "total"]}
    total.update(frame="", message="whole transaction", sms="",
                 efficiency_percent=round(efficiency(total["user_data"], total["total"]), 3))
    return pd.concat([table, pd.DataFrame([total])], ignore_index=True)


def sip_header_octets(frame: bytes, linktype: int = 1) -> pd.DataFrame:
    """The SIP octets of one frame, line by line: start line, each header, the empty line.

    Parameters
    ----------
    frame : bytes
        One captured frame carrying a SIP message over UDP.
    linktype : int
        Its pcap LINKTYPE.

    Returns
    -------
    pandas.DataFrame
        line (``"start line"``, the header name as sent, ``"empty line"``), octets (the line
        with its CRLF), percent_of_sip [%]; the octets add up to the SIP start line plus
        header block of :func:`labkit.sms.overhead.frame_layers`.

    References
    ----------
    RFC 3261 section 7 (start line, header fields, CRLF, empty line).

    Examples
    --------
    >>> from labkit import data
    >>> from labkit.capture import iter_frames
    >>> t = sip_header_octets(next(iter_frames(data.path("sms_mo_submit"))).data)
    >>> int(t["octets"].sum()), t.iloc[0]["line"], t.iloc[-1]["line"]   # 68 + 900
    (968, 'start line', 'empty line')
    """
    layers = {l.name: l for l in frame_layers(frame, linktype)}
    if "sip_start_line" not in layers:
        raise LabkitError("no SIP message in this frame", None, "pick a frame carrying SIP")
    start = layers["sip_start_line"].offset
    end = layers["sip_headers"].offset + layers["sip_headers"].length
    block = bytes(frame[start:end])
    lines = block.split(b"\r\n")[:-1]  # the block ends with CRLF CRLF
    rows = []
    for i, line in enumerate(lines):
        name = "start line" if i == 0 else ("empty line" if not line else
                                            line.split(b":", 1)[0].decode("latin-1").strip())
        rows.append({"line": name, "octets": len(line) + 2})
    table = pd.DataFrame(rows)
    table["percent_of_sip"] = (100.0 * table["octets"] / len(block)).round(1)
    return table


def min_sms_header_octets(sc_digits: int, da_digits: int, *, validity_period: bool = True) -> dict:
    """The smallest RP + TP header of an MO SMS-SUBMIT for given address lengths.

    RP-DATA (MS to network): message type, reference, RP-OA length (0), RP-DA length,
    type of number, the SC digits (two per octet), RP-User-Data length: 6 + ceil(sc/2).
    SMS-SUBMIT: first octet, message reference, TP-DA length, type of number, the digits,
    TP-PID, TP-DCS, TP-VP (1 octet, relative format; none when absent), TP-UDL:
    7 + ceil(da/2) + VP.

    Parameters
    ----------
    sc_digits, da_digits : int
        Digits of the service-centre address (RP-DA) and of the recipient (TP-DA).
    validity_period : bool
        Whether a relative TP-VP (1 octet) is sent.

    Returns
    -------
    dict
        rp, tp and total [octets].

    References
    ----------
    3GPP TS 24.011 7.3.1.2 and 8.2.5 (RP-DATA MS to network); TS 23.040 9.2.2.2
    (SMS-SUBMIT) and 9.1.2.5 (address fields, semi-octets).

    Examples
    --------
    >>> min_sms_header_octets(11, 11)                # 6+6, 7+6+1
    {'rp': 12, 'tp': 14, 'total': 26}
    >>> min_sms_header_octets(2, 4, validity_period=False)["total"]   # 16 needs short numbers
    16
    """
    rp = 6 + math.ceil(sc_digits / 2)
    tp = 7 + math.ceil(da_digits / 2) + (1 if validity_period else 0)
    return {"rp": rp, "tp": tp, "total": rp + tp}


def _groups(counts: dict) -> dict:
    return {g: sum(counts.get(c, 0) for c in cols) for g, cols in GROUPS.items()}


def mo_k_rows(rebuilt: tuple, user: tuple | None = None) -> pd.DataFrame:
    """The MO "K" three ways: as published, as rebuilt by labkit, as in the user's capture.

    Parameters
    ----------
    rebuilt : (frame bytes, linktype, how made)
        The bundled rebuilt frame and its provenance text (:func:`labkit.data.provenance`).
    user : (frame bytes, linktype, label), optional
        A frame of the user's own capture.

    Returns
    -------
    pandas.DataFrame
        row ("as published", "rebuilt by labkit", "your capture"), how_made, one column
        per published category (:data:`labkit.sms.overhead.GROUPS`) [octets], total
        [octets], efficiency_percent [%].

    References
    ----------
    The published breakdown :data:`labkit.sms.overhead.QUALCOMM` (828 octets for 1 octet
    of text, a Qualcomm handset on S1-U).

    Examples
    --------
    >>> from labkit import data
    >>> from labkit.capture import iter_frames
    >>> f = next(iter_frames(data.path("sms_mo_submit")))
    >>> t = mo_k_rows((f.data, f.linktype, "synthetic"))
    >>> t[["row", "total"]].values.tolist()
    [['as published', 828], ['rebuilt by labkit', 1098]]
    """
    published = {g: QUALCOMM.get(g, 0) for g in GROUPS}
    rows = [dict(row="as published", how_made="published figure (Qualcomm handset); no capture",
                 **published, total=sum(published.values()))]
    frame, linktype, how = rebuilt
    rows.append(dict(row="rebuilt by labkit", how_made=how,
                     **_groups(layer_table(frame_layers(frame, linktype))), total=len(frame)))
    if user is not None:
        frame, linktype, label = user
        rows.append(dict(row="your capture", how_made=label,
                         **_groups(layer_table(frame_layers(frame, linktype))), total=len(frame)))
    table = pd.DataFrame(rows)
    table["efficiency_percent"] = [round(efficiency(b, t), 3) for b, t in zip(table["body"], table["total"])]
    return table
