"""ITU-T G.107 E-model: transmission rating R and MOS, with the delay term.

R = Ro - Is - Id - Ie,eff + A, all default parameters of G.107 Table 3 except the delays
(T, Ta, Tr) and the codec's Ie/Bpl with the packet loss Ppl and BurstR. Wideband codecs
(AMR-WB, G.722, opus) use the G.107.1 scale Ro,WB = 129 with Ie,eff,WB and MOS from
R/1.29; there the other impairments are the narrowband ones (an approximation, said in
:func:`codec_constants`' note).

Constants were checked against an open implementation that reproduces the G.107 default
R = 93.2062 (REFERENCE.md section 5); the ITU PDFs were not reachable from the machine
that wrote this, so codec Ie/Bpl values carry their source or "assumed".
"""
from __future__ import annotations

import math

__all__ = ["r_factor", "mos_from_r", "codec_constants", "e_model", "CODECS"]

# G.107 (06/2015) Table 3 default values
DEFAULTS = dict(SLR=8.0, RLR=2.0, STMR=15.0, LSTR=18.0, Ds=3.0, TELR=65.0, WEPL=110.0,
                qdu=1.0, Nc=-70.0, Nfor=-64.0, Ps=35.0, Pr=35.0, A=0.0)

# name -> (band, Ie, Bpl, source). G.113 Appendix I values as REFERENCE.md section 5
# gives them (secondary source); the others are assumptions, reported as such.
CODECS = {
    "g711A": ("nb", 0.0, 25.1, "G.113 Appendix I (G.711 with PLC) [secondary source]"),
    "g711U": ("nb", 0.0, 25.1, "G.113 Appendix I (G.711 with PLC) [secondary source]"),
    "g729": ("nb", 11.0, 19.0, "G.113 Appendix I (G.729A + VAD) [secondary source]"),
    "GSM": ("nb", 20.0, 10.0, "assumed (GSM-FR Ie 20, Bpl of GSM-EFR): not verified"),
    "AMR": ("nb", 5.0, 10.0, "assumed (AMR 12.2 = GSM-EFR, G.113 App. I Ie 5, Bpl 10): not verified"),
    "AMR-WB": ("wb", 1.0, 10.0, "assumed (Ie,WB 1, Bpl 10 for AMR-WB 23.85): not verified"),
    "g722": ("wb", 13.0, 4.3, "assumed (Ie,WB 13, Bpl 4.3): not verified"),
    "opus": ("wb", 0.0, 10.0, "assumed (Ie,WB 0, Bpl 10): not verified"),
}


def _lg(x: float) -> float:
    return math.log10(x)


