"""FreeSWITCH configuration, codec strings and the codec catalogue.

What FreeSWITCH does, reproduced from its source (signalwire/freeswitch, read, not
copied):

- **Pre-processing** (``src/switch_xml.c`` ``preprocess``): line by line, ``$${name}`` is
  replaced by the global variable, then a line holding ``<X-PRE-PROCESS cmd="set"
  data="name=value"/>`` sets a variable. This happens even inside an ordinary
  ``<!-- -->`` comment (only ``<!--#`` comments are skipped), a classic trap.
- **Codec strings** (``switch_loadable_module.c`` ``switch_parse_codec_buf``):
  comma-separated ``NAME[@Nh|@Nk][@Ni][@Nb][@Nc]`` (rate, ptime [ms], bit rate, channels),
  optional ``mod.`` prefix and ``~fmtp`` suffix, ``^^X`` picks another separator.
- **Implementation lookup** (``switch_loadable_module_get_codecs_sorted``): for each
  name, the first loaded implementation with the requested (or default: 20 ms, 8000 Hz,
  opus 48000 Hz, iLBC 30 ms) ptime/rate/channels; duplicates dropped; then the ptime
  re-ordering of ``switch_loadable_module_sort_codecs``.

Debug logs are read by :mod:`labkit.freeswitch.log`.

The question this module answers: "which codec list, in which order, does FreeSWITCH
offer or compare on this call, where was it set, and which of its entries are silently
dropped because no loaded module provides them?".

References
----------
signalwire/freeswitch (1.10, commit cc93a683ca): src/switch_xml.c (``preprocess``),
src/switch_loadable_module.c (``switch_parse_codec_buf``,
``switch_loadable_module_get_codecs_sorted``, ``switch_loadable_module_sort_codecs``),
src/switch_core_media.c (``switch_core_media_prepare_codecs``), src/switch_core.c
(default ptime and rate), mod_sofia (``inbound-codec-prefs``,
``inbound-codec-negotiation``), conf/vanilla/vars.xml and
conf/vanilla/autoload_configs/modules.conf.xml. The implementation texts
(``NAME:PT:RATE:PTIME:BITRATE:CHANNELS``) are checked against the "Audio Codec Compare"
lines of the real FreeSWITCH logs bundled in data/freeswitch/public/.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from labkit.errors import ConfigError, LabkitError

__all__ = ["CodecPref", "Implementation", "FreeswitchConfig", "EffectivePrefs",
           "parse_codec_string", "catalogue", "load_codecs", "read_config", "parse_config_text",
           "effective_prefs", "FALLBACK_CODEC_STRING", "DEFAULT_PTIMES", "amr_answer_fmtp",
           "VANILLA_CODEC_MODULES", "listed_not_loaded", "codec_string_table",
           "codec_status"]

FALLBACK_CODEC_STRING = "PCMU@20i,PCMA@20i,speex@20i"  # switch_core_media_prepare_codecs
DEFAULT_PTIMES = {"ilbc": 30, "isac": 30, "g723": 30}  # switch_core.c, else 20 ms


def default_ptime(name: str) -> int:
    """Default packet time [ms] of a codec name (switch_default_ptime)."""
    return DEFAULT_PTIMES.get(name.lower(), 20)


def default_rate(name: str) -> int:
    """Default clock rate [Hz] of a codec name (switch_default_rate)."""
    low = name.lower()
    if low == "opus":
        return 48000
    return 90000 if low.startswith(("h26", "vp")) else 8000


# ---------------------------------------------------------------------------------------
# codec strings


@dataclass(frozen=True)
class CodecPref:
    """One entry of a codec string: ``NAME@8000h@20i@13200b@1c`` (0 = not given).

    Attributes
    ----------
    name : str
        Codec name as written ("OPUS", "AMR-WB").
    rate : int
        Requested rate [Hz] (``@Nh``; ``@Nk`` is read by atoi, so ``@8k`` = 8).
    ptime : int
        Requested packet time [ms] (``@Ni``).
    bitrate : int
        Requested bit rate [bit/s] (``@Nb``).
    channels : int
        ``@Nc`` (default 1).
    modname, fmtp : str or None
        ``mod.`` prefix and ``~fmtp`` suffix.
    text : str
        The entry as written.
    problems : tuple of str
        Qualifiers without a letter (FreeSWITCH logs "Bad syntax for codec string").

    References
    ----------
    signalwire/freeswitch src/switch_loadable_module.c ``switch_parse_codec_buf``.

    Examples
    --------
    >>> parse_codec_string("PCMU@30i")[0].ptime
    30
    """

    name: str
    rate: int = 0
    ptime: int = 0
    bitrate: int = 0
    channels: int = 1
    modname: str | None = None
    fmtp: str | None = None
    text: str = ""
    problems: tuple = ()


def parse_codec_string(text: str) -> list[CodecPref]:
    """Parse a FreeSWITCH codec string (``OPUS,G722,PCMU@20i,AMR-WB@16000h@20i``).

    A leading ``=`` (codec_string "exactly this") is ignored here; ``^^:`` at the start
    makes ``:`` the separator (switch_separate_string). Parts without a qualifier
    letter are reported in ``problems`` (FreeSWITCH logs "Bad syntax for codec string").
    Numbers are read like C ``atoi``: ``@8k`` means 8, not 8000.

    Parameters
    ----------
    text : str
        A codec string, e.g. the value of ``global_codec_prefs`` or
        ``absolute_codec_string``.

    Returns
    -------
    list of CodecPref
        One per entry, in order: name, rate [Hz] (``@Nh``/``@Nk``), ptime [ms] (``@Ni``),
        bitrate [bit/s] (``@Nb``), channels (``@Nc``); 0 = not given; modname (``mod.``
        prefix), fmtp (``~`` suffix), the entry's text and its problems.

    References
    ----------
    signalwire/freeswitch src/switch_loadable_module.c ``switch_parse_codec_buf``
    (qualifier letters, ``atoi``), src/switch_utils.c ``switch_separate_string``
    (``^^X`` separator).

    Examples
    --------
    The codec list of the bundled vars.xml (FreeSWITCH's vanilla default), and one
    entry with every qualifier:

    >>> from labkit import data
    >>> cfg = read_config(data.path("freeswitch_conf"))
    >>> [p.name for p in parse_codec_string(cfg.variables["global_codec_prefs"])]
    ['OPUS', 'G722', 'PCMU', 'PCMA', 'H264', 'VP8']
    >>> p = parse_codec_string("AMR-WB@16000h@20i@23850b@1c")[0]
    >>> p.rate, p.ptime, p.bitrate, p.channels
    (16000, 20, 23850, 1)
    >>> parse_codec_string("PCMA@8k")[0].rate          # atoi("8k") = 8, not 8000
    8
    >>> p = parse_codec_string("^^:PCMU@20i:mod_opus.opus~useinbandfec=1")[1]
    >>> p.modname, p.name, p.fmtp
    ('mod_opus', 'opus', 'useinbandfec=1')
    """
    text = (text or "").strip().lstrip("=")
    sep = ","
    if text.startswith("^^") and len(text) > 3:
        sep, text = text[2], text[3:]
    return [_codec_pref(part.strip()) for part in text.split(sep) if part.strip()]


def _atoi(text: str) -> int:
    m = re.match(r"\s*[+-]?\d+", text)
    return int(m.group()) if m else 0


def _codec_pref(part: str) -> CodecPref:
    name, *quals = part.split("@")
    values = {"rate": 0, "ptime": 0, "bitrate": 0, "channels": 1}
    problems = []
    for q in quals:  # same letter precedence as switch_parse_codec_buf
        key = ("ptime" if "i" in q else "rate" if ("k" in q or "h" in q) else
               "bitrate" if "b" in q else "channels" if "c" in q else None)
        if key is None:
            problems.append(f"codec string part {q!r} of {part!r} has no h/k/i/b/c qualifier")
        else:
            values[key] = _atoi(q)
    modname = None
    if "." in name:
        modname, name = name.split(".", 1)
    fmtp = None
    if "~" in name:
        name, fmtp = name.split("~", 1)
    return CodecPref(name=name, modname=modname, fmtp=fmtp, text=part,
                     problems=tuple(problems), **values)


# ---------------------------------------------------------------------------------------
# codec catalogue: what a FreeSWITCH 1.10 build with the usual modules has loaded


@dataclass(frozen=True)
class Implementation:
    """One codec implementation as FreeSWITCH registers it.

    ``rate`` is samples_per_second (what the compare log prints; G722 says 8000),
    ``actual_rate`` the real sampling rate [Hz]; ``ptime`` [ms]; ``bitrate`` [bit/s]
    (0 = variable).

    Attributes
    ----------
    name : str
        Codec name as FreeSWITCH registers it ("PCMU", "opus", "AMR-WB").
    pt : int
        Payload type it offers.
    rate, actual_rate : int
        samples_per_second and the real sampling rate [Hz].
    ptime : int
        Packet time [ms].
    bitrate : int
        [bit/s], 0 = variable.
    channels : int
        Number of channels.
    kind : {"audio", "video"}
        Media type.
    module : str
        The module that registers it ("CORE_PCM_MODULE", "mod_spandsp").
    interface : str
        Implementation name (AMR: "AMR / Bandwidth Efficient" ...).
    fmtp : str
        Default fmtp of the implementation.

    References
    ----------
    signalwire/freeswitch src/include/switch_module_interfaces.h
    (``switch_codec_implementation``), src/switch_core_media.c (the compare line format).

    Examples
    --------
    >>> catalogue()["gsm"][0].log_text()     # as in data/freeswitch/public/ logs
    'GSM:3:8000:20:13200:1'
    """

    name: str
    pt: int
    rate: int
    actual_rate: int
    ptime: int
    bitrate: int
    channels: int = 1
    kind: str = "audio"
    module: str = ""
    interface: str = ""
    fmtp: str = ""

    def log_text(self) -> str:
        """``NAME:PT:RATE:PTIME:BITRATE:CHANNELS`` as in the compare log line.

        Returns
        -------
        str
            Rate [Hz], ptime [ms], bit rate [bit/s] joined by ``:``.
        """
        return f"{self.name}:{self.pt}:{self.rate}:{self.ptime}:{self.bitrate}:{self.channels}"


def _series(name, pt, rate, bitrate, ptimes, module, actual=None, channels=1):
    # FreeSWITCH prepends each new implementation: lookup order = reverse registration.
    return [Implementation(name, pt, rate, actual or rate, p, bitrate, channels, "audio", module)
            for p in ptimes]


def _opus() -> list[Implementation]:
    out = []
    for actual in (48000, 16000, 8000):  # mod_opus registers 48k, then 16k, then 8k
        for ms in (10, 20, 40):
            for ch in (1, 2):
                out.append(Implementation("opus", 116, 48000, actual, ms, 0, ch, "audio",
                                          "mod_opus"))
    return out[::-1]


def catalogue(modules=None) -> dict[str, list[Implementation]]:
    """Loaded codec implementations by lower-case name, in FreeSWITCH's lookup order.

    Taken from the module sources: core PCMU/PCMA (10-120 ms, switch_pcm.c), mod_spandsp
    G722 (10-60 ms, 8000 "rate", 16000 actual), GSM (20-120 ms), G726-32, mod_g729,
    mod_ilbc (97 = 30 ms, 98 = 20 ms), mod_opus, mod_amr / mod_amrwb (the bandwidth-
    efficient interface is registered last, so it is found first: AMR 97, AMR-WB 110),
    mod_g723_1, and the video codecs H264/VP8/VP9 (skipped in audio comparisons).
    With `modules` (the names a modules.conf.xml loads), only their codecs and the core's.

    Parameters
    ----------
    modules : iterable of str, optional
        Loaded module names (``FreeswitchConfig.modules``); None = every module above.

    Returns
    -------
    dict of str to list of Implementation
        Lower-case codec name -> implementations (rate, actual_rate [Hz], ptime [ms],
        bitrate [bit/s]), first found first.

    References
    ----------
    signalwire/freeswitch src/switch_pcm.c, src/mod/applications/mod_spandsp
    (mod_spandsp_codecs.c), src/mod/codecs/mod_g729, mod_ilbc, mod_opus, mod_amr,
    mod_amrwb, mod_g723_1 (``switch_core_codec_add_implementation`` calls);
    src/switch_loadable_module.c (a new implementation is put first).

    Examples
    --------
    G722 reports 8000 as its rate, as every real compare line in
    data/freeswitch/public/ shows (``G722:9:8000:20:64000:1``); the vanilla
    modules.conf.xml loads neither mod_ilbc nor mod_amrwb:

    >>> from labkit import data
    >>> g722 = [i for i in catalogue()["g722"] if i.ptime == 20][0]
    >>> g722.log_text(), g722.actual_rate
    ('G722:9:8000:20:64000:1', 16000)
    >>> cfg = read_config(data.path("freeswitch_conf"))
    >>> sorted(set(catalogue()) - set(catalogue(cfg.modules)))
    ['amr-wb', 'ilbc']
    """
    ms10 = range(120, 0, -10)
    cat = {
        "pcmu": _series("PCMU", 0, 8000, 64000, ms10, "CORE_PCM_MODULE")[::-1],
        "pcma": _series("PCMA", 8, 8000, 64000, ms10, "CORE_PCM_MODULE")[::-1],
        "g722": _series("G722", 9, 8000, 64000, range(60, 0, -10), "mod_spandsp", 16000)[::-1],
        "gsm": _series("GSM", 3, 8000, 13200, range(120, 0, -20), "mod_spandsp")[::-1],
        "g726-32": _series("G726-32", 122, 8000, 32000, ms10, "mod_spandsp")[::-1],
        "g729": _series("G729", 18, 8000, 8000, ms10, "mod_g729")[::-1],
        "g723": _series("G723", 4, 8000, 6300, (30, 60, 90, 120), "mod_g723_1")[::-1],
        "ilbc": [Implementation("iLBC", 97, 8000, 8000, 30, 13330, 1, "audio", "mod_ilbc"),
                 Implementation("iLBC", 98, 8000, 8000, 20, 15200, 1, "audio", "mod_ilbc")],
        "opus": _opus(),
        "amr": [Implementation("AMR", 97, 8000, 8000, 20, 12200, 1, "audio", "mod_amr",
                               "AMR / Bandwidth Efficient", "octet-align=0; mode-set=7; "),
                Implementation("AMR", 96, 8000, 8000, 20, 12200, 1, "audio", "mod_amr",
                               "AMR / Octet Aligned", "octet-align=1; mode-set=7; ")],
        "amr-wb": [Implementation("AMR-WB", 110, 16000, 16000, 20, 23850, 1, "audio",
                                  "mod_amrwb", "AMR-WB / Bandwidth Efficient",
                                  "octet-align=0; mode-set=8; "),
                   Implementation("AMR-WB", 100, 16000, 16000, 20, 23850, 1, "audio",
                                  "mod_amrwb", "AMR-WB / Octet Aligned",
                                  "octet-align=1; mode-set=8; ")],
    }
    for name, pt in (("H264", 99), ("VP8", 96), ("VP9", 98), ("H263", 34)):
        cat[name.lower()] = [Implementation(name, pt, 90000, 90000, 0, 0, 1, "video", "video")]
    if modules is not None:
        keep = {m.lower() for m in modules} | {"core_pcm_module", "video"}
        cat = {k: [i for i in v if i.module.lower() in keep] for k, v in cat.items()}
        cat = {k: v for k, v in cat.items() if v}
    return cat


# Codec modules that conf/vanilla/autoload_configs/modules.conf.xml loads (mod_ilbc and
# mod_amrwb are not among them: listed in a codec string they are silently dropped).
VANILLA_CODEC_MODULES = ("mod_spandsp", "mod_g723_1", "mod_g729", "mod_amr", "mod_b64",
                         "mod_opus")


def amr_answer_fmtp(offer_fmtp: str | None, *, wideband: bool, force_oa: bool = False,
                    volte: bool = False) -> str:
    """The ``a=fmtp`` FreeSWITCH's mod_amr / mod_amrwb puts in its answer to an AMR offer.

    Both modules register two implementations of one codec name ("AMR-WB / Octet
    Aligned" PT 100 and "AMR-WB / Bandwidth Efficient" PT 110; AMR: PT 96 and 97) that
    differ only in their default fmtp, used when FreeSWITCH makes the offer. On an
    incoming offer the codec's init reads the offer's fmtp: the framing follows the
    offer's ``octet-align`` (absent = bandwidth-efficient, RFC 4867 8.1) whichever
    implementation matched, unless ``force-oa`` is set in amrwb.conf / amr.conf; the
    mode-set is the offer's (else the module's default: 7 = 12.2, 8 = 23.85 kbit/s).

    Parameters
    ----------
    offer_fmtp : str or None
        The offer's ``a=fmtp`` value for the AMR payload type.
    wideband : bool
        AMR-WB (mod_amrwb) or AMR (mod_amr).
    force_oa, volte : bool
        The modules' ``force-oa`` and ``volte`` settings.

    Returns
    -------
    str
        ``mode-set=...;octet-align=0|1`` (plus ``max-red=0;mode-change-capability=2``
        with volte).

    References
    ----------
    signalwire/freeswitch src/mod/codecs/mod_amrwb/mod_amrwb.c (mod_amrwb_load,
    switch_amrwb_init) and mod_amr/mod_amr.c, commit cc93a683ca; RFC 4867 section 8.1.

    Examples
    --------
    >>> amr_answer_fmtp("octet-align=1", wideband=True)
    'mode-set=8;octet-align=1'
    >>> amr_answer_fmtp(None, wideband=True)
    'mode-set=8;octet-align=0'
    >>> amr_answer_fmtp("mode-set=0,2,4;octet-align=0", wideband=False, volte=True)
    'mode-set=0,2,4;octet-align=0;max-red=0;mode-change-capability=2'
    """
    oa, modes = force_oa, []
    for part in (offer_fmtp or "").split(";"):
        key, _, value = part.strip().partition("=")
        if key.lower() == "octet-align" and _atoi(value):
            oa = True
        elif key.lower() == "mode-set":
            modes = sorted({_atoi(m) for m in value.split(",") if m.strip()})
    limit = 9 if wideband else 8
    modes = [m for m in modes if 0 <= m < limit]
    text = "mode-set=" + (",".join(map(str, modes)) if modes else str(8 if wideband else 7))
    text += f";octet-align={int(oa)}"
    return text + (";max-red=0;mode-change-capability=2" if volte else "")


def load_codecs(prefs, codecs: dict | None = None, modules=None):
    """Implementations FreeSWITCH picks for a list of prefs, in its final order.

    Parameters
    ----------
    prefs : list of CodecPref or str
        Parsed codec string (a str is parsed first).
    codecs : dict, optional
        Catalogue to use (default :func:`catalogue` of `modules`).
    modules : iterable of str, optional
        Loaded modules (modules.conf.xml); None = every module of the catalogue.

    Returns
    -------
    (list of Implementation, list of str)
        The implementations and the names that no loaded module provides.

    References
    ----------
    signalwire/freeswitch src/switch_loadable_module.c
    ``switch_loadable_module_get_codecs_sorted`` (default 20 ms / 8000 Hz, opus 48000 Hz,
    iLBC 30 ms; duplicates dropped) and ``switch_loadable_module_sort_codecs`` (codecs
    of the first ptime kept together).

    Examples
    --------
    The bundled global_codec_prefs gives the local list that FreeSWITCH's own
    "Audio Codec Compare" lines print on the right in data/freeswitch/public/ and the
    seed log (``opus:116:48000:20:0:1``, ``G722:9:8000:20:64000:1``, ...):

    >>> from labkit import data
    >>> cfg = read_config(data.path("freeswitch_conf"))
    >>> imps, missing = load_codecs(cfg.variables["global_codec_prefs"], modules=cfg.modules)
    >>> [i.log_text() for i in imps[:4]], missing
    (['opus:116:48000:20:0:1', 'G722:9:8000:20:64000:1', 'PCMU:0:8000:20:64000:1', 'PCMA:8:8000:20:64000:1'], [])
    >>> load_codecs("iLBC,AMR-WB,PCMA", modules=cfg.modules)[1]
    ['iLBC', 'AMR-WB']
    """
    if isinstance(prefs, str):
        prefs = parse_codec_string(prefs)
    codecs = catalogue(modules) if codecs is None else codecs
    picked, missing, seen = [], [], []
    for p in prefs:
        key = (p.name.lower(), p.ptime or default_ptime(p.name), p.rate or default_rate(p.name),
               p.channels or 1, (p.fmtp or "").lower())
        if key in seen:
            continue  # the same codec twice in the string counts once
        seen.append(key)
        imp = _pick(codecs.get(p.name.lower(), []), p)
        if imp is None:
            missing.append(p.text or p.name)
        else:
            picked.append(imp)
    return _sort_by_ptime(picked), missing


def _pick(imps, p: CodecPref):
    for strict in (True, False):
        for imp in imps:
            if imp.kind == "video" or _fits(imp, p, strict):
                return imp
    return None


def _fits(imp: Implementation, p: CodecPref, strict: bool) -> bool:
    crate = imp.rate if imp.name.lower() == "g722" else imp.actual_rate
    if strict:
        if imp.ptime != (p.ptime or default_ptime(imp.name)):
            return False
        if (not p.rate and crate != default_rate(imp.name)) or (p.rate and imp.actual_rate != p.rate):
            return False
    else:
        if (p.ptime and imp.ptime != p.ptime) or (p.rate and crate != p.rate):
            return False
    if p.bitrate and imp.bitrate != p.bitrate:
        return False
    return not (p.channels and imp.channels != p.channels)


def _sort_by_ptime(arr: list) -> list:
    """switch_loadable_module_sort_codecs: keep codecs of the first ptime together."""
    arr = list(arr)
    sorted_ptime = 0
    for i in range(len(arr)):
        this = 20 if arr[i].name.lower() == "ilbc" else arr[i].ptime
        if not sorted_ptime:
            sorted_ptime = this
        if i > 0 and arr[i].name.lower() != arr[i - 1].name.lower() and this != sorted_ptime:
            for j in range(i, len(arr)):
                check = 20 if arr[i].name.lower() == "ilbc" else arr[j].ptime
                if check == sorted_ptime:
                    arr[i], arr[j] = arr[j], arr[i]
                    break
            else:
                sorted_ptime = this
    return arr


# ---------------------------------------------------------------------------------------
# configuration


@dataclass(frozen=True)
class FreeswitchConfig:
    """Global variables (vars.xml), Sofia profiles, dialplan channel variables.

    ``variables`` maps name -> value after pre-processing; ``profiles`` maps profile
    name -> {param: value}; ``channel_vars`` maps name -> list of (value, where) set by
    dialplan ``set``/``export`` actions; ``origins`` maps a variable or param to where it
    was set ("vars.xml line 244"); ``findings`` lists traps found while reading.
    ``files`` are the files read, in order; ``modules`` the ``<load module>`` names of a
    modules.conf.xml (None without one).

    References
    ----------
    signalwire/freeswitch conf/vanilla (vars.xml, sip_profiles/internal.xml,
    autoload_configs/modules.conf.xml) and src/switch_xml.c ``preprocess``.

    Examples
    --------
    >>> from labkit import data
    >>> read_config(data.path("freeswitch_conf")).origins["global_codec_prefs"]
    'vars.xml line 20'
    """

    variables: dict
    profiles: dict
    channel_vars: dict = field(default_factory=dict)
    origins: dict = field(default_factory=dict)
    findings: tuple = ()
    files: tuple = ()
    modules: tuple | None = None


_XPP = re.compile(r"<X-PRE-PROCESS\s+cmd\s*=\s*\"([^\"]*)\"\s+data\s*=\s*\"([^\"]*)\"", re.I)
_VAR = re.compile(r"\$\$\{([^}]+)\}")


class _Pre:
    """State of the pre-processor over several files (globals persist, as in FreeSWITCH)."""

    def __init__(self):
        self.variables: dict[str, str] = {}
        self.origins: dict[str, str] = {}
        self.findings: list[str] = []

    def run(self, text: str, where: str) -> str:
        out, in_comment = [], False
        for n, line in enumerate(text.splitlines(), 1):
            line = self._expand(line, f"{where} line {n}")
            m = _XPP.search(line)
            if m:
                if in_comment or "<!--" in line[:m.start()]:
                    self.findings.append(
                        f"{where} line {n}: X-PRE-PROCESS inside an XML comment still runs "
                        "(FreeSWITCH pre-processes comments too); delete the line instead")
                self._command(m.group(1).lower(), m.group(2), f"{where} line {n}")
                out.append("")
                continue
            in_comment = _comment_state(line, in_comment)
            out.append(line)
        return "\n".join(out)

    def _expand(self, line: str, where: str) -> str:
        def repl(m):
            name = m.group(1)
            if name in self.variables:
                return self.variables[name]
            self.findings.append(f"{where}: $${{{name}}} is not set before this line; "
                                 "FreeSWITCH leaves it empty")
            return ""
        return _VAR.sub(repl, line)

    def _command(self, cmd: str, data: str, where: str) -> None:
        if cmd in ("set", "stun-set", "env-set"):
            name, sep, value = data.partition("=")
            if sep:
                self.variables[name.strip()] = value.strip()
                self.origins[name.strip()] = where
        elif cmd in ("exec-set", "exec"):
            self.findings.append(f"{where}: X-PRE-PROCESS {cmd} not run (labkit never "
                                 "executes commands from a configuration)")


def _comment_state(line: str, in_comment: bool) -> bool:
    pos = 0
    while True:
        if in_comment:
            end = line.find("-->", pos)
            if end < 0:
                return True
            in_comment, pos = False, end + 3
        else:
            start = line.find("<!--", pos)
            if start < 0:
                return False
            in_comment, pos = True, start + 4


def _xml(text: str, where: str) -> ET.Element:
    try:
        return ET.fromstring(f"<labkit-root>{_strip_decl(text)}</labkit-root>")
    except ET.ParseError as exc:
        line = exc.position[0] if hasattr(exc, "position") else "?"
        raise ConfigError(f"XML does not parse: {exc}", f"{where} line {line}",
                          "fix the XML (every tag closed, quotes balanced) and try again") from None


def _strip_decl(text: str) -> str:
    return re.sub(r"<\?xml[^>]*\?>", "", text)


def parse_config_text(files: list[tuple[str, str]]) -> FreeswitchConfig:
    """Read configuration from (name, text) pairs: vars first, then profiles/dialplan.

    Parameters
    ----------
    files : list of (str, str)
        (name used in findings and origins, XML text), in load order.

    Returns
    -------
    FreeswitchConfig
        Pre-processed global variables, Sofia profile params, dialplan channel
        variables, origins, findings (traps such as X-PRE-PROCESS inside a comment) and
        the modules of a modules.conf.xml (None without one).

    Raises
    ------
    ConfigError
        When a text does not parse as XML after pre-processing.

    References
    ----------
    signalwire/freeswitch src/switch_xml.c ``preprocess`` (``$${var}`` expanded and
    ``<X-PRE-PROCESS cmd="set">`` run line by line, inside ``<!-- -->`` too);
    conf/vanilla/vars.xml (its own NOTICE says so).

    Examples
    --------
    The bundled vars.xml as text, and the trap its NOTICE warns about:

    >>> from labkit import data
    >>> text = data.path("freeswitch_vars").read_text()
    >>> cfg = parse_config_text([("vars.xml", text)])
    >>> cfg.variables["global_codec_prefs"], cfg.origins["global_codec_prefs"]
    ('OPUS,G722,PCMU,PCMA,H264,VP8', 'vars.xml line 20')
    >>> trap = '<!-- <X-PRE-PROCESS cmd="set" data="global_codec_prefs=G729"/> -->'
    >>> cfg = parse_config_text([("vars.xml", text + trap)])
    >>> cfg.variables["global_codec_prefs"]
    'G729'
    >>> print(cfg.findings[0])  # the appended line
    vars.xml line 28: X-PRE-PROCESS inside an XML comment still runs (FreeSWITCH pre-processes comments too); delete the line instead
    """
    pre = _Pre()
    profiles: dict = {}
    channel_vars: dict = {}
    origins: dict = {}
    modules = None
    for name, text in files:
        raw = dict(_RAW_PARAM.findall(text))  # values before $${} expansion
        root = _xml(pre.run(text, name), name)
        for prof in root.iter("profile"):
            pname = prof.get("name", name)
            params = profiles.setdefault(pname, {})
            for p in prof.iter("param"):
                if p.get("name"):
                    params[p.get("name")] = p.get("value", "")
                    origins[f"{pname}:{p.get('name')}"] = name
                    origins[f"{pname}:{p.get('name')}:raw"] = raw.get(p.get("name"), "")
        for act in root.iter("action"):
            _dialplan_action(act, name, channel_vars)
        for load in root.iter("load"):
            if load.get("module"):
                modules = (modules or ()) + (load.get("module"),)
    origins.update(pre.origins)
    return FreeswitchConfig(variables=dict(pre.variables), profiles=profiles,
                            channel_vars=channel_vars, origins=origins,
                            findings=tuple(dict.fromkeys(pre.findings)),
                            files=tuple(n for n, _ in files), modules=modules)


_RAW_PARAM = re.compile(r"<param\s+name=\"([^\"]+)\"\s+value=\"([^\"]*)\"")
_CHANNEL_VARS = ("absolute_codec_string", "codec_string", "rtp_codec_negotiation",
                 "rtp_secure_media", "rtp_secure_media_inbound", "rtp_secure_media_outbound",
                 "rtp_allow_crypto_in_avp", "fax_enable_t38", "refuse_t38")


def _dialplan_action(act, where, channel_vars) -> None:
    if act.get("application") not in ("set", "export"):
        return
    name, sep, value = (act.get("data") or "").partition("=")
    name = name.strip().removeprefix("nolocal:")
    if sep and name in _CHANNEL_VARS:
        channel_vars.setdefault(name, []).append((value, where))


def read_config(path) -> FreeswitchConfig:
    """Read a FreeSWITCH configuration: a directory (vars.xml, sip_profiles/, dialplan/)
    or one file or a list of files (vars.xml first).

    Parameters
    ----------
    path : str, Path or list of them
        A conf directory (its vars.xml first, then every XML holding a profile, a
        dialplan action, X-PRE-PROCESS or ``<load module>``), one file, or files.

    Returns
    -------
    FreeswitchConfig
        As :func:`parse_config_text`; file names relative to the directory.

    Raises
    ------
    ConfigError
        When a file is missing or its XML (after pre-processing) does not parse.

    References
    ----------
    signalwire/freeswitch conf/vanilla layout (vars.xml, sip_profiles/,
    autoload_configs/modules.conf.xml, dialplan/) and src/switch_xml.c ``preprocess``.

    Examples
    --------
    >>> from labkit import data
    >>> cfg = read_config(data.path("freeswitch_conf"))
    >>> cfg.files
    ('vars.xml', 'autoload_configs/modules.conf.xml', 'sip_profiles/internal.xml')
    >>> cfg.profiles["internal"]["inbound-codec-prefs"], cfg.findings
    ('OPUS,G722,PCMU,PCMA,H264,VP8', ())
    >>> "mod_opus" in cfg.modules, "mod_ilbc" in cfg.modules
    (True, False)
    """
    paths = _config_files(path)
    root = Path(path) if not isinstance(path, (list, tuple)) and Path(path).is_dir() else None
    files = []
    for p in paths:
        try:
            files.append((str(p.relative_to(root)) if root else p.name, p.read_text()))
        except OSError as exc:
            raise ConfigError(f"cannot read configuration file: {exc.strerror}", str(p),
                              "pass an existing vars.xml, profile XML or conf directory") from None
    return parse_config_text(files)


def _config_files(path) -> list[Path]:
    if isinstance(path, (list, tuple)):
        paths = [Path(p) for p in path]
    elif Path(path).is_dir():
        root = Path(path)
        first = sorted(root.rglob("vars.xml"))
        rest = [p for p in sorted(root.rglob("*.xml")) if p not in first]
        paths = first + [p for p in rest if _relevant(p)]
    else:
        paths = [Path(path)]
    if not paths:
        raise ConfigError("no XML files found", str(path), "point at FreeSWITCH's conf dir")
    return sorted(paths, key=lambda p: p.name != "vars.xml")


def _relevant(p: Path) -> bool:
    text = p.read_text(errors="replace")[:200000]
    return ("<profile" in text or "<action" in text or "X-PRE-PROCESS" in text
            or "<load module" in text)


@dataclass(frozen=True)
class EffectivePrefs:
    """The codec list a call gets, and why (switch_core_media_prepare_codecs order).

    Attributes
    ----------
    codec_string : str
        The codec string in force.
    source : str
        The setting it came from ("absolute_codec_string", "inbound-codec-prefs",
        "fallback" ...).
    chain : tuple of str
        Where it was set, step by step through ``$${}`` variables.
    prefs : tuple of CodecPref
        The string parsed.
    mode : str
        Negotiation mode ("generous", "greedy", "scrooge").
    implementations : tuple of Implementation
        What :func:`load_codecs` picked, in FreeSWITCH's order.
    missing : tuple of str
        Entries no loaded module provides (dropped without a log line).

    References
    ----------
    signalwire/freeswitch src/switch_core_media.c ``switch_core_media_prepare_codecs``.

    Examples
    --------
    >>> effective_prefs().source, effective_prefs().mode
    ('fallback', 'generous')
    """

    codec_string: str
    source: str
    chain: tuple
    prefs: tuple
    mode: str
    implementations: tuple
    missing: tuple


def effective_prefs(config: FreeswitchConfig | None = None, *, profile: str | None = None,
                    direction: str = "inbound", channel_vars: dict | None = None,
                    mode: str | None = None,
                    originator_codec: str | None = None) -> EffectivePrefs:
    """Effective local codec list for a call through `profile`.

    First that applies: ``absolute_codec_string``; for a bridged leg not yet answered,
    the codec the originating leg negotiated (`originator_codec`, e.g. ``PCMA@8000h@20i``);
    ``codec_string`` (a leading ``=``
    means exactly this); the profile's ``inbound-codec-prefs`` (inbound) or
    ``outbound-codec-prefs`` (the other one as fallback, ``codec-prefs`` sets both);
    else ``PCMU@20i,PCMA@20i,speex@20i``. Channel variables given here win over those
    the dialplan sets. Mode: ``rtp_codec_negotiation`` channel variable, else the
    profile's ``inbound-codec-negotiation`` (generous by default).

    Parameters
    ----------
    config : FreeswitchConfig, optional
        From :func:`read_config`; None = empty (the built-in fallback applies).
    profile : str, optional
        Sofia profile name; default "internal" if present, else the first.
    direction : {"inbound", "outbound"}
        Which profile param comes first.
    channel_vars : dict, optional
        Channel variables (``absolute_codec_string``, ``codec_string``,
        ``rtp_codec_negotiation``) that win over the dialplan's.
    mode : str, optional
        Negotiation mode forced ("generous", "greedy", "scrooge").
    originator_codec : str, optional
        The codec the originating leg negotiated (``PCMA@8000h@20i``).

    Returns
    -------
    EffectivePrefs
        codec_string, source (which setting won), chain (where it was set, through
        ``$${}`` variables), prefs, mode, implementations (as :func:`load_codecs`) and
        missing (entries no loaded module provides).

    References
    ----------
    signalwire/freeswitch src/switch_core_media.c ``switch_core_media_prepare_codecs``
    (absolute_codec_string, originator codec, codec_string, profile prefs, fallback
    ``PCMU@20i,PCMA@20i,speex@20i``); mod_sofia sofia.c (``inbound-codec-prefs``,
    ``outbound-codec-prefs``, ``codec-prefs``, ``inbound-codec-negotiation``).

    Examples
    --------
    >>> from labkit import data
    >>> e = effective_prefs(read_config(data.path("freeswitch_conf")))
    >>> e.codec_string, e.source, e.mode
    ('OPUS,G722,PCMU,PCMA,H264,VP8', 'inbound-codec-prefs', 'generous')
    >>> for step in e.chain:
    ...     print(step)
    inbound-codec-prefs of Sofia profile internal (sip_profiles/internal.xml)
    $${global_codec_prefs} = 'OPUS,G722,PCMU,PCMA,H264,VP8' (vars.xml line 20)
    >>> effective_prefs().codec_string        # no configuration: the built-in fallback
    'PCMU@20i,PCMA@20i,speex@20i'
    """
    config = config or FreeswitchConfig({}, {})
    params = _profile_params(config, profile)
    cvars = {k: v[-1][0] for k, v in config.channel_vars.items()}
    cvars.update(channel_vars or {})
    text, source, chain = _choose_string(config, params, cvars, direction, profile)
    if originator_codec and source != "absolute_codec_string":
        text, source, chain = originator_codec, "originator codec", (
            "codec negotiated on the originating leg (bridge, before answer)",)
    mode = (mode or cvars.get("rtp_codec_negotiation") or
            params.get("inbound-codec-negotiation") or "generous").lower()
    prefs = parse_codec_string(text)
    imps, missing = load_codecs(prefs, modules=config.modules)
    return EffectivePrefs(text, source, chain, tuple(prefs), mode, tuple(imps), tuple(missing))


def listed_not_loaded(prefs: EffectivePrefs, config: FreeswitchConfig | None = None) -> list:
    """Codecs the list in force names but no loaded module provides, with the module.

    FreeSWITCH drops them without a word (they never appear in the compare lines). With a
    modules.conf.xml in `config`, its ``<load module>`` lines decide; else all of
    labkit's catalogue counts as loaded.

    Parameters
    ----------
    prefs : EffectivePrefs
        The list in force (:func:`effective_prefs`).
    config : FreeswitchConfig, optional
        Unused beyond documenting where the modules came from (``prefs.missing`` was
        computed with its modules).

    Returns
    -------
    list of (str, str)
        (codec string entry, module that would provide it or "" when none is known).

    References
    ----------
    signalwire/freeswitch src/switch_loadable_module.c
    ``switch_loadable_module_get_codecs_sorted`` (an entry without an implementation is
    skipped without a log line); conf/vanilla/autoload_configs/modules.conf.xml
    (mod_ilbc commented out, mod_amrwb absent).

    Examples
    --------
    >>> from labkit import data
    >>> cfg = read_config(data.path("freeswitch_conf"))
    >>> prefs = effective_prefs(cfg, channel_vars={"absolute_codec_string": "AMR-WB,iLBC,PCMA"})
    >>> listed_not_loaded(prefs, cfg)
    [('AMR-WB', 'mod_amrwb'), ('iLBC', 'mod_ilbc')]
    """
    full = catalogue()
    out = []
    for entry in prefs.missing:
        name = entry.split("@")[0].split("~")[0].lower()
        mods = sorted({i.module for i in full.get(name, [])})
        out.append((entry, mods[0] if mods else ""))
    return out


def codec_string_table(text: str, modules=None):
    """A codec string entry by entry: what each asks for and the implementation it gets.

    Parameters
    ----------
    text : str
        A codec string (``OPUS,G722,PCMU@30i,AMR-WB@16000h@20i@23850b@1c``).
    modules : iterable of str, optional
        Loaded modules (``FreeswitchConfig.modules``); None = all of the catalogue.

    Returns
    -------
    pandas.DataFrame
        entry, name, rate_hz, ptime_ms, bitrate (bit/s), channels (0 = not given), module,
        implementation (as the compare log prints it, or "not loaded").

    References
    ----------
    signalwire/freeswitch src/switch_loadable_module.c (switch_parse_codec_buf,
    switch_loadable_module_get_codecs_sorted).

    Examples
    --------
    >>> t = codec_string_table("PCMU@30i,AMR-WB", modules=VANILLA_CODEC_MODULES)
    >>> t[["entry", "ptime_ms", "module", "implementation"]].values.tolist()
    [['PCMU@30i', 30, 'CORE_PCM_MODULE', 'PCMU:0:8000:30:64000:1'], ['AMR-WB', 0, 'mod_amrwb', 'not loaded']]
    """
    import pandas as pd
    full = catalogue()
    rows = []
    for p in parse_codec_string(text):
        imps, _ = load_codecs([p], modules=modules)
        mods = sorted({i.module for i in full.get(p.name.lower(), [])})
        rows.append({"entry": p.text, "name": p.name, "rate_hz": p.rate, "ptime_ms": p.ptime,
                     "bitrate": p.bitrate, "channels": p.channels,
                     "module": mods[0] if mods else "unknown",
                     "implementation": imps[0].log_text() if imps else "not loaded"})
    return pd.DataFrame(rows, columns=["entry", "name", "rate_hz", "ptime_ms", "bitrate",
                                       "channels", "module", "implementation"])


def codec_status(names, prefs: EffectivePrefs, config: FreeswitchConfig | None = None):
    """For each offered codec name: is it loaded at all, and is it in the list in force?

    Only a codec that is both can match: a codec listed but not loaded is dropped from the
    list, one loaded but not listed is never compared.

    Parameters
    ----------
    names : iterable of str
        Offered codec names (``["GSM"]``, the left side of the compare lines).
    prefs : EffectivePrefs
        The list in force (:func:`effective_prefs`).
    config : FreeswitchConfig, optional
        For its modules.conf.xml (``modules``); None = all of the catalogue loaded.

    Returns
    -------
    pandas.DataFrame
        codec, module, loaded, listed, can_match (loaded and listed).

    References
    ----------
    signalwire/freeswitch src/switch_loadable_module.c (a codec string entry without a
    loaded implementation is skipped), src/switch_core_media.c (only the list is compared).

    Examples
    --------
    >>> from labkit import data
    >>> cfg = read_config(data.path("freeswitch_conf"))
    >>> t = codec_status(["GSM", "AMR-WB"], effective_prefs(cfg), cfg)
    >>> t.values.tolist()
    [['GSM', 'mod_spandsp', True, False, False], ['AMR-WB', 'mod_amrwb', False, False, False]]
    """
    import pandas as pd
    full = catalogue()
    loaded = catalogue(config.modules if config is not None else None)
    listed = {p.name.lower() for p in prefs.prefs}
    rows = []
    for name in dict.fromkeys(names):
        key = name.lower()
        mods = sorted({i.module for i in full.get(key, [])})
        rows.append({"codec": name, "module": mods[0] if mods else "not a known module",
                     "loaded": key in loaded, "listed": key in listed,
                     "can_match": key in loaded and key in listed})
    return pd.DataFrame(rows, columns=["codec", "module", "loaded", "listed", "can_match"])


def _profile_params(config, profile) -> dict:
    if profile is None:
        profile = "internal" if "internal" in config.profiles else next(iter(config.profiles), None)
    if profile is not None and profile not in config.profiles:
        raise LabkitError(f"no Sofia profile named {profile!r}", None,
                          f"choose one of {sorted(config.profiles)}")
    return config.profiles.get(profile, {}) if profile else {}


def _choose_string(config, params, cvars, direction, profile):
    for var in ("absolute_codec_string", "codec_string"):
        if cvars.get(var):
            return cvars[var], var, (f"channel variable {var}",)
    first, second = (("inbound-codec-prefs", "outbound-codec-prefs") if direction == "inbound"
                     else ("outbound-codec-prefs", "inbound-codec-prefs"))
    for key in (first, "codec-prefs", second):
        if params.get(key):
            return params[key], key, _param_chain(config, profile, key)
    return FALLBACK_CODEC_STRING, "fallback", ("FreeSWITCH built-in fallback",)


def _param_chain(config, profile, key) -> tuple:
    """Where the value came from: 'inbound-codec-prefs' <- '$${global_codec_prefs}' ..."""
    if profile is None:
        profile = "internal" if "internal" in config.profiles else next(iter(config.profiles))
    chain = [f"{key} of Sofia profile {profile} ({config.origins.get(f'{profile}:{key}', '?')})"]
    for var in _VAR.findall(config.origins.get(f"{profile}:{key}:raw", "")):
        chain.append(f"$${{{var}}} = {config.variables.get(var, '')!r} "
                     f"({config.origins.get(var, 'not set')})")
    return tuple(chain)
