"""Real-software lab: baresip, kamailio, rtpengine on loopback / in namespaces.

- ``python -m tools.lab.make [NAME ...]`` regenerates data/lab/*.pcap and MANIFEST.tsv
  (needs root; tools/setup.sh installs baresip-core, kamailio, rtpengine-daemon,
  tshark, espeak-ng).
- Modules: sandbox (temp dir, network namespaces on a bridge, processes stopped by PID),
  audio (tone/speech/silence WAV sources), baresip (one user agent), proxy (kamailio
  script + rtpengine), capture (dumpcap, tshark checks), scenarios (the calls), make.
"""
