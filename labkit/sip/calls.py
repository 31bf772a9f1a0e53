"""The timeline of each call: when the INVITE left, when progress and the answer came.

Part of the one call model of :mod:`labkit.sip` (with :func:`labkit.sip.sip_calls`, its
outcome): the audio analyses split media into early media and the answered call with
these times, instead of deriving them again. :func:`ringback_signalling` says, response
by response, who is meant to play the ringback tone: the caller's UE (180 without SDP)
or the network in early media (18x with SDP, P-Early-Media).

References
----------
RFC 3261 sections 13.2.2 (provisional and final responses to an INVITE) and 17.1.1
(INVITE client transaction); RFC 3960 sections 2-3 (early media and ringback, the
gateway model); RFC 5009 section 8 (P-Early-Media); 3GPP TS 24.628 clause 4.2 (tones
played by the UE or the network).
"""
from __future__ import annotations

__all__ = ["call_progress", "PROGRESS_COLUMNS", "ringback_signalling", "RINGBACK_SIGNALLING_COLUMNS"]

PROGRESS_COLUMNS = ["call_id", "invite_frame", "invite_time", "caller", "callee",
                    "progress_status", "progress_time", "progress_sdp", "answer_time"]


def call_progress(packets_or_messages) -> "pd.DataFrame":
    """One row per INVITE dialog, in the order of the first INVITEs: its set-up times.

    Parameters
    ----------
    packets_or_messages : path, Packets or pandas.DataFrame
        A capture, its packets, or :func:`labkit.sip.sip_messages` of it.

    Returns
    -------
    pandas.DataFrame
        call_id; invite_frame and invite_time [s since the first frame] of the first
        INVITE; caller and callee ("ip:port" of its sender and receiver);
        progress_status, progress_time: the first 18x to an INVITE carrying SDP (early
        media possible, RFC 3960), else the first 18x (None when none came);
        progress_sdp (bool); answer_time: the first 2xx to an INVITE (None when
        unanswered).

    References
    ----------
    RFC 3261 sections 13.2.2 (provisional and final responses) and 17.1.1; RFC 3960
    (early media and ringback).

    Examples
    --------
    >>> from labkit import data
    >>> p = call_progress(data.path("early_media_ringback"))
    >>> int(p.loc[0, "progress_status"]), bool(p.loc[0, "progress_sdp"])
    (183, True)
    >>> bool(p.loc[0, "answer_time"] > p.loc[0, "progress_time"] > p.loc[0, "invite_time"])
    True
    """
    import pandas as pd  # lazily: the pandas-free command paths import labkit.sip

    from labkit.sip.messages import as_messages
    msgs = as_messages(packets_or_messages)
    if not len(msgs):
        return pd.DataFrame(columns=PROGRESS_COLUMNS)
    invites = msgs[msgs["method"] == "INVITE"].drop_duplicates("call_id")
    return pd.DataFrame([_progress_row(msgs, inv) for _, inv in invites.iterrows()],
                        columns=PROGRESS_COLUMNS)


def _progress_row(msgs, inv) -> dict:
    dialog = msgs[(msgs["call_id"] == inv["call_id"]) & (msgs["cseq_method"] == "INVITE")]
    status = dialog["status"].fillna(0)
    prov = dialog[(status >= 180) & (status < 200)]
    with_sdp = prov[prov["sdp"].notna()]
    first = with_sdp if len(with_sdp) else prov
    ok = dialog[(status >= 200) & (status < 300)]
    return {"call_id": inv["call_id"], "invite_frame": int(inv["frame"]),
            "invite_time": float(inv["time"]), "caller": inv["src"], "callee": inv["dst"],
            "progress_status": int(first.iloc[0]["status"]) if len(first) else None,
            "progress_time": float(first.iloc[0]["time"]) if len(first) else None,
            "progress_sdp": bool(len(with_sdp)),
            "answer_time": float(ok.iloc[0]["time"]) if len(ok) else None}


