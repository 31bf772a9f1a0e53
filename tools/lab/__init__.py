"""Real-software lab: baresip, kamailio, rtpengine on loopback / in namespaces."""
