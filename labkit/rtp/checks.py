"""Doctor checks of RTP streams: loss and sequence problems, as ``tshark -z rtp,streams``
counts them (Wireshark 4.0 ui/tap-rtp-common.c; RFC 3550 appendix A.3)."""
from __future__ import annotations

from labkit.findings import Finding, Skip, register_check

__all__: list[str] = []


def _where(r) -> str:
    return f"stream {r.stream} {r.src}:{r.sport} -> {r.dst}:{r.dport} SSRC 0x{int(r.ssrc):08X}"


@register_check("rtp.loss", notebook="00_start_here.ipynb")
def _rtp_loss(ctx) -> list[Finding]:
    """Streams with lost packets or sequence/timestamp problems (tshark's "X")."""
    streams = ctx.streams
    if not len(streams):
        raise Skip("no RTP stream (with SDP or the rtp_udp heuristic)")
    out = []
    for r in streams.sort_values("stream").itertuples():
        if r.lost > 0:
            out.append(Finding("warning", "rtp.loss", f"{r.lost} of {r.expected} packets lost "
                               f"({r.lost_pct:.1f} %)", _where(r),
                               "loss is heard as gaps; above ~1 % random loss MOS falls below 4",
                               "check the path (and the capture point: capture loss looks alike)",
                               "05_jitter_on_virtualised_hosts.ipynb -p CAPTURE <file>"))
        elif r.problem:
            out.append(Finding("info", "rtp.loss", "sequence or timestamp problems "
                               f"({r.seq_errors} sequence errors, no net loss)", _where(r),
                               "duplicates or reordering (tshark marks the stream X)", "",
                               "00_start_here.ipynb -p CAPTURE <file>"))
    return out