RINGBACK_SIGNALLING_COLUMNS = ["call_id", "frame", "time", "src", "dst", "status", "sdp",
                               "p_early_media", "who_plays_ringback"]


def ringback_signalling(packets_or_messages) -> "pd.DataFrame":
    """The responses to each INVITE that decide who plays the ringback, hop by hop.

    A 180 Ringing without SDP tells the caller's phone to play its own (local) ringback.
    An 18x with SDP opens early media: the callee side (a media server, a gateway) may
    play the tone in RTP (RFC 3960, gateway model). In IMS the network authorises early
    media with the P-Early-Media header (RFC 5009): ``sendrecv``/``sendonly`` = the UE
    renders the network's early media and plays no local ringback, ``inactive`` /
    ``recvonly`` = not authorised (TS 24.628 clause 4.2: communication progress tones).
    The 2xx ends the question: from then on the call is answered (and charged), a tone is
    no longer ringback.

    Parameters
    ----------
    packets_or_messages : path, Packets or pandas.DataFrame
        A capture, its packets, or :func:`labkit.sip.sip_messages` of it.

    Returns
    -------
    pandas.DataFrame
        One row per 18x and 2xx response to an INVITE, in capture order: call_id, frame,
        time [s since the first frame], src, dst, status, sdp (bool: the response
        carries SDP), p_early_media (the header's value, "" when absent),
        who_plays_ringback (the reading of that response).

    References
    ----------
    RFC 3261 section 13.2.2.1 (18x responses); RFC 3960 sections 2-3 (early media and
    ringback, the gateway model); RFC 5009 section 8 (P-Early-Media values); 3GPP TS
    24.628 clause 4.2 and Annex (tones generated by the UE or the network).

    Examples
    --------
    >>> from labkit import data
    >>> t = ringback_signalling(data.path("early_media_ringback"))
    >>> [(int(r.status), r.sdp) for r in t.itertuples() if r.dst == "10.0.0.1"]
    [(180, False), (183, True), (200, True)]
    >>> t["who_plays_ringback"].iloc[-1]
    'answered: from here a tone is after answer, not ringback'
    """
    import pandas as pd

    from labkit.sip.messages import as_messages
    msgs = as_messages(packets_or_messages)
    if not len(msgs):
        return pd.DataFrame(columns=RINGBACK_SIGNALLING_COLUMNS)
    status = msgs["status"].fillna(0).astype(int)
    rows = msgs[(msgs["cseq_method"] == "INVITE") & (status >= 180) & (status < 300)]
    return pd.DataFrame([_signalling_row(r) for r in rows.itertuples()],
                        columns=RINGBACK_SIGNALLING_COLUMNS)


def _signalling_row(r) -> dict:
    sdp = isinstance(r.sdp, str) and bool(r.sdp.strip())
    pem = ", ".join(v for n, v in (r.headers or ()) if n == "p-early-media")
    return {"call_id": r.call_id, "frame": int(r.frame), "time": float(r.time), "src": r.src,
            "dst": r.dst, "status": int(r.status), "sdp": sdp, "p_early_media": pem,
            "who_plays_ringback": _who_plays(int(r.status), sdp, pem.lower())}


def _who_plays(status: int, sdp: bool, pem: str) -> str:
    """The reading of one response (RFC 3960, RFC 5009, TS 24.628 4.2)."""
    if status >= 200:
        return "answered: from here a tone is after answer, not ringback"
    if not sdp:
        return "the caller's phone plays its local ringback (no SDP: no early media)"
    if "sendrecv" in pem or "sendonly" in pem:
        return "the network plays it as early media (authorised by P-Early-Media)"
    if "inactive" in pem or "recvonly" in pem:
        return "early media not authorised (P-Early-Media): the phone plays local ringback"
    return ("early media offered (SDP, no P-Early-Media): the caller hears what the callee "
            "side sends in RTP, if anything")
