"""labkit.amr.codec: the one codec identification (override > SDP > payload > static PT)."""
from __future__ import annotations

import numpy as np

from labkit.amr import AmrFrame, codec_name, identify_codec, packetize_amr


def _wb_payloads(n=50, octet_aligned=False):
    rng = np.random.default_rng(1)
    # AMR-WB mode 8 (23.85 kbit/s) = 477 speech bits (RFC 4867 / TS 26.201 table), one frame a packet.
    frames = [AmrFrame(8, True, bytes(rng.integers(0, 256, 60, dtype=np.uint8)[:60]))
              for _ in range(n)]
    return [packetize_amr([f], wideband=True, octet_aligned=octet_aligned) for f in frames], \
        np.arange(n) * 320


def test_static_payload_types_come_from_rfc3551():
    assert identify_codec(3, [], [])[:3] == ("GSM", False, "static PT")
    assert identify_codec(5, [], [])[0] == "DVI4"      # RFC 3551 table 4
    assert identify_codec(35, [], [])[0] == "PT 35"    # unassigned


def test_sdp_decides_framing_by_octet_align():
    assert identify_codec(97, [], [], sdp=("amr-wb", None))[:3] == ("AMR-WB", False, "SDP")
    assert identify_codec(97, [], [], sdp=("AMR", "octet-align=1"))[:3] == ("AMR", True, "SDP")
    assert identify_codec(97, [], [], sdp=("AMR", "octet-align=1;crc=1"))[2] == "SDP (unsupported fmtp)"


def test_payload_structure_without_sdp():
    for oa in (False, True):
        pay, ts = _wb_payloads(octet_aligned=oa)
        codec, got_oa, source, _ = identify_codec(99, pay, ts)
        assert (codec, got_oa) == ("AMR-WB", oa) and source.startswith("heuristic")


def test_override_wins_and_names_fold():
    pay, ts = _wb_payloads(octet_aligned=True)
    assert identify_codec(0, pay, ts, override="amr_wb")[:3] == ("AMR-WB", True, "given")
    assert [codec_name(n) for n in ("AMRWB", "amr-nb", "evs", "opus")] == ["AMR-WB", "AMR", "EVS", "opus"]
