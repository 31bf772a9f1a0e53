"""Doctor checks of media timing: host stalls (a relay that stops, then bursts) and network
delay variation over the ITU-T Y.1541 objective (REFERENCE.md section 5; RFC 5481)."""
from __future__ import annotations

from labkit.findings import Finding, Skip, register_check

__all__: list[str] = []

_NB = "05_jitter_on_virtualised_hosts.ipynb -p CAPTURE <file>"


@register_check("quality.host_stalls", notebook="05_jitter_on_virtualised_hosts.ipynb")
def _host_stalls(ctx) -> list[Finding]:
    """Stalls aligned across streams (host) or per-path delay variation (network)."""
    if not ctx.rtp.n_streams:
        raise Skip("no RTP stream (with SDP or the rtp_udp heuristic)")
    from labkit.quality import analyze_jitter
    rep = analyze_jitter(ctx.rtp, buffers=(50.0,))
    if not rep.streams:
        raise Skip("no RTP stream long enough to analyse: " +
                   "; ".join(s["reason"] for s in rep.skipped))
    v = rep.verdict
    if rep.cause == "host":
        hosts = sorted(set(rep.events[rep.events["kind"] == "host"]["src"]))
        return [Finding("error", "quality.host_stalls", v["verdict"], "relay " + ", ".join(hosts),
                        "a host that stops running the relay holds every stream, then releases "
                        "a burst: a 50 ms jitter buffer drops the late ones (choppy audio)",
                        "pin the relay's vCPUs / dedicate cores, check CPU steal, or move the "
                        "relay off the oversubscribed host", _NB)]
    if rep.cause == "network":
        worst = max(rep.streams, key=lambda s: s["pdv_ms"]["p99.9"])
        return [Finding("warning", "quality.host_stalls", v["verdict"], worst["key"],
                        "delay variation differs per path: the network (or a sender), not one host",
                        "look at the path of the worst streams (queues, Wi-Fi, shaping)", _NB)]
    return []
