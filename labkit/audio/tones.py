"""Call-progress tones: a table of ringback plans, a detector and a cadence matcher.

The question this module answers: "is there a ringback tone in this audio, which one,
how loud, and when?". It works on int16 PCM at any rate (8 kHz AMR, 16 kHz AMR-WB).

Method
------
1. The audio is cut into 20 ms frames (the AMR frame length, 3GPP TS 26.101 / 26.201).
   A frame is a tone *candidate* when at least `BAND_RATIO` of its energy lies in the
   ringback band 250-650 Hz (every plan below has all its spectral lines in 384-480 Hz;
   a 20 ms Hann window leaks about +/-100 Hz) and its level is above `MIN_TONE_DBFS`.
2. Candidate frames are joined into runs (gaps up to 100 ms, e.g. lost AMR frames, are
   bridged). Each run is then checked on its whole length with one FFT of 1 Hz or finer
   resolution (Goertzel-like narrow-band energy): a real tone puts at least
   `LINE_RATIO` of the run's energy within +/-6 Hz of at most three spectral lines,
   at least `MIN_LINE_GAP` apart, and lasts `MIN_RUN_S` (shorter only where the audio
   starts or ends). Speech, whose pitch moves, does not: on a real AMR capture its
   longest stable vowels reach line ratios of 0.60-0.87 with lines 3-6 Hz apart, while
   every plan through every AMR mode tested gives 0.95 or more with lines 16 Hz or
   more apart. The lines found are the tone's frequencies.
3. The on/off durations of the runs are compared with each plan's cadence (any phase;
   a run cut by the start or end of the audio only has to be shorter than expected),
   with tolerance `max(0.1 s, 15 %)`; among plans whose cadence fits, the one whose
   frequencies fit best wins (UK and Australia share their cadence and differ only by
   Australia's 425 Hz carrier).

Levels are in dBFS relative to a full-scale sine (AES17): a sine of peak 32767 is
0 dBFS, so ``level = 20 log10(rms * sqrt(2) / 32768)``. Tone specifications give levels
in dBm0 (power relative to the 0 dBm0 reference point of a digital link).
:func:`dbfs_to_dbm0` converts with the G.711 relation: the decoder's full-scale sine (its
theoretical load capacity) is +3.14 dBm0 for A-law and +3.17 dBm0 for mu-law, so
0 dBm0 = -3.14 dBFS (A-law) / -3.17 dBFS (mu-law, relative to mu-law's own full scale,
8159 of 8192 steps; on labkit's 16-bit scale, where 0 dBFS is a peak of 32768, that is
-3.21 dBFS). Checked: G.711's digital milliwatt (Tables 5 and 6, 0 dBm0 by definition)
decodes to -3.14 / -3.21 dBFS here. AMR and AMR-WB decode to the same 16-bit linear
scale; the A-law relation is used for them (the usual convention, e.g. in G.168).

References
----------
Each plan says where its figures come from (:attr:`TonePlan.standard`). The European
plan is not a national plan: it is the CEPT harmonised ringing tone, 425 Hz 1 s on /
4 s off, ETSI ES 201 970 (harmonised tones at the analogue network termination point;
ETSI TR 101 041-2 lists it with the national tones), which most European networks and
GSM/IMS handsets use. The others are national entries of ITU-T E.180 Supplement 2.

ITU-T Recommendation G.711 (11/1988) section 5 (0 dBm0 reference, load capacity +3.14 /
+3.17 dBm0) and G.168 (test signal levels in dBm0).

ITU-T Recommendation E.180 (03/1998) "Technical characteristics of tones for the
telephone service" and its Supplement 2 "Various tones used in national networks"
(published as an annex to the ITU Operational Bulletin, list per country: frequency in
Hz, ``a+b`` = two tones added, ``a*b`` = tone a modulated by b Hz, cadence in seconds).

How the table was checked: the ITU PDF itself could not be read from here; the values
were compared with transcriptions that state they copy Supplement 2: the Zaptel /
Asterisk tone-zone table ("This information from ITU E.180 Supplement 2": US
440+480 2.0/4.0, UK 400+450 0.4/0.2/0.4/2.0, Netherlands 425 1.0/4.0; Australia there
is the older 400 Hz modulated by 17 Hz with the same cadence), Asterisk's
indications.conf (Japan 400 Hz modulated by 15-16 Hz, 1.0/2.0) and a per-country
listing in the Supplement's format (Germany "Ringing tone I 425 1.0 on 4.0 off").
The Australian plan is today's 425 Hz modulated by 25 Hz (lines 400/425/450 Hz); the
older 400 Hz modulated by 17 Hz is its own entry (``australia_400x17``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from labkit.errors import LabkitError

__all__ = ["classify_pcm_frames", "SILENCE_DBFS", "SPEECH_DBFS", "TonePlan", "TONE_PLANS", "RingbackResult", "ToneRun", "tone_plan", "level_dbfs",
           "frame_levels", "band_ratios", "goertzel_power", "tone_runs", "match_cadence",
           "match_plan", "detect_ringback", "dtx_frames", "lost_frames", "observed_cadence", "synthesize_tone", "FRAME_S",
           "dbfs_to_dbm0", "G711_FULL_SCALE_DBM0"]

FRAME_S = 0.020          # [s] analysis frame = one AMR frame
BAND = (250.0, 650.0)    # [Hz] ringback band incl. window leakage
BAND_RATIO = 0.80        # min. fraction of frame energy in BAND for a tone candidate
MIN_TONE_DBFS = -60.0    # [dBFS] quieter frames are never tone
LINE_RATIO = 0.85        # min. fraction of a run's energy in its spectral lines
MIN_LINE_GAP = 12.0      # [Hz] lines closer than this are a wobbling pitch, not a tone
MIN_RUN_S = 0.25         # [s] shorter runs are ignored (every plan's bursts are >= 0.4 s)
MIN_EDGE_RUN_S = 0.10    # [s] ... except runs cut by the start or end of the audio
BRIDGE_S = 0.100         # [s] gaps up to this inside a run are bridged (lost frames)
FULL_SCALE = 32768.0
SILENCE_DBFS = -66.0   # [dBFS] frames below: digital silence (about +/-1 LSB noise)
SPEECH_DBFS = -45.0    # [dBFS] frames above that vary in level: speech


@dataclass(frozen=True)
class TonePlan:
    """One national ringing-tone ("ringback") plan.

    Attributes
    ----------
    key : str
        Short name used in parameters ("europe", "uk", ...).
    name : str
        Human name ("Europe (CEPT)").
    frequencies : tuple of float
        Spectral lines expected [Hz] (for a modulated tone: carrier and side bands).
    cadence : tuple of float
        On, off, on, off, ... durations of one period [s].
    notation : str
        The plan as written in E.180 Supplement 2 ("425", "400+450", "400*16").
    source : str
        Where the figures come from, in full.
    standard : str
        The document that defines the plan, in short ("ETSI ES 201 970 (CEPT)",
        "ITU-T E.180 Suppl. 2: United Kingdom").

    References
    ----------
    ITU-T E.180 Supplement 2 (national ringing tones); ETSI ES 201 970.

    Examples
    --------
    >>> p = TONE_PLANS["japan"]
    >>> p.notation, p.frequencies, p.cadence   # 400 Hz modulated by 16 Hz: 384/400/416
    ('400*16', (384.0, 400.0, 416.0), (1.0, 2.0))
    """

    key: str
    name: str
    frequencies: tuple[float, ...]
    cadence: tuple[float, ...]
    notation: str
    source: str
    standard: str = ""

    @property
    def label(self) -> str:
        """E.g. ``"Europe 425 Hz 1.0/4.0 s"``: name, notation [Hz], cadence [s]."""
        cad = "/".join(f"{c:.1f}" for c in self.cadence)
        return f"{self.name} {self.notation} Hz {cad} s"


_E180 = "ITU-T E.180 Supplement 2, Various tones used in national networks"
TONE_PLANS: dict[str, TonePlan] = {p.key: p for p in [
    TonePlan("europe", "Europe", (425.0,), (1.0, 4.0), "425",
             "CEPT harmonised ringing tone, ETSI ES 201 970 (425 Hz, 1.0 on 4.0 off); listed "
             "in ETSI TR 101 041-2 and, per country, in E.180 Supplement 2 (e.g. Germany "
             "'Ringing tone I: 425, 1.0 on 4.0 off')", "ETSI ES 201 970 (CEPT harmonised)"),
    TonePlan("uk", "UK", (400.0, 450.0), (0.4, 0.2, 0.4, 2.0), "400+450",
             f"{_E180} (United Kingdom: 400+450, 0.4-0.2-0.4-2.0); BT SIN 350",
             "ITU-T E.180 Suppl. 2: United Kingdom"),
    TonePlan("north_america", "North America", (440.0, 480.0), (2.0, 4.0), "440+480",
             f"{_E180} (United States/Canada: 440+480, 2.0 on 4.0 off)",
             "ITU-T E.180 Suppl. 2: United States, Canada"),
    TonePlan("australia", "Australia", (400.0, 425.0, 450.0), (0.4, 0.2, 0.4, 2.0), "425*25",
             f"{_E180} (Australia: 400+425/450 i.e. 425 Hz modulated by 25 Hz, "
             "0.4-0.2-0.4-2.0)", "ITU-T E.180 Suppl. 2: Australia"),
    TonePlan("australia_400x17", "Australia (older)", (383.0, 400.0, 417.0),
             (0.4, 0.2, 0.4, 2.0), "400*17",
             f"{_E180} as transcribed in the Zaptel/Asterisk tone zones (Australia: 400 Hz "
             "modulated by 17 Hz, 0.4-0.2-0.4-2.0)",
             "ITU-T E.180 Suppl. 2 via Zaptel/Asterisk: Australia (older)"),
    TonePlan("japan", "Japan", (384.0, 400.0, 416.0), (1.0, 2.0), "400*16",
             f"{_E180} (Japan: 400 Hz modulated by 16 Hz, 1.0 on 2.0 off)",
             "ITU-T E.180 Suppl. 2: Japan"),
]}


def tone_plan(key: str | TonePlan) -> TonePlan:
    """The plan called `key` (a key of :data:`TONE_PLANS`, or a TonePlan itself).

    Parameters
    ----------
    key : str or TonePlan
        A key of :data:`TONE_PLANS` (case, spaces and hyphens ignored:
        "North America" = "north_america").

    Returns
    -------
    TonePlan

    Raises
    ------
    LabkitError
        For an unknown key (the message lists the known ones).

    References
    ----------
    ITU-T E.180 Supplement 2 (national ringing tones); ETSI ES 201 970 (the CEPT
    harmonised 425 Hz 1 s / 4 s tone).

    Examples
    --------
    >>> p = tone_plan("North America")
    >>> p.frequencies, p.cadence, p.standard
    ((440.0, 480.0), (2.0, 4.0), 'ITU-T E.180 Suppl. 2: United States, Canada')
    >>> tone_plan("uk").label
    'UK 400+450 Hz 0.4/0.2/0.4/2.0 s'
    """
    if isinstance(key, TonePlan):
        return key
    try:
        return TONE_PLANS[str(key).lower().replace(" ", "_").replace("-", "_")]
    except KeyError:
        raise LabkitError(f"unknown tone plan {key!r}", None,
                          f"use one of: {', '.join(TONE_PLANS)}") from None


@dataclass(frozen=True)
class ToneRun:
    """One stretch of tone: start/end [s], spectral lines [Hz], level [dBFS].

    Attributes
    ----------
    start, end : float
        [s] from the start of the audio, multiples of 20 ms.
    frequencies : tuple of float
        Spectral lines [Hz], rounded to 1 Hz.
    level : float
        RMS level of the run [dBFS].

    References
    ----------
    ITU-T E.180 Supplement 2 (tone frequencies and bursts).

    Examples
    --------
    >>> round(ToneRun(5.0, 6.02, (425.0,), -12.5).duration, 2)
    1.02
    """

    start: float
    end: float
    frequencies: tuple[float, ...]
    level: float

    @property
    def duration(self) -> float:
        """[s]"""
        return self.end - self.start


@dataclass(frozen=True)
class RingbackResult:
    """What :func:`detect_ringback` found in one stretch of audio.

    Attributes
    ----------
    verdict : str
        "ringback", "tone" (a tone whose cadence fits no plan), "speech",
        "comfort noise only", "digital silence" or "no audio".
    plan : TonePlan or None
        The ringback plan matched.
    frequencies : tuple of float
        Spectral lines of the tone [Hz] (median over runs, rounded to 1 Hz).
    cadence : tuple of float
        Observed on/off durations of the first complete period [s].
    level : float
        Tone level [dBFS], NaN without tone.
    time_range : tuple of float
        (start, end) [s] of the tone, or of the audio for other verdicts.
    segments : tuple of ToneRun
        Every tone run found.
    duration : float
        Length of the audio [s].
    detail : str
        One sentence for people.

    References
    ----------
    ITU-T E.180 Supplement 2 and ETSI ES 201 970 (plans); 3GPP TS 26.093 / 26.193
    (comfort noise).

    Examples
    --------
    >>> r = detect_ringback(synthesize_tone("north_america", 8000, 13.0), 8000)
    >>> r.verdict, r.plan.key, r.frequencies, r.cadence, r.level
    ('ringback', 'north_america', (440.0, 480.0), (2.0, 4.0), -10.0)
    >>> r.describe(offset=12.5)
    'ringback tone present, North America 440+480 Hz 2.0/4.0 s, -10.0 dBFS, 12.5-25.5 s'
    """

    verdict: str
    plan: TonePlan | None
    frequencies: tuple[float, ...]
    cadence: tuple[float, ...]
    level: float
    time_range: tuple[float, float]
    segments: tuple[ToneRun, ...] = field(default=())
    duration: float = 0.0
    detail: str = ""

    @property
    def segments_duration(self) -> float:
        """Total length of the tone runs [s]."""
        return float(sum(r.duration for r in self.segments))

    @property
    def summary(self) -> str:
        """One line: ``"ringback tone present, Europe 425 Hz 1.0/4.0 s, -10.3 dBFS, 0.0-9.8 s"``.

        Examples
        --------
        >>> print(detect_ringback(synthesize_tone("europe", 8000, 6.0), 8000).summary)
        ringback tone present, Europe 425 Hz 1.0/4.0 s, -10.0 dBFS, 0.0-6.0 s
        """
        return self.describe()

    def describe(self, offset: float = 0.0) -> str:
        """:attr:`summary` with times shifted by `offset` [s] (e.g. to capture time).

        Parameters
        ----------
        offset : float
            Added to both ends of :attr:`time_range` [s].

        Returns
        -------
        str
        """
        t0, t1 = self.time_range[0] + offset, self.time_range[1] + offset
        if self.verdict == "ringback":
            return (f"ringback tone present, {self.plan.label}, {self.level:.1f} dBFS, "
                    f"{t0:.1f}-{t1:.1f} s")
        if self.verdict == "tone":
            freqs = "+".join(f"{f:.0f}" for f in self.frequencies)
            return f"tone {freqs} Hz (no ringback cadence), {self.level:.1f} dBFS, {t0:.1f}-{t1:.1f} s"
        if self.verdict == "no audio":
            return self.verdict
        return f"{self.verdict}, {t0:.1f}-{t1:.1f} s"


#: Level [dBm0] of a sine at 0 dBFS (peak 32768), per law: G.711 section 5's load
#: capacity, +3.14 dBm0 (A-law, full scale 4096 of 4096) and +3.17 dBm0 (mu-law, full
#: scale 8159 of 8192 steps: + 20 log10(8192/8159) = +0.035 dB on a 32768 scale).
G711_FULL_SCALE_DBM0 = {"A": 3.14, "mu": 3.17 + 20 * float(np.log10(8192 / 8159))}


def dbfs_to_dbm0(level: float, law: str = "A") -> float:
    """A level in dBFS (full-scale sine = 0) as dBm0, by G.711's full-scale relation.

    Parameters
    ----------
    level : float
        Level [dBFS].
    law : {"A", "mu"}
        G.711 law whose load capacity defines the scale: A-law (PCMA, and the convention
        for AMR/AMR-WB PCM) or mu-law (PCMU).

    Returns
    -------
    float
        Level [dBm0] = `level` + 3.14 (A-law) or + 3.205 (mu-law: 3.17 dBm0 at mu-law's
        full scale, which is 0.035 dB below a 32768 peak).

    References
    ----------
    ITU-T G.711 (11/1988) section 5: the digital milliwatt is 0 dBm0, the theoretical
    load capacity (full-scale sine) +3.14 dBm0 for A-law and +3.17 dBm0 for mu-law.

    Examples
    --------
    >>> round(dbfs_to_dbm0(-10.0), 2), round(dbfs_to_dbm0(-10.0, "mu"), 2)
    (-6.86, -6.79)
    >>> round(dbfs_to_dbm0(-3.14), 2)  # 0 dBm0 is -3.14 dBFS in A-law
    0.0
    """
    key = {"a": "A", "pcma": "A", "amr": "A", "mu": "mu", "u": "mu", "pcmu": "mu"}.get(str(law).lower())
    if key is None:
        raise LabkitError(f"unknown G.711 law {law!r}", None, "use 'A' or 'mu'")
    return float(level) + G711_FULL_SCALE_DBM0[key]


def level_dbfs(pcm: np.ndarray) -> float:
    """RMS level of `pcm` [dBFS, full-scale sine = 0]; -inf for silence or empty input.

    Parameters
    ----------
    pcm : array_like
        Samples in int16 scale.

    Returns
    -------
    float
        ``20 log10(rms * sqrt(2) / 32768)`` [dBFS].

    References
    ----------
    AES17 (dBFS relative to a full-scale sine); ITU-T G.711 section 5 for the relation
    to dBm0 (:func:`dbfs_to_dbm0`).

    Examples
    --------
    A full-scale sine is 0 dBFS (20 log10(32767 / 32768) = -0.0003 dB):

    >>> import numpy as np
    >>> round(float(level_dbfs(32767 * np.sin(2 * np.pi * 1000 * np.arange(8000) / 8000))), 4)
    -0.0003

    The bundled reference file ``synth_amrnb_oa_ringback_ref`` is a real AMR 12.2
    encoding (opencore-amr) of the Europe ringback that tools/synth/amr_codec.py wrote:
    425 Hz at -12 dBFS, 1 s on / 4 s off, 11 s (bursts at 0-1, 5-6 and 10-11 s).
    Its first burst decodes 0.4 dB below the source, the silence after it is the
    decoder's idle noise:

    >>> from labkit import data
    >>> from labkit.audio.pcm import decode_storage
    >>> audio = decode_storage(data.path("synth_amrnb_oa_ringback_ref"))
    >>> round(float(level_dbfs(audio.pcm[:8000])), 1), round(float(level_dbfs(audio.pcm[8000:40000])), 1)
    (-12.4, -41.3)
    """
    x = np.asarray(pcm, dtype=np.float64)
    if x.size == 0:
        return float("-inf")
    rms = float(np.sqrt(np.mean(x * x)))
    return 20.0 * np.log10(rms * np.sqrt(2.0) / FULL_SCALE) if rms > 0 else float("-inf")


def _frames(pcm: np.ndarray, rate: int) -> np.ndarray:
    """`pcm` as an [n_frames, samples_per_20ms] float array (tail shorter than a frame dropped)."""
    n = int(round(rate * FRAME_S))
    x = np.asarray(pcm, dtype=np.float64).ravel()
    k = x.size // n
    return x[: k * n].reshape(k, n)


def frame_levels(pcm: np.ndarray, rate: int) -> np.ndarray:
    """Level of every 20 ms frame [dBFS]; -inf for all-zero frames.

    Parameters
    ----------
    pcm : array_like
        Samples in int16 scale.
    rate : int
        Sample rate [Hz]; a frame is ``rate * 0.020`` samples, a shorter tail is dropped.

    Returns
    -------
    numpy.ndarray
        One level per frame [dBFS].

    References
    ----------
    3GPP TS 26.101 / 26.201 (20 ms AMR / AMR-WB frames); AES17 (dBFS).

    Examples
    --------
    The bundled reference file ``synth_amrnb_oa_ringback_ref`` is a real AMR 12.2
    encoding (opencore-amr) of the Europe ringback that tools/synth/amr_codec.py wrote:
    425 Hz at -12 dBFS, 1 s on / 4 s off, 11 s (bursts at 0-1, 5-6 and 10-11 s).

    >>> from labkit import data
    >>> from labkit.audio.pcm import decode_storage
    >>> audio = decode_storage(data.path("synth_amrnb_oa_ringback_ref"))
    >>> lv = frame_levels(audio.pcm, audio.rate)
    >>> lv.size, round(float(lv[10]), 1), float(lv[60])  # 11 s / 20 ms; in a burst; off
    (550, -12.4, -inf)
    """
    fr = _frames(pcm, rate)
    rms = np.sqrt(np.mean(fr * fr, axis=1))
    with np.errstate(divide="ignore"):
        return 20.0 * np.log10(rms * np.sqrt(2.0) / FULL_SCALE)


def band_ratios(pcm: np.ndarray, rate: int, band: tuple[float, float] = BAND) -> np.ndarray:
    """Fraction of each 20 ms frame's energy inside `band` [Hz] (Hann window, 0 for silence).

    Parameters
    ----------
    pcm : array_like
        Samples in int16 scale.
    rate : int
        Sample rate [Hz].
    band : (float, float)
        Band edges [Hz]; default 250-650 Hz (every plan's lines plus window leakage).

    Returns
    -------
    numpy.ndarray
        One ratio (0-1) per 20 ms frame.

    References
    ----------
    ITU-T E.180 Supplement 2 (every plan's lines lie in 383-480 Hz); F. J. Harris, "On the use of
    windows for harmonic analysis with the discrete Fourier transform", Proc. IEEE 66
    (1978) (Hann window main lobe +/- 2 bins).

    Examples
    --------
    The bundled reference file ``synth_amrnb_oa_ringback_ref`` is a real AMR 12.2
    encoding (opencore-amr) of the Europe ringback that tools/synth/amr_codec.py wrote:
    425 Hz at -12 dBFS, 1 s on / 4 s off, 11 s (bursts at 0-1, 5-6 and 10-11 s).

    >>> from labkit import data
    >>> from labkit.audio.pcm import decode_storage
    >>> audio = decode_storage(data.path("synth_amrnb_oa_ringback_ref"))
    >>> [round(float(v), 3) for v in band_ratios(audio.pcm, audio.rate)[[10, 60, 260]]]
    [1.0, 0.0, 1.0]
    """
    fr = _frames(pcm, rate)
    if fr.shape[0] == 0:
        return np.zeros(0)
    nfft = 1 << int(np.ceil(np.log2(fr.shape[1] * 4)))
    spec = np.abs(np.fft.rfft(fr * np.hanning(fr.shape[1]), nfft, axis=1)) ** 2
    f = np.fft.rfftfreq(nfft, 1.0 / rate)
    inband = spec[:, (f >= band[0]) & (f <= band[1])].sum(axis=1)
    total = spec.sum(axis=1)
    return np.divide(inband, total, out=np.zeros_like(total), where=total > 0)


def goertzel_power(x: np.ndarray, rate: int, freq: float) -> float:
    """Power of `x` at `freq` [Hz] by the Goertzel recursion, divided by len(x)**2.

    A sine of amplitude A at `freq` (whole number of cycles) gives |X|^2 = (A N / 2)^2,
    so the result is A**2 / 4.

    Parameters
    ----------
    x : array_like
        Samples (a frame or a burst: the loop is in Python).
    rate : int
        Sample rate [Hz].
    freq : float
        Frequency analysed [Hz].

    Returns
    -------
    float
        ``|X(freq)|**2 / len(x)**2`` [int16 units squared]; 0 for empty input.

    References
    ----------
    G. Goertzel, "An algorithm for the evaluation of finite trigonometric series",
    American Mathematical Monthly 65 (1958).

    Examples
    --------
    A sine of amplitude 1000 over 20 cycles: 1000**2 / 4 = 250000.

    >>> import numpy as np
    >>> round(goertzel_power(1000 * np.sin(2 * np.pi * 400 * np.arange(400) / 8000), 8000, 400.0))
    250000

    The UK tone at -10 dBFS is two sines of amplitude 32768 * 10**(-10/20) / sqrt(2)
    = 7327.1 each, so each line gives 7327.1**2 / 4 = 1.342e7 over the first 0.4 s
    burst (160 and 180 whole cycles), and 425 Hz, between them, nothing:

    >>> s = synthesize_tone("uk", 8000, 3.0)
    >>> [f"{goertzel_power(s[:3200], 8000, f):.4g}" for f in (400.0, 450.0)]
    ['1.342e+07', '1.342e+07']
    >>> goertzel_power(s[:3200], 8000, 425.0) < 1.0
    True
    """
    x = np.asarray(x, dtype=np.float64)
    w = 2.0 * np.pi * freq / rate
    coeff = 2.0 * np.cos(w)
    s1 = s2 = 0.0
    for v in x:  # small inputs only (used on single frames / tests)
        s1, s2 = v + coeff * s1 - s2, s1
    p = s1 * s1 + s2 * s2 - coeff * s1 * s2
    return float(p) / (x.size ** 2) if x.size else 0.0


def _line_analysis(x: np.ndarray, rate: int, width: float = 6.0) -> tuple[tuple[float, ...], float]:
    """Spectral lines of one run (up to 3 peaks in 300-600 Hz within 20 dB of the
    strongest, each the largest within +/-max(10 Hz, `width`)) and the fraction of the
    run's energy within +/-`width` Hz of them."""
    x = np.asarray(x, dtype=np.float64)
    nfft = max(1 << int(np.ceil(np.log2(max(rate, x.size * 2)))), 1)
    spec = np.abs(np.fft.rfft(x * np.hanning(x.size), nfft)) ** 2
    f = np.fft.rfftfreq(nfft, 1.0 / rate)
    total = spec.sum()
    if total <= 0:
        return (), 0.0
    idx = np.flatnonzero((f >= 300) & (f <= 600))
    sb = spec[idx]
    peaks = idx[1:-1][(sb[1:-1] > sb[:-2]) & (sb[1:-1] >= sb[2:])]
    chosen: list[int] = []
    for p in peaks[np.argsort(spec[peaks])[::-1]] if peaks.size else []:
        if spec[p] < spec[peaks].max() * 0.01 or len(chosen) == 3:
            break
        if all(abs(f[p] - f[c]) > max(10.0, width) for c in chosen):
            chosen.append(int(p))
    lines = np.zeros_like(f, dtype=bool)
    for p in chosen:
        lines |= np.abs(f - f[p]) <= width
    return tuple(sorted(float(round(f[p])) for p in chosen)), float(spec[lines].sum() / total)


def _runs_of(mask: np.ndarray, bridge: int) -> list[tuple[int, int]]:
    """[start, end) frame indices of runs of True in `mask`, gaps of <= `bridge` frames joined."""
    runs: list[list[int]] = []
    for i in np.flatnonzero(mask):
        if runs and i - runs[-1][1] <= bridge:
            runs[-1][1] = i + 1
        else:
            runs.append([int(i), int(i) + 1])
    return [(a, b) for a, b in runs]


def _split_by_level(a: int, b: int, levels: np.ndarray, bridge: int) -> list[tuple[int, int]]:
    """Cut run [a, b) where frames are more than 9 dB below the run's median level
    (e.g. comfort noise shaped like the tone that a DTX encoder sends after it)."""
    lv = levels[a:b]
    keep = lv >= np.median(lv) - 9.0
    return [(a + s, a + e) for s, e in _runs_of(keep, bridge)]


def _analysis_span(a: int, b: int, lost: np.ndarray | None) -> tuple[int, int]:
    """Frames of run [a, b) used to measure its lines: the whole run, or when it holds
    lost frames, the longest stretch free of lost frames and the 3 frames after each
    (the decoder's concealment and recovery distort the tone there)."""
    if lost is None or not lost[a:b].any():
        return a, b
    bad = lost[a:b].copy()
    for k in np.flatnonzero(lost[a:b]):
        bad[k:k + 4] = True
    good = _runs_of(~bad, 0)
    if not good:
        return a, b
    s, e = max(good, key=lambda r: r[1] - r[0])
    return a + s, a + e


def tone_runs(pcm: np.ndarray, rate: int, exclude: np.ndarray | None = None,
              lost: np.ndarray | None = None) -> list[ToneRun]:
    """Every stretch of steady tone in the ringback band (method in the module docstring).

    Parameters
    ----------
    pcm : array_like
        Mono samples in int16 scale.
    rate : int
        Sample rate [Hz].
    exclude : numpy.ndarray of bool, optional
        Frames that cannot be tone, one per 20 ms (SID / NO_DATA frames of a DTX
        pause: the decoder's comfort noise copies the spectrum of the last tone).
        Without it, a run is cut where the level falls 9 dB below its median instead
        (that comfort noise is quieter); with it, level dips from lost frames are kept.
    lost : numpy.ndarray of bool, optional
        Lost frames (NO_DATA outside DTX, AMR-WB speech-lost), one per 20 ms; see
        :func:`_analysis_span`.

    Returns
    -------
    list of ToneRun
        start, end [s, multiples of 20 ms], spectral lines [Hz], level [dBFS].

    References
    ----------
    ITU-T E.180 Supplement 2 and ETSI ES 201 970 (frequencies, shortest burst 0.4 s);
    3GPP TS 26.101 (20 ms frames); RFC 4867 section 4.3.2 (SID, NO_DATA).

    Examples
    --------
    The bundled reference file ``synth_amrnb_oa_ringback_ref`` is a real AMR 12.2
    encoding (opencore-amr) of the Europe ringback that tools/synth/amr_codec.py wrote:
    425 Hz at -12 dBFS, 1 s on / 4 s off, 11 s (bursts at 0-1, 5-6 and 10-11 s).
    The three bursts are found at 425 Hz (each ends one frame late: the codec's delay):

    >>> from labkit import data
    >>> from labkit.audio.pcm import decode_storage
    >>> audio = decode_storage(data.path("synth_amrnb_oa_ringback_ref"))
    >>> for run in tone_runs(audio.pcm, audio.rate):
    ...     print(run.start, run.end, run.frequencies, run.level)
    0.0 1.02 (425.0,) -12.5
    5.0 6.02 (425.0,) -12.5
    10.0 11.0 (425.0,) -12.4
    """
    x = np.asarray(pcm, dtype=np.float64).ravel()
    n = int(round(rate * FRAME_S))
    levels = frame_levels(x, rate)
    cand = (band_ratios(x, rate) >= BAND_RATIO) & (levels >= MIN_TONE_DBFS)
    if exclude is not None:
        ex = np.zeros(cand.size, dtype=bool)
        e = np.asarray(exclude, dtype=bool)[:cand.size]
        ex[:e.size] = e
        cand &= ~ex
    bridge = int(round(BRIDGE_S / FRAME_S))
    out = []
    for a0, b0 in _runs_of(cand, bridge):
        pieces = [(a0, b0)] if exclude is not None else _split_by_level(a0, b0, levels, bridge)
        for a, b in pieces:
            edge = a == 0 or b >= levels.size - 1
            if (b - a) * FRAME_S < (MIN_EDGE_RUN_S if edge else MIN_RUN_S) - 1e-9:
                continue
            seg = x[a * n: b * n]
            sa, sb = _analysis_span(a, b, None if lost is None else np.asarray(lost, bool))
            # a span shortened by lost frames resolves less finely: the Hann main lobe
            # is +/- 2 / T Hz wide for a span of T seconds (a margin of 25 % on top)
            width = 6.0 if (sa, sb) == (a, b) else max(6.0, 2.5 / ((sb - sa) * FRAME_S))
            freqs, ratio = _line_analysis(x[sa * n: sb * n], rate, width)
            if ratio >= LINE_RATIO and freqs and np.all(np.diff(freqs) >= MIN_LINE_GAP):
                out.append(ToneRun(round(float(a * FRAME_S), 3), round(float(b * FRAME_S), 3), freqs,
                                   round(float(level_dbfs(seg)), 1)))
    return out


def _observed_intervals(runs: list[ToneRun], duration: float) -> list[tuple[bool, float, bool]]:
    """Alternating (is_on, duration [s], complete) intervals: leading silence, runs, the
    silences between them, trailing silence. Intervals touching the audio edges are
    incomplete (the capture may have started or stopped in the middle of them)."""
    out: list[tuple[bool, float, bool]] = []
    edge = FRAME_S * 1.5
    if runs and runs[0].start > edge:
        out.append((False, runs[0].start, False))
    for i, r in enumerate(runs):
        complete = r.start > edge and r.end < duration - edge
        out.append((True, r.duration, complete))
        if i + 1 < len(runs):
            out.append((False, runs[i + 1].start - r.end, True))
    if runs and duration - runs[-1].end > edge:
        out.append((False, duration - runs[-1].end, False))
    return out


def _tol(expected: float) -> float:
    return max(0.1, 0.15 * expected)


def _best_phase(obs, cadence) -> tuple[int, int, int]:
    """(matched, mismatched, phase) of the best alignment of `obs` with `cadence`."""
    best = (0, len(obs) + 1, 0)
    n = len(cadence)
    for phase in range(n):
        if (phase % 2 == 0) != obs[0][0]:
            continue
        ok = bad = 0
        for j, (is_on, dur, complete) in enumerate(obs):
            exp = cadence[(phase + j) % n]
            if complete:
                ok, bad = (ok + 1, bad) if abs(dur - exp) <= _tol(exp) else (ok, bad + 1)
            elif is_on and dur > exp + _tol(exp):
                bad += 1  # silence at the edges is not judged: a cut burst may be missed
        if (bad, -ok) < (best[1], -best[0]):
            best = (ok, bad, phase)
    return best


def match_cadence(runs: list[ToneRun], duration: float, cadence: tuple[float, ...]) -> tuple[int, int]:
    """Best fit of the observed on/off intervals to `cadence` over every phase.

    Parameters
    ----------
    runs : list of ToneRun
        From :func:`tone_runs`.
    duration : float
        Length of the audio [s] (intervals touching its ends are incomplete).
    cadence : tuple of float
        On, off, ... durations of one period [s] (:attr:`TonePlan.cadence`).

    Returns
    -------
    (matched, mismatched) : tuple of int
        Number of complete intervals within tolerance ``max(0.1 s, 15 %)`` of the
        plan, and number outside it (a burst cut by the start or end of the audio
        counts as mismatched only when longer than the plan allows; silence at the
        edges is not judged, since a burst cut very short there may go unseen).

    References
    ----------
    ITU-T E.180 (03/1998) and its Supplement 2 (the cadences; the tolerance,
    +/- max(0.1 s, 15 %), is labkit's own).

    Examples
    --------
    The bundled reference file ``synth_amrnb_oa_ringback_ref`` is a real AMR 12.2
    encoding (opencore-amr) of the Europe ringback that tools/synth/amr_codec.py wrote:
    425 Hz at -12 dBFS, 1 s on / 4 s off, 11 s (bursts at 0-1, 5-6 and 10-11 s).
    Its complete intervals (1.02 on, 3.98 off, 1.02 on, 3.98 off) fit Europe's 1/4 s;
    North America's 2/4 s fits only the silences:

    >>> from labkit import data
    >>> from labkit.audio.pcm import decode_storage
    >>> audio = decode_storage(data.path("synth_amrnb_oa_ringback_ref"))
    >>> runs = tone_runs(audio.pcm, audio.rate)
    >>> match_cadence(runs, audio.duration, tone_plan("europe").cadence)
    (3, 0)
    >>> match_cadence(runs, audio.duration, tone_plan("north_america").cadence)
    (2, 1)
    """
    obs = _observed_intervals(runs, duration)
    if not obs:
        return 0, 0
    ok, bad, _ = _best_phase(obs, cadence)
    return ok, bad


def observed_cadence(runs: list[ToneRun], duration: float, cadence: tuple[float, ...]) -> tuple[float, ...]:
    """Mean observed duration [s] of each position of `cadence` (on, off, ...), over the
    complete intervals aligned to it; NaN where none was complete.

    Parameters
    ----------
    runs : list of ToneRun
        From :func:`tone_runs`.
    duration : float
        Length of the audio [s].
    cadence : tuple of float
        The plan's on/off durations [s].

    Returns
    -------
    tuple of float
        One mean duration per cadence position [s], rounded to 10 ms.

    References
    ----------
    ITU-T E.180 Supplement 2 (cadences).

    Examples
    --------
    The bundled reference file ``synth_amrnb_oa_ringback_ref`` is a real AMR 12.2
    encoding (opencore-amr) of the Europe ringback that tools/synth/amr_codec.py wrote:
    425 Hz at -12 dBFS, 1 s on / 4 s off, 11 s (bursts at 0-1, 5-6 and 10-11 s).

    >>> from labkit import data
    >>> from labkit.audio.pcm import decode_storage
    >>> audio = decode_storage(data.path("synth_amrnb_oa_ringback_ref"))
    >>> runs = tone_runs(audio.pcm, audio.rate)
    >>> observed_cadence(runs, audio.duration, tone_plan("europe").cadence)
    (1.02, 3.98)
    """
    obs = _observed_intervals(runs, duration)
    if not obs:
        return tuple(float("nan") for _ in cadence)
    _, _, phase = _best_phase(obs, cadence)
    sums = np.zeros(len(cadence))
    counts = np.zeros(len(cadence))
    for j, (_, dur, complete) in enumerate(obs):
        if complete:
            sums[(phase + j) % len(cadence)] += dur
            counts[(phase + j) % len(cadence)] += 1
    with np.errstate(invalid="ignore"):
        return tuple(round(float(v), 2) for v in sums / counts)


def _freq_error(found: tuple[float, ...], plan: TonePlan) -> float:
    """Mean distance [Hz] between the plan's lines and the nearest lines found, plus a
    penalty of 10 Hz per line found that the plan does not explain (a codec at a low
    rate can add a weak intermodulation line)."""
    if not found:
        return float("inf")
    f = np.asarray(found)
    miss = np.mean([np.min(np.abs(f - p)) for p in plan.frequencies])
    extra = sum(1 for x in f if np.min(np.abs(np.asarray(plan.frequencies) - x)) > 10)
    return float(miss + 10.0 * extra)


def _merge_short_gaps(runs: list[ToneRun], plan: TonePlan) -> list[ToneRun]:
    """Runs with gaps shorter than half the plan's shortest silence joined: such a gap
    cannot be part of that plan's cadence (a burst cut by a burst of lost packets)."""
    limit = min(plan.cadence[1::2]) / 2
    out: list[ToneRun] = []
    for r in runs:
        if out and r.start - out[-1].end < limit:
            out[-1] = ToneRun(out[-1].start, r.end, out[-1].frequencies, out[-1].level)
        else:
            out.append(r)
    return out


def match_plan(runs: list[ToneRun], duration: float, plans=None) -> TonePlan | None:
    """The plan whose cadence fits the runs and whose lines are closest to the
    frequencies found (within 15 Hz on average).

    Silences shorter than half the plan's shortest one are first closed
    (:func:`_merge_short_gaps`); the cadence then fits when at least one complete
    interval matches and at most one in five mismatches (e.g. a stray beep).

    Parameters
    ----------
    runs : list of ToneRun
        From :func:`tone_runs`.
    duration : float
        Length of the audio [s].
    plans : iterable of str or TonePlan, optional
        Plans to try (default: all of :data:`TONE_PLANS`).

    Returns
    -------
    TonePlan or None
        The best plan, None when no cadence fits or no plan's lines are within 15 Hz.

    References
    ----------
    ITU-T E.180 Supplement 2 (national plans); ETSI ES 201 970 (CEPT tone).

    Examples
    --------
    The bundled reference file ``synth_amrnb_oa_ringback_ref`` is a real AMR 12.2
    encoding (opencore-amr) of the Europe ringback that tools/synth/amr_codec.py wrote:
    425 Hz at -12 dBFS, 1 s on / 4 s off, 11 s (bursts at 0-1, 5-6 and 10-11 s).

    >>> from labkit import data
    >>> from labkit.audio.pcm import decode_storage
    >>> audio = decode_storage(data.path("synth_amrnb_oa_ringback_ref"))
    >>> match_plan(tone_runs(audio.pcm, audio.rate), audio.duration).key
    'europe'
    >>> s = synthesize_tone("uk", 8000, 3.0)
    >>> match_plan(tone_runs(s, 8000), 3.0).key
    'uk'
    """
    candidates = [tone_plan(p) for p in (plans or TONE_PLANS.values())]
    found = _median_lines(runs)
    scored = []
    for plan in candidates:
        merged = _merge_short_gaps(runs, plan)
        ok, bad = match_cadence(merged, duration, plan.cadence)
        if bad <= ok // 5 and ok >= 1 and sum(r.duration for r in runs) < duration:
            err = _freq_error(found, plan)
            if err <= 15.0:
                # prefer plans that explain the runs without closing any silence
                scored.append((len(runs) - len(merged), err, -ok, plan.key, plan))
    return min(scored)[-1] if scored else None


def _median_lines(runs: list[ToneRun]) -> tuple[float, ...]:
    """Most common number of lines across runs, and their median frequencies [Hz]."""
    if not runs:
        return ()
    counts = [len(r.frequencies) for r in runs]
    k = max(set(counts), key=lambda c: (counts.count(c), -c))
    rows = np.array([r.frequencies for r in runs if len(r.frequencies) == k])
    return tuple(float(round(v)) for v in np.median(rows, axis=0))


def _first_period(runs: list[ToneRun], duration: float, plan: TonePlan | None) -> tuple[float, ...]:
    """Observed on, off, ... durations [s] of the first complete period, starting with
    the first complete "on" interval."""
    obs = _observed_intervals(runs, duration)
    first = next((i for i, (on, _, c) in enumerate(obs) if on and c), None)
    if first is None:
        return ()
    n = len(plan.cadence) if plan else 2
    return tuple(round(float(d), 2) for _, d, c in obs[first:first + n] if c)


def dtx_frames(ft: np.ndarray, wideband: bool) -> np.ndarray:
    """True for frames whose audio is decoder-made comfort noise: SID frames and the
    NO_DATA frames that follow a SID (a DTX pause, 3GPP TS 26.093 / 26.193). NO_DATA
    after a speech frame is a lost or missing frame: the decoder conceals it by
    repeating the last speech, so it is not excluded. (SID is FT 8 in AMR, 9 in AMR-WB;
    NO_DATA is 15; RFC 4867 section 4.3.2.)

    Parameters
    ----------
    ft : array_like of int
        Storage frame type of every 20 ms frame.
    wideband : bool
        AMR-WB (SID = 9) or AMR (SID = 8).

    Returns
    -------
    numpy.ndarray of bool
        One per frame.

    References
    ----------
    3GPP TS 26.093 (AMR DTX: SID_FIRST, SID_UPDATE, NO_DATA), TS 26.193 (AMR-WB);
    RFC 4867 section 4.3.2 (frame types) and 5.3 (storage format).

    Examples
    --------
    The real AMR 7.95 encoding with DTX (opencore-amr) of ``synth_amrnb_oa_dtx_loss_ref``
    holds 166 speech frames (FT 5), 50 SID and 334 NO_DATA: every SID and NO_DATA is
    comfort noise there, since the encoder lost nothing:

    >>> from labkit import data
    >>> from labkit.audio.pcm import decode_storage
    >>> ft = decode_storage(data.path("synth_amrnb_oa_dtx_loss_ref")).ft
    >>> [int((ft == k).sum()) for k in (5, 8, 15)], int(dtx_frames(ft, False).sum())
    ([166, 50, 334], 384)
    >>> dtx_frames([5, 15, 8, 15, 15, 5, 15], False).tolist()
    [False, False, True, True, True, False, False]
    """
    f = np.asarray(ft)
    sid = f == (9 if wideband else 8)
    speech = (f >= 0) & (f < (9 if wideband else 8))
    # index of the last SID / speech frame at or before each frame
    idx = np.arange(f.size)
    last_sid = np.maximum.accumulate(np.where(sid, idx, -1)) if f.size else idx
    last_speech = np.maximum.accumulate(np.where(speech, idx, -1)) if f.size else idx
    return sid | ((f == 15) & (last_sid > last_speech))


def lost_frames(ft: np.ndarray, wideband: bool) -> np.ndarray:
    """True for frames the receiver did not get: NO_DATA that is not part of a DTX
    pause (:func:`dtx_frames`) and AMR-WB "speech lost" (FT 14).

    Parameters
    ----------
    ft : array_like of int
        Storage frame type of every 20 ms frame (as depacketized from RTP, where a
        missing packet leaves NO_DATA).
    wideband : bool
        AMR-WB or AMR.

    Returns
    -------
    numpy.ndarray of bool
        One per frame.

    References
    ----------
    RFC 4867 sections 4.3.2 (FT 14 SPEECH_LOST, 15 NO_DATA) and 5.3; 3GPP TS 26.093.

    Examples
    --------
    B's stream of ``synth_amrnb_oa_dtx_loss`` after RTP: tshark -z rtp,streams counts 9
    lost packets; 7 carried speech (the reference file has 166 speech frames, the
    received stream 159) and 2 a SID, which cannot be told from the DTX pause:

    >>> from labkit import data
    >>> from labkit.audio.ringback import analyze_ringback
    >>> report = analyze_ringback(data.path("synth_amrnb_oa_dtx_loss"))
    >>> ft = [d for d in report.directions if d.direction == "B->A"][0].audio.ft
    >>> int((ft == 5).sum()), int(lost_frames(ft, False).sum())
    (159, 7)
    """
    f = np.asarray(ft)
    lost = (f == 15) & ~dtx_frames(f, wideband)
    return lost | ((f == 14) & wideband)


def _level_variation(levels: np.ndarray, half: int = 10) -> np.ndarray:
    """Standard deviation of frame levels [dB] over +/-`half` frames (floor -90 dBFS)."""
    lv = np.maximum(np.nan_to_num(levels, neginf=-90.0), -90.0)
    if lv.size == 0:
        return lv
    pad = np.pad(lv, half, mode="edge")
    win = np.lib.stride_tricks.sliding_window_view(pad, 2 * half + 1)
    return win.std(axis=1)


def classify_pcm_frames(pcm: np.ndarray, rate: int, ft: np.ndarray | None = None, *,
                        wideband: bool | None = None) -> np.ndarray:
    """Class of every 20 ms frame: "tone", "speech", "comfort noise" or "digital silence".

    Rules, in order: level below :data:`SILENCE_DBFS` -> digital silence; inside a tone
    run of :func:`labkit.audio.tone_runs` -> tone; frame type SID or NO_DATA (when `ft`
    is given) -> comfort noise; level above :data:`SPEECH_DBFS` and varying by 3 dB or
    more within +/-0.2 s -> speech; else comfort noise (steady low-level noise).

    Parameters
    ----------
    pcm : array_like
        Mono samples in int16 scale.
    rate : int
        Sample rate [Hz].
    ft : numpy.ndarray, optional
        Storage frame types, one per 20 ms frame (RFC 4867 section 4.3.2).
    wideband : bool, optional
        Meaning of `ft` (SID is 8 for AMR, 9 for AMR-WB); default: ``rate == 16000``.

    Returns
    -------
    numpy.ndarray of str
        One class per 20 ms frame.

    References
    ----------
    3GPP TS 26.093 / 26.193 (DTX, comfort noise); RFC 4867 section 4.3.2; ITU-T E.180
    Supplement 2 (tones).

    Examples
    --------
    The bundled reference file ``synth_amrnb_oa_ringback_ref`` is a real AMR 12.2
    encoding (opencore-amr) of the Europe ringback that tools/synth/amr_codec.py wrote:
    425 Hz at -12 dBFS, 1 s on / 4 s off, 11 s (bursts at 0-1, 5-6 and 10-11 s).
    152 frames are tone (51 + 51 + 50: the codec's delay makes the first two bursts one
    frame longer, the end of the audio cuts the third), the pauses decode to digital
    silence:

    >>> from labkit import data
    >>> from labkit.audio.pcm import decode_storage
    >>> audio = decode_storage(data.path("synth_amrnb_oa_ringback_ref"))
    >>> cls = classify_pcm_frames(audio.pcm, audio.rate, audio.ft)
    >>> {str(c): int((cls == c).sum()) for c in sorted(set(cls))}
    {'comfort noise': 1, 'digital silence': 397, 'tone': 152}
    """
    x = np.asarray(pcm).ravel()
    levels = frame_levels(x, rate)
    n = levels.size
    cls = np.full(n, "comfort noise", dtype=object)
    varying = _level_variation(levels) >= 3.0
    cls[(levels >= SPEECH_DBFS) & varying] = "speech"
    dtx = None
    if ft is not None:
        wb = (rate == 16000) if wideband is None else wideband
        dtx = dtx_frames(np.asarray(ft)[:n], wb)
        cls[:dtx.size][dtx] = "comfort noise"
    lost = None if ft is None else lost_frames(np.asarray(ft)[:n], wb)
    for run in tone_runs(x, rate, dtx, lost):
        a, b = int(round(run.start / FRAME_S)), int(round(run.end / FRAME_S))
        cls[a:b] = "tone"
    cls[levels < SILENCE_DBFS] = "digital silence"
    return cls.astype(str)


def detect_ringback(pcm: np.ndarray, rate: int, *, plans=None, ft: np.ndarray | None = None,
                    wideband: bool | None = None) -> RingbackResult:
    """Is there a ringback tone in `pcm`? Which plan, frequencies, cadence, level, when.

    Parameters
    ----------
    pcm : numpy.ndarray
        Mono int16 (or float in int16 scale) samples.
    rate : int
        Sample rate [Hz].
    plans : iterable of str or TonePlan, optional
        Plans to try (default: all of :data:`TONE_PLANS`).
    ft : numpy.ndarray, optional
        AMR frame type of every 20 ms frame (from the storage file). SID / NO_DATA
        frames are then never tone and count as comfort noise.
    wideband : bool, optional
        Meaning of `ft`; default ``rate == 16000``.

    Returns
    -------
    RingbackResult
        verdict, plan, frequencies [Hz], cadence [s], level [dBFS], time_range [s],
        segments, duration [s], detail.

    References
    ----------
    ITU-T E.180 Supplement 2 and ETSI ES 201 970 (plans); 3GPP TS 26.093 / 26.193
    (DTX); RFC 4867 section 4.3.2 (frame types).

    Examples
    --------
    The bundled reference file ``synth_amrnb_oa_ringback_ref`` is a real AMR 12.2
    encoding (opencore-amr) of the Europe ringback that tools/synth/amr_codec.py wrote:
    425 Hz at -12 dBFS, 1 s on / 4 s off, 11 s (bursts at 0-1, 5-6 and 10-11 s).

    >>> from labkit import data
    >>> from labkit.audio.pcm import decode_storage
    >>> audio = decode_storage(data.path("synth_amrnb_oa_ringback_ref"))
    >>> print(detect_ringback(audio.pcm, audio.rate, ft=audio.ft).summary)
    ringback tone present, Europe 425 Hz 1.0/4.0 s, -12.5 dBFS, 0.0-11.0 s

    A real call: baresip's B plays the Europe tone at -10 dBFS peak over AMR-WB
    (data/lab MANIFEST); its decoded direction:

    >>> from labkit.audio.ringback import analyze_ringback
    >>> b = analyze_ringback(data.path("ringback_amrwb")).directions[1]
    >>> r = detect_ringback(b.audio.pcm, b.audio.rate, ft=b.audio.ft)
    >>> r.verdict, r.plan.key, r.frequencies, r.level
    ('ringback', 'europe', (425.0,), -10.3)
    """
    x = np.asarray(pcm).ravel()
    duration = round(x.size / float(rate), 3) if rate else 0.0
    if x.size < int(rate * FRAME_S):
        return RingbackResult("no audio", None, (), (), float("nan"), (0.0, duration),
                              (), duration, "no audio samples")
    wb = (rate == 16000) if wideband is None else wideband
    runs = tone_runs(x, rate, None if ft is None else dtx_frames(ft, wb),
                     None if ft is None else lost_frames(ft, wb))
    if runs and sum(r.duration for r in runs) >= 0.3:
        result = _tone_result(runs, duration, plans)
        if result.verdict == "ringback":
            return result
        other, speech = _other_result(x, rate, duration, ft, wb)
        if other.verdict == "speech" and speech * FRAME_S > result.segments_duration:
            # a lone beep inside speech: the direction carries speech
            return RingbackResult("speech", None, result.frequencies, result.cadence,
                                  result.level, other.time_range, result.segments, duration,
                                  f"{other.detail}; also {result.detail}")
        return result
    return _other_result(x, rate, duration, ft, wb)[0]


def _tone_result(runs: list[ToneRun], duration: float, plans) -> RingbackResult:
    plan = match_plan(runs, duration, plans)
    freqs = _median_lines(runs)
    on = np.array([r.duration for r in runs])
    levels = np.array([r.level for r in runs])
    level = round(float(10 * np.log10(np.sum(on * 10 ** (levels / 10)) / on.sum())), 1)
    start = float(runs[0].start)
    if plan is not None:
        known = tuple(f for f in freqs if min(abs(f - p) for p in plan.frequencies) <= 10)
        end = min(duration, runs[-1].end + plan.cadence[-1])
        detail = f"{len(runs)} tone bursts matching {plan.name} ({plan.notation} Hz)"
        return RingbackResult("ringback", plan, known or freqs,
                              observed_cadence(_merge_short_gaps(runs, plan), duration,
                                               plan.cadence),
                              level, (start, round(float(end), 2)), tuple(runs), duration, detail)
    detail = f"{len(runs)} tone bursts; cadence fits no ringback plan"
    return RingbackResult("tone", None, freqs, _first_period(runs, duration, None), level,
                          (start, float(runs[-1].end)), tuple(runs), duration, detail)


def _other_result(x, rate, duration, ft, wideband) -> tuple[RingbackResult, int]:
    """Verdict without a tone, and the number of speech frames."""
    cls = classify_pcm_frames(x, rate, ft, wideband=wideband)
    n = max(len(cls), 1)
    speech = int(np.sum(cls == "speech"))
    noise = int(np.sum(cls == "comfort noise"))
    if speech * FRAME_S >= 0.5 or speech / n >= 0.2:
        verdict = "speech"
    elif noise * FRAME_S >= 0.2:
        verdict = "comfort noise only"
    else:
        verdict = "digital silence"
    detail = f"{speech} speech, {noise} comfort-noise frames of {len(cls)}; no tone"
    return RingbackResult(verdict, None, (), (), float("nan"), (0.0, duration), (),
                          duration, detail), speech


def synthesize_tone(plan: str | TonePlan, rate: int, seconds: float, *,
                    level: float = -10.0, start_phase: float = 0.0) -> np.ndarray:
    """The plan's ringback tone as int16 PCM: `seconds` long at `level` [dBFS].

    Modulated plans ("425*25", "400*16") are 100 % amplitude-modulated carriers whose
    side bands are the plan's outer lines. `start_phase` [s] shifts into the cadence.
    Used by tests and the synthetic-capture builders.

    Parameters
    ----------
    plan : str or TonePlan
        The plan (:func:`tone_plan`).
    rate : int
        Sample rate [Hz].
    seconds : float
        Length [s].
    level : float
        RMS level of the bursts [dBFS] (full-scale sine = 0).
    start_phase : float
        Offset into the cadence [s].

    Returns
    -------
    numpy.ndarray of int16
        ``round(seconds * rate)`` samples.

    References
    ----------
    ITU-T E.180 Supplement 2 notation: ``a+b`` two tones added, ``a*b`` tone a
    modulated by b Hz; ETSI ES 201 970.

    Examples
    --------
    >>> s = synthesize_tone("uk", 8000, 3.0)
    >>> s.dtype, s.size, round(float(level_dbfs(s[:3200])), 2)
    (dtype('int16'), 24000, -10.0)
    >>> print(detect_ringback(s, 8000).summary)
    ringback tone present, UK 400+450 Hz 0.4/0.2/0.4/2.0 s, -10.0 dBFS, 0.0-3.0 s
    >>> detect_ringback(synthesize_tone("japan", 16000, 6.0), 16000).frequencies
    (384.0, 400.0, 416.0)
    """
    p = tone_plan(plan)
    t = np.arange(int(round(seconds * rate))) / rate
    if "*" in p.notation:
        carrier, mod = (float(v) for v in p.notation.split("*"))
        sig = np.sin(2 * np.pi * carrier * t) * (1 + np.cos(2 * np.pi * mod * t)) / 2
    else:
        sig = sum(np.sin(2 * np.pi * f * t) for f in p.frequencies)
    sig = sig / np.sqrt(np.mean(sig ** 2)) / np.sqrt(2)  # rms of a unit sine
    period = sum(p.cadence)
    edges = np.cumsum((0.0,) + p.cadence)
    ph = (t + start_phase) % period
    on = np.zeros(t.size, dtype=bool)
    for i in range(0, len(p.cadence), 2):
        on |= (ph >= edges[i]) & (ph < edges[i + 1])
    amp = FULL_SCALE * 10 ** (level / 20)
    return np.clip(np.round(sig * amp * on), -32768, 32767).astype(np.int16)
