"""The timeline of each call: when the INVITE left, when progress and the answer came.

Part of the one call model of :mod:`labkit.sip` (with :func:`labkit.sip.sip_calls`, its
outcome): the audio analyses split media into early media and the answered call with
these times, instead of deriving them again.
"""
from __future__ import annotations

__all__ = ["call_progress", "PROGRESS_COLUMNS"]

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

    from labkit.sip.messages import sip_messages
    if isinstance(packets_or_messages, pd.DataFrame):
        msgs = packets_or_messages
    else:
        from labkit.capture import as_packets
        msgs = sip_messages(as_packets(packets_or_messages))
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
