"""Which SIP call each RTP stream belongs to: the call whose SDP announced its address.

RFC 3264 section 5: an SDP offer or answer says where its sender wants to *receive*
media (``c=`` address and ``m=`` port), so a stream belongs to the call whose SDP
announced its destination; a sender that also announced its source (symmetric RTP,
RFC 4961) is matched as well. When several calls reuse an address and port, the last SDP
sent before the stream's first packet wins.
"""
from __future__ import annotations

__all__ = ["stream_calls"]


def stream_calls(streams, sdp_rows):
    """The Call-ID of each stream of :func:`labkit.rtp.rtp_streams`.

    Parameters
    ----------
    streams : pandas.DataFrame
        :func:`labkit.rtp.rtp_streams` (``start`` [s since the first frame], src,
        sport, dst, dport).
    sdp_rows : pandas.DataFrame
        :func:`labkit.sip.sdp_media` of the same capture (``time`` [s since the same
        first frame], call_id, address, port).

    Returns
    -------
    list of str or None
        One Call-ID per stream row, None when no SDP announced either end.

    References
    ----------
    RFC 3264 section 5 (the SDP gives the address to receive on); RFC 4961
    (symmetric RTP: the same address sends).

    Examples
    --------
    >>> from labkit import data, rtp, sip
    >>> from labkit.capture import as_packets
    >>> pk = as_packets(data.path("relay_rtpengine"))   # one call, two legs via rtpengine
    >>> set(stream_calls(rtp.rtp_streams(pk), sip.sdp_media(sip.sip_messages(pk))))
    {'ee8cc3d9ce581e64'}
    """
    if sdp_rows is None or not len(sdp_rows):
        return [None] * len(streams)
    rows = sdp_rows.sort_values(["time", "frame"], kind="stable")
    last: dict = {}
    for r in rows.itertuples():
        last.setdefault((str(r.address), int(r.port)), []).append((float(r.time), r.call_id))
    return [_call_at(last, s) for s in streams.itertuples()]


def _call_at(announced: dict, s):
    for end in ((str(s.dst), int(s.dport)), (str(s.src), int(s.sport))):
        calls = [c for t, c in announced.get(end, ()) if t <= float(s.start)]
        if calls:
            return calls[-1]
        if end in announced:                      # SDP came after the first packet
            return announced[end][0][1]
    return None
