"""What is in a capture, and which notebook answers the next question.

The first look a newcomer takes (notebook 00, ``labkit overview FILE``): frames, UDP/TCP,
the RTP streams with Wireshark's statistics (:func:`labkit.rtp.rtp_streams`), the SIP
calls (:func:`labkit.sip.sip_calls`), SMS over IMS messages, and from what was found a
short list of next steps pointing at the notebook that goes deeper.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from labkit import rtp, sip
from labkit.capture import as_packets

__all__ = ["Overview", "Notebook", "overview", "next_steps", "summary_sentence", "notebook_map", "NOTEBOOKS"]

SMS_CONTENT_TYPE = "application/vnd.3gpp.sms"  # 3GPP TS 24.341 clause 7.3.1
AMR_NAMES = {"AMR", "AMR-WB", "EVS"}

@dataclass(frozen=True)
class Notebook:
    """One notebook of the suite: its file, the question it answers, its bundled capture."""

    file: str
    question: str
    capture: str        # labkit.data name of the capture it opens by default


# The suite in the order a trainee goes (00_start_here shows it as the map).
NOTEBOOKS = {
    "01": Notebook("01_ringback_amr_playback.ipynb",
                   "Was there ringback in that AMR stream? Hear it, see it", "early_media_ringback"),
    "02": Notebook("02_sms_over_ip_overhead.ipynb",
                   "How many of the bytes of an SMS over IMS are the message?", "sms_mo_submit"),
    "03": Notebook("03_iphone_mt_sms_rp_da.ipynb",
                   "Why does the iPhone accept an MT SMS and never show it?", "sms_mt_rpda_iphone"),
    "04": Notebook("04_codec_negotiation.ipynb",
                   "What did each call negotiate, and why did one fail (488)?", "codec_mismatch_488"),
    "05": Notebook("05_jitter_on_virtualised_hosts.ipynb",
                   "Choppy calls on a relay: is it the network or the host?", "jitter_host_egress"),
    "06": Notebook("06_call_flow_ladder.ipynb",
                   "What happened hop by hop, and why the 420 Bad Extension?", "flow_sec_agree_420"),
    "07": Notebook("07_ussd_over_ims.ipynb",
                   "Why does the UE answer my USSD gateway with 405?", "ussd_seed_405"),
    "08": Notebook("08_register_digest_auth.ipynb",
                   "Why was the REGISTER rejected (digest auth)?", "register_baresip_wrong_password"),
    "09": Notebook("09_ifc_which_as.ipynb",
                   "Which application server gets this request (iFC)?", "ifc_requests"),
    "10": Notebook("10_homer_and_hep.ipynb",
                   "How do I get the call out of HOMER or HEP into a capture?", "hep_kamailio"),
    "11": Notebook("11_kamailio_metrics.ipynb",
                   "What did Kamailio count while this capture ran?", "kamailio_burst"),
    "12": Notebook("12_freeswitch_bridge_timers.ipynb",
                   "Which FreeSWITCH bridge timer fired, and what to change?", "timers_progress_timeout"),
    "13": Notebook("13_rating_precision.ipynb",
                   "Did the rating database round my rates?", "rating_rates"),
    "14": Notebook("14_fleet_bad_calls.ipynb",
                   "Which calls were bad today (a fleet of captures)?", "relay_stall"),
}


@dataclass(frozen=True)
class Overview:
    """Contents of one capture.

    Attributes
    ----------
    path : Path
    n_frames : int
        Every frame in the file.
    duration_s : float
        Last minus first frame time of the rows found [s].
    n_udp, n_tcp : int
        UDP datagrams and TCP segments (innermost, after tunnels).
    tunnelled : int
        Rows that came out of a GTP-U tunnel.
    streams : pandas.DataFrame
        :func:`labkit.rtp.rtp_streams` (Wireshark's ``rtp,streams`` table).
    calls : pandas.DataFrame
        :func:`labkit.sip.sip_calls`, one row per Call-ID.
    messages : pandas.DataFrame
        :func:`labkit.sip.sip_messages`, one row per SIP message (``time`` in [s] since
        the first frame).
    n_sms : int
        SIP MESSAGEs carrying ``application/vnd.3gpp.sms``.
    first_time_ns : int
        Time of the first frame [ns since the epoch]: the zero of ``messages.time`` and
        of the streams' start and end.
    """

    path: Path
    n_frames: int
    duration_s: float
    n_udp: int
    n_tcp: int
    tunnelled: int
    streams: pd.DataFrame
    calls: pd.DataFrame
    messages: pd.DataFrame
    n_sms: int
    first_time_ns: int = 0


def overview(capture, *, clock_rates=None, chunk_packets: int | None = None,
             progress=None) -> Overview:
    """Read `capture` (path or :class:`~labkit.capture.Packets`) and summarise it.

    Parameters
    ----------
    capture : str, Path or Packets
    clock_rates : dict, optional
        Passed to :func:`labkit.rtp.rtp_streams` (e.g. ``{96: "AMR-WB"}``).
    chunk_packets : int, optional
        A file is read this many frames at a time [frames], in bounded memory
        (:mod:`labkit.rtp.scan`; default its ``CHUNK_PACKETS``); the result is the same
        as for its Packets.
    progress : bool or None
        Progress bar over a file (as :func:`labkit.capture.read_capture`).

    Returns
    -------
    Overview
        Frames, datagrams, duration [s], RTP streams, SIP calls and messages.

    References
    ----------
    Wireshark 4.0 ``tshark -q -z rtp,streams`` (the streams table); RFC 3261 (calls);
    3GPP TS 24.341 clause 7.3.1 (the SMS content type counted).

    Examples
    --------
    >>> from labkit import data
    >>> ov = overview(data.path("ringback_amrwb"))
    >>> ov.n_frames, len(ov.streams), len(ov.calls)
    (1116, 2, 1)
    """
    if isinstance(capture, (str, Path)):
        return _overview_of_file(Path(capture), clock_rates, chunk_packets, progress)
    pk = as_packets(capture)
    messages = sip.sip_messages(pk)
    t = pk.time_ns
    duration = float(t.max() - t.min()) / 1e9 if len(pk) else 0.0
    return _result(Path(pk.path), int(pk.n_frames), duration,
                   int(np.count_nonzero(pk.proto == 17)), int(np.count_nonzero(pk.proto == 6)),
                   int(np.count_nonzero(pk.teid >= 0)),
                   rtp.rtp_streams(pk, clock_rates=clock_rates), messages, pk.first_time_ns)


def _result(path, n_frames, duration, n_udp, n_tcp, tunnelled, streams, messages,
            first_time_ns) -> Overview:
    n_sms = int((messages["content_type"].fillna("").str.lower() == SMS_CONTENT_TYPE).sum()) if len(messages) else 0
    return Overview(path=path, n_frames=n_frames, duration_s=duration, n_udp=n_udp,
                    n_tcp=n_tcp, tunnelled=tunnelled, streams=streams,
                    calls=sip.sip_calls(messages), messages=messages, n_sms=n_sms,
                    first_time_ns=int(first_time_ns or 0))


def _overview_of_file(path: Path, clock_rates, chunk_packets: int, progress) -> Overview:
    """:func:`overview` of a file read in chunks, in one pass (bounded memory: see
    :mod:`labkit.rtp.scan`; SIP messages are kept, RTP is summed per stream)."""
    from labkit.capture import iter_capture
    from labkit.rtp.scan import CHUNK_PACKETS, StreamScan

    chunk_packets = chunk_packets or CHUNK_PACKETS
    scan = StreamScan(clock_rates=clock_rates)
    n_udp = n_tcp = tunnelled = n_frames = first_ns = 0
    t_min = t_max = None
    rows, tcp_state = [], {}
    try:
        for pk in iter_capture(path, chunk_packets=chunk_packets, progress=progress,
                               read_ahead=True):
            n_frames, first_ns = int(pk.n_frames), pk.first_time_ns
            if len(pk):
                t = pk.time_ns
                lo, hi = int(t.min()), int(t.max())
                t_min = lo if t_min is None else min(t_min, lo)
                t_max = hi if t_max is None else max(t_max, hi)
            n_udp += int(np.count_nonzero(pk.proto == 17))
            n_tcp += int(np.count_nonzero(pk.proto == 6))
            tunnelled += int(np.count_nonzero(pk.teid >= 0))
            rows += sip.sip_message_rows(pk, tcp_state)
            scan.add(pk)
            del pk
        table = scan.table()
    finally:
        scan.close()
    messages = sip.sip_messages(rows)
    streams = rtp.streams_frame(table)
    duration = (t_max - t_min) / 1e9 if t_min is not None else 0.0
    return _result(path, n_frames, duration, n_udp, n_tcp, tunnelled, streams, messages,
                   first_ns)


def _failed_calls(ov: Overview) -> pd.DataFrame:
    calls = ov.calls
    if calls.empty:
        return calls
    status = pd.to_numeric(calls["final_status"], errors="coerce")
    return calls[status >= 400]


def next_steps(ov: Overview) -> pd.DataFrame:
    """Which notebook to open next, and why, from what the capture holds.

    Parameters
    ----------
    ov : Overview
        What :func:`overview` found.

    Returns
    -------
    pandas.DataFrame
        Columns ``notebook``, ``question``, ``because``; one row per suggestion, in
        notebook order. Empty when nothing specific was found.

    References
    ----------
    :data:`NOTEBOOKS`, the suite's one list of notebooks.

    Examples
    --------
    >>> from labkit import data
    >>> next_steps(overview(data.path("codec_mismatch_488")))["notebook"].tolist()
    ['04_codec_negotiation.ipynb']
    """
    rows = []
    codecs = set(ov.streams["codec"].dropna()) if len(ov.streams) else set()
    amr = sorted(codecs & AMR_NAMES)
    if amr:
        rows.append(("01", f"{len(ov.streams)} RTP streams, codecs {', '.join(amr)}"))
    if ov.n_sms:
        rows.append(("02", f"{ov.n_sms} SIP MESSAGE(s) with {SMS_CONTENT_TYPE}"))
        rows.append(("03", "decode RP/TP of every SMS and run the delivery checks"))
    failed = _failed_calls(ov)
    if len(failed):
        codes = ", ".join(str(int(s)) for s in sorted(set(failed["final_status"].astype(int))))
        rows.append(("04", f"{len(failed)} call(s) failed with SIP {codes}"))
    elif len(ov.calls):
        rows.append(("04", f"{len(ov.calls)} call(s): check what each offer/answer negotiated"))
    return pd.DataFrame([{"notebook": NOTEBOOKS[n].file, "question": NOTEBOOKS[n].question, "because": why}
                         for n, why in rows], columns=["notebook", "question", "because"])


def summary_sentence(ov: Overview) -> str:
    """One sentence: calls, streams (codecs, loss, problems), SMS; e.g. for a notebook's end.

    Parameters
    ----------
    ov : Overview

    Returns
    -------
    str

    References
    ----------
    Loss counts as Wireshark 4.0's ``rtp,streams`` (negative values, from duplicates,
    count as 0 here).

    Examples
    --------
    >>> from labkit import data
    >>> summary_sentence(overview(data.path("codec_mismatch_488")))
    'codec_mismatch_488.pcap: ... 1 SIP call(s), 0 answered; no RTP.'
    """
    parts = [f"{ov.path.name}: {ov.n_frames} frames over {ov.duration_s:.1f} s"]
    if len(ov.calls):
        answered = int(ov.calls["answered"].fillna(False).astype(bool).sum())
        parts.append(f"{len(ov.calls)} SIP call(s), {answered} answered")
    if len(ov.streams):
        s = ov.streams
        codecs = ", ".join(sorted(set(s["payloads"].astype(str))))
        lost = int(s["lost"].clip(lower=0).sum())
        flagged = int(s["problem"].sum())
        parts.append(f"{len(s)} RTP stream(s) ({codecs}), {lost} packet(s) lost, "
                     f"{flagged} stream(s) with sequence/timestamp problems")
    else:
        parts.append("no RTP")
    if ov.n_sms:
        parts.append(f"{ov.n_sms} SMS over IMS message(s)")
    return "; ".join(parts) + "."


def notebook_map() -> pd.DataFrame:
    """The suite as a trainee's map: each notebook, its question, its bundled capture.

    Returns
    -------
    pandas.DataFrame
        Columns ``step`` (the order to take them), ``notebook``, ``question``,
        ``bundled capture`` (the labkit.data name it opens when CAPTURE is None).

    References
    ----------
    DESIGN.md (the suite); each notebook's parameters cell opens the capture named here.

    Examples
    --------
    >>> notebook_map().loc[0, "bundled capture"]
    'early_media_ringback'
    """
    return pd.DataFrame([{"step": i, "notebook": nb.file[:-len(".ipynb")], "question": nb.question,
                          "bundled capture": nb.capture}
                         for i, nb in enumerate(NOTEBOOKS.values(), start=1)])
