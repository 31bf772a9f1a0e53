"""Is it the network or the host? Delay variation, stalls, bursts, jitter buffers, E-model.

On top of the Wireshark-identical per-packet numbers of :mod:`labkit.rtp` (delta, jitter,
skew): :mod:`~labkit.quality.delay` (transit delay, PDV/IPDV per RFC 5481, stalls and the
bursts after them), :mod:`~labkit.quality.bursts` (RFC 3611 burst/gap metrics, burst
ratio), :mod:`~labkit.quality.jbuf` (fixed and adaptive jitter-buffer simulations),
:mod:`~labkit.quality.emodel` (ITU-T G.107 R and MOS), :mod:`~labkit.quality.hostnet`
(stall onsets correlated across streams and across a relay's ingress/egress captures)
and :mod:`~labkit.quality.analysis` (all of it for one or two captures: the verdict).
"""
from labkit.quality.analysis import *  # noqa: F401,F403
from labkit.quality.analysis import __all__ as _analysis_all

__all__ = [*_analysis_all]