def r_factor(T: float = 0.0, Ta: float = 0.0, Tr: float = 0.0, Ie: float = 0.0,
             Bpl: float = 1.0, Ppl: float = 0.0, BurstR: float = 1.0, **overrides) -> dict:
    """Narrowband E-model rating R and its terms.

    Parameters
    ----------
    T : float
        Mean one-way delay of the echo path [ms].
    Ta : float
        Absolute one-way delay [ms] (mouth to ear).
    Tr : float
        Round-trip delay of the 4-wire loop [ms] (listener echo).
    Ie, Bpl : float
        Codec equipment impairment and packet-loss robustness.
    Ppl : float
        Packet loss [%] (network loss plus jitter-buffer discards).
    BurstR : float
        Burst ratio (1 = random loss).
    **overrides
        Any G.107 Table 3 parameter (SLR, RLR, STMR, LSTR, Ds, TELR, WEPL, qdu, Nc,
        Nfor, Ps, Pr, A).

    Returns
    -------
    dict
        R, Ro, Is, Idte, Idle, Idd, Ie_eff.

    References
    ----------
    ITU-T G.107 (06/2015) sections 7.1-7.5 (Ro, Is, Id, Ie,eff) and Table 3 (defaults).

    Examples
    --------
    The default connection (REFERENCE.md section 5: R 93.2062 = Ro 94.7688 - Is 1.4136
    - Idle 0.149):

    >>> r = r_factor()
    >>> round(r["R"], 4), round(r["Ro"], 4), round(r["Is"], 4), round(r["Idle"], 3)
    (93.2062, 94.7688, 1.4136, 0.149)
    """
    p = {**DEFAULTS, **overrides}
    OLR = p["SLR"] + p["RLR"]
    Nfo = p["Nfor"] + p["RLR"]
    Pre = p["Pr"] + 10 * _lg(1 + 10 ** ((10 - p["LSTR"]) / 10))
    Nor = p["RLR"] - 121 + Pre + 0.008 * (Pre - 35) ** 2
    Nos = p["Ps"] - p["SLR"] - p["Ds"] - 100 + 0.004 * (p["Ps"] - OLR - p["Ds"] - 14) ** 2
    No = 10 * _lg(10 ** (p["Nc"] / 10) + 10 ** (Nos / 10) + 10 ** (Nor / 10) + 10 ** (Nfo / 10))
    Ro = 15 - 1.5 * (p["SLR"] + No)
    Xolr = OLR + 0.2 * (64 + No - p["RLR"])
    Iolr = 20 * ((1 + (Xolr / 8) ** 8) ** (1 / 8) - Xolr / 8)
    STMRo = -10 * _lg(10 ** (-p["STMR"] / 10) + math.exp(-T / 4) * 10 ** (-p["TELR"] / 10))
    Ist = (12 * (1 + ((STMRo - 13) / 6) ** 8) ** (1 / 8)
           - 28 * (1 + ((STMRo + 1) / 19.4) ** 35) ** (1 / 35)
           - 13 * (1 + ((STMRo - 3) / 33) ** 13) ** (1 / 13) + 29)
    Q = 37 - 15 * _lg(p["qdu"])
    G = 1.07 + 0.258 * Q + 0.0602 * Q * Q
    Y = (Ro - 100) / 15 + 46 / 8.4 - G / 9
    Z = 46 / 30 - G / 40
    Iq = 15 * _lg(1 + 10 ** Y + 10 ** Z)
    Is = Iolr + Ist + Iq
    TERV = p["TELR"] - 40 * _lg((1 + T / 10) / (1 + T / 150)) + 6 * math.exp(-0.3 * T * T)
    Roe = -1.5 * (No - p["RLR"])
    Re = 80 + 2.5 * (TERV - 14)
    Idte = ((Roe - Re) / 2 + math.sqrt((Roe - Re) ** 2 / 4 + 100) - 1) * (1 - math.exp(-T))
    Rle = 10.5 * (p["WEPL"] + 7) * (Tr + 1) ** -0.25
    Idle = (Ro - Rle) / 2 + math.sqrt((Ro - Rle) ** 2 / 4 + 169)
    Idd = 0.0
    if Ta > 100:
        X = _lg(Ta / 100) / _lg(2)
        Idd = 25 * ((1 + X ** 6) ** (1 / 6) - 3 * (1 + (X / 3) ** 6) ** (1 / 6) + 2)
    Ie_eff = Ie + (95 - Ie) * Ppl / (Ppl / BurstR + Bpl) if Ppl > 0 else Ie
    R = Ro - Is - (Idte + Idle + Idd) - Ie_eff + p["A"]
    return dict(R=R, Ro=Ro, Is=Is, Idte=Idte, Idle=Idle, Idd=Idd, Ie_eff=Ie_eff)


