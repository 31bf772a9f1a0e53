"""Audio: PCM decoding, levels, tones and cadences, ringback verdicts.

:mod:`~labkit.audio.pcm` decodes AMR/AMR-WB storage (PyAV's libopencore decoders) and G.711
and classifies 20 ms frames; :mod:`~labkit.audio.tones` detects call-progress tones and
their cadence; :mod:`~labkit.audio.ringback` gives per-call, per-direction ringback verdicts.
"""
from labkit.audio.pcm import *  # noqa: F401,F403
from labkit.audio.pcm import __all__ as _pcm_all
from labkit.audio.tones import *  # noqa: F401,F403
from labkit.audio.tones import __all__ as _tones_all
from labkit.audio.ringback import *  # noqa: F401,F403
from labkit.audio.ringback import __all__ as _ringback_all

__all__ = [*_pcm_all, *_tones_all, *_ringback_all, ]
