"""Real software for notebooks 10 and 11, on loopback: kamailio 5.6 (siptrace HEP3,
xhttp_prom /metrics), SIPp 3.6 (calls, REGISTERs, a busy callee), sngrep 1.6 (a HEP
receiver), Prometheus 2.42 (scraping kamailio), dumpcap (the capture).

Every daemon is an ordinary child process started here and stopped by its PID.
``python -m tools.ops.record`` records the bundled data under data/ops.
"""