def mos_from_r(R: float) -> float:
    """Estimated MOS (conversational quality) from R.

    Parameters
    ----------
    R : float
        Narrowband rating (for wideband pass R_WB / 1.29).

    Returns
    -------
    float
        1 for R < 0; 4.5 for R > 100; else 1 + 0.035 R + R (R - 60)(100 - R) 7e-6.

    References
    ----------
    ITU-T G.107 (06/2015) Annex B, equation B-4.

    Examples
    --------
    >>> round(mos_from_r(93.2), 2), mos_from_r(-3), mos_from_r(120)
    (4.41, 1.0, 4.5)
    """
    if R < 0:
        return 1.0
    if R > 100:
        return 4.5
    return 1 + 0.035 * R + R * (R - 60) * (100 - R) * 7e-6


def codec_constants(codec: str, override: str | None = None) -> dict:
    """Band, Ie, Bpl of a codec (as Wireshark names it) and where the values come from.

    Parameters
    ----------
    codec : str
        Payload name ("g711A", "g729", "AMR-WB", ...).
    override : str, optional
        Use this codec's constants instead (e.g. "g711A" for an unknown dynamic PT).

    Returns
    -------
    dict
        codec, band ("nb" | "wb"), Ie, Bpl, source (text; "assumed ..." when not
        verified, "unknown codec: G.711 values assumed" when the codec is not in the table).

    References
    ----------
    ITU-T G.113 Appendix I (Ie, Bpl), ITU-T G.107.1 (wideband), REFERENCE.md section 5.

    Examples
    --------
    >>> codec_constants("g711A")["Bpl"], codec_constants("AMR-WB")["band"]
    (25.1, 'wb')
    >>> codec_constants("speex")["source"]
    'unknown codec speex: G.711 values assumed (not verified)'
    """
    name = override or codec
    for key, (band, ie, bpl, src) in CODECS.items():
        if key.lower() == str(name).lower():
            return dict(codec=key, band=band, Ie=ie, Bpl=bpl, source=src)
    return dict(codec=str(name), band="nb", Ie=0.0, Bpl=25.1,
                source=f"unknown codec {name}: G.711 values assumed (not verified)")


def e_model(ppl_pct: float, burst_r: float, delay_ms: float, constants: dict) -> dict:
    """R and MOS of a call leg: loss [%], burst ratio, mouth-to-ear delay [ms], codec.

    Parameters
    ----------
    ppl_pct : float
        Packet loss including jitter-buffer discards [%].
    burst_r : float
        BurstR.
    delay_ms : float
        One-way mouth-to-ear delay [ms]; used as T = Ta, with Tr = 2 T.
    constants : dict
        From :func:`codec_constants`.

    Returns
    -------
    dict
        R (on the codec's scale: 0-100 narrowband, 0-129 wideband), MOS, band.

    References
    ----------
    ITU-T G.107 (06/2015) section 7 and Annex B; ITU-T G.107.1 (Ro,WB 129,
    Ie,eff,WB = Ie,WB + (129 - Ie,WB) Ppl/(Ppl/BurstR + Bpl), MOS from R/1.29).

    Examples
    --------
    REFERENCE.md section 5 sanity values (no loss, G.711): 150 ms -> R 89.5, MOS 4.33.

    >>> e = e_model(0.0, 1.0, 150.0, codec_constants("g711A"))
    >>> round(e["R"], 1), round(e["MOS"], 2)
    (89.5, 4.33)
    """
    t = float(delay_ms)
    base = r_factor(T=t, Ta=t, Tr=2 * t, Ie=constants["Ie"], Bpl=constants["Bpl"],
                    Ppl=ppl_pct, BurstR=burst_r)
    if constants["band"] == "nb":
        return dict(R=base["R"], MOS=mos_from_r(base["R"]), band="nb")
    ie = constants["Ie"]
    ie_eff = ie + (129 - ie) * ppl_pct / (ppl_pct / burst_r + constants["Bpl"]) if ppl_pct > 0 else ie
    r_wb = 129 - base["Is"] - (base["Idte"] + base["Idle"] + base["Idd"]) - ie_eff
    return dict(R=r_wb, MOS=mos_from_r(r_wb / 1.29), band="wb")
