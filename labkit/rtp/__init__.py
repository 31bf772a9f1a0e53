"""RTP streams and Wireshark-identical statistics.

:func:`find_rtp` finds RTP the way Wireshark 4.0 does (SDP, the rtp_udp heuristic, ports
claimed by other dissectors: :mod:`~labkit.rtp.detect`); :func:`rtp_streams` computes the
``tshark -z rtp,streams`` table (arithmetic in :mod:`~labkit.rtp.stats`, following
Wireshark's ui/tap-rtp-analysis.c); :func:`stream_timing` gives per-packet delta, jitter and
skew as sharkd's rtp-analyse; :func:`scan_streams` gives the table of a capture of any
size in bounded memory (:mod:`~labkit.rtp.scan`).
"""
from labkit.rtp.streams import *  # noqa: F401,F403
from labkit.rtp.streams import __all__ as _streams_all
from labkit.rtp.calls import *  # noqa: F401,F403
from labkit.rtp.calls import __all__ as _calls_all
from labkit.rtp.scan import scan_streams  # noqa: F401

__all__ = [*_streams_all, *_calls_all, "scan_streams"]
