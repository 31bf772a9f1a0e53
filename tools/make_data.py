"""Regenerate every bundled file under data/ (``make data``).

Each area has one builder module with a ``main()``; they write their files and their
folder's MANIFEST.tsv. Builders that need real software (baresip, kamailio, rtpengine)
run it on loopback or in network namespaces they create, and clean up after themselves.
"""
from __future__ import annotations

import importlib
import sys

BUILDERS = [
    "tools.lab.make",        # real-software captures -> data/lab
    "tools.synth.make_amr",  # synthetic AMR/AMR-WB captures -> data/synth
    "tools.synth.make_sms",  # SMS over IMS captures -> data/sms
    "tools.freeswitch.make", # FreeSWITCH config/log samples -> data/freeswitch
    "tools.jitterlab",       # rtpengine frozen (host) vs netem (network) -> data/jitter
    "tools.rating.make",     # CGrateS tariff and CDRs -> data/rating
    "tools.timers.make",     # SIPp peers with scripted timing -> data/timers
    "tools.lab.make_auth",   # real kamailio auth + SIPp/baresip REGISTERs -> data/auth
    "tools.synth.make_auth", # built digest cases -> data/authsynth
    "tools.synth.make_ifc",  # iFC profiles and requests -> data/ifc
]


def main(argv: list[str] | None = None) -> int:
    """Run every builder (or only those named in `argv`)."""
    names = argv or BUILDERS
    for name in names:
        print(f"make data: {name}", flush=True)
        importlib.import_module(name).main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
