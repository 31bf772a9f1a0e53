"""What did Kamailio count? Prometheus metrics next to the capture's own counts.

Kamailio's xhttp_prom module serves every internal statistic on ``/metrics`` in the
Prometheus text format (``kamailio_core_rcv_requests_invite 5 1796276846389``: no
``# TYPE`` lines, a timestamp [ms] on every sample). This module reads that format
with prometheus_client's parser (a file, a URL, or many scrapes appended to one file),
asks a Prometheus server for the same series (HTTP API ``/api/v1/query_range``), and
counts the same things in a capture, so the two can be compared over a burst.

Counters compared (kamailio 5.6 core statistics, counted per received message):
``kamailio_core_rcv_requests_<method>`` (invite, ack, bye, cancel, register, options,
...), ``kamailio_core_rcv_replies_<N>xx``, ``..._18x``, ``..._<N>xx_<method>``
(invite, bye, cancel, reg, message, prack, refer, update) and the totals
``kamailio_core_rcv_requests`` / ``kamailio_core_rcv_replies``. Known differences: the
HTTP GET of every scrape is counted in ``kamailio_core_rcv_requests`` (xhttp parses it
as a request), so use the per-method counters; a request the capture saw but Kamailio
did not count was lost before Kamailio (socket buffer, firewall); retransmissions are
counted by both (each is a received message) and are shown separately.

References
----------
.. [1] Prometheus text exposition format 0.0.4
   (prometheus.io/docs/instrumenting/exposition_formats).
.. [2] Prometheus HTTP API, range queries (prometheus.io/docs/prometheus/latest/querying/api).
.. [3] Kamailio 5.6 xhttp_prom module README; core statistics (src/core/counters.c,
   src/core/receive.c).
.. [4] RFC 3261 section 7 (requests and responses), 17.1.1 / 17.2.1 (retransmissions).

Examples
--------
>>> m = parse_metrics("kamailio_core_rcv_requests_invite 5 1796276846389\\n")
>>> m.values.tolist()          # timestamp [ms] in the text, [s] here
[['kamailio_core_rcv_requests_invite', '', 5.0, 1796276846.389]]
"""
from __future__ import annotations

import json
from pathlib import Path

from labkit.errors import LabkitError

__all__ = ["parse_metrics", "read_metrics", "scrape_metrics", "query_range",
           "parse_query_range", "counter_deltas", "capture_counts", "compare_counts",
           "rates", "capture_rates", "scrape_times", "rate_disagreements", "busiest_destination", "burst_comparison",
           "REPLY_METHODS"]

#: Methods that have their own reply counters in kamailio core (name used in the metric).
REPLY_METHODS = {"INVITE": "invite", "BYE": "bye", "CANCEL": "cancel", "REGISTER": "reg",
                 "MESSAGE": "message", "PRACK": "prack", "REFER": "refer",
                 "UPDATE": "update"}
_COLUMNS = ["name", "labels", "value", "timestamp"]


def _bad_line(text: str) -> tuple[int, str] | None:
    from prometheus_client.parser import text_string_to_metric_families
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            list(text_string_to_metric_families(line + "\n"))
        except ValueError:
            return n, line
    return None


def parse_metrics(text: str, *, source: str = "metrics") -> "pd.DataFrame":
    """Every sample of a Prometheus text-format body, one row each.

    Parameters
    ----------
    text : str
        The body of ``/metrics`` (format 0.0.4), or several scrapes appended.
    source : str
        Name used in error messages (URL or file).

    Returns
    -------
    pandas.DataFrame
        Columns name, labels (``"k=v,k=v"`` sorted, ``""`` when none), value, timestamp
        [s since the Unix epoch, NaN when the sample has none], in body order.

    Raises
    ------
    LabkitError
        When a line does not parse (names the line) or the body holds no sample.

    References
    ----------
    Prometheus text exposition format 0.0.4; prometheus_client.parser.

    Examples
    --------
    >>> body = 'kamailio_sl_200_replies 3 1000\\nhttp{code="486",m="INVITE"} 2\\n'
    >>> parse_metrics(body)[["name", "labels", "value"]].values.tolist()
    [['kamailio_sl_200_replies', '', 3.0], ['http', 'code=486,m=INVITE', 2.0]]
    """
    import pandas as pd
    from prometheus_client.parser import text_string_to_metric_families
    try:
        rows = [(s.name, ",".join(f"{k}={v}" for k, v in sorted(s.labels.items())),
                 float(s.value), float("nan") if s.timestamp is None else float(s.timestamp))
                for fam in text_string_to_metric_families(text) for s in fam.samples]
    except (ValueError, TypeError, IndexError) as exc:
        bad = _bad_line(text)
        where = f"{source}, line {bad[0]}" if bad else source
        shown = f": {bad[1][:80]!r}" if bad else f" ({exc})"
        raise LabkitError(f"not Prometheus text format{shown}", where,
                          "check the URL is the /metrics endpoint (kamailio: xhttp_prom "
                          "with prom_dispatch() in event_route[xhttp:request])") from exc
    if not rows:
        kind = "HTML" if "<html" in text[:500].lower() else "no sample"
        raise LabkitError(f"{kind} in the body, not Prometheus metrics", source,
                          "point at the /metrics path of the exporter")
    return pd.DataFrame(rows, columns=_COLUMNS)


def scrape_metrics(url: str, *, timeout: float = 5.0) -> str:
    """GET `url` (an exporter's /metrics) and return the body.

    Parameters
    ----------
    url : str
        E.g. ``http://127.0.0.1:9090/metrics``.
    timeout : float
        [s].

    Returns
    -------
    str

    Raises
    ------
    LabkitError
        Not reachable, timeout, HTTP error: names the URL and what to check.

    References
    ----------
    Kamailio xhttp_prom README (event_route[xhttp:request], prom_dispatch()).

    Examples
    --------
    >>> scrape_metrics("http://127.0.0.1:9/metrics", timeout=1)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    labkit.errors.LabkitError: http://127.0.0.1:9/metrics: not reachable (...
    """
    return _get(url, timeout, "the exporter").decode("utf-8", "replace")


def _get(url: str, timeout: float, what: str) -> bytes:
    import socket
    import urllib.error
    import urllib.request
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.read()
    except urllib.error.HTTPError as exc:
        raise LabkitError(f"HTTP {exc.code} {exc.reason}", url,
                          f"check the path and that {what} serves it") from exc
    except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError) as exc:
        reason = getattr(exc, "reason", exc)
        raise LabkitError(f"not reachable ({reason})", url,
                          f"check that {what} runs and listens on that host and port") from exc


def read_metrics(url_or_file) -> "pd.DataFrame":
    """:func:`parse_metrics` of a URL (scraped now) or of a file (one or more scrapes).

    Parameters
    ----------
    url_or_file : str or Path
        ``http(s)://...`` or a path.

    Returns
    -------
    pandas.DataFrame
        As :func:`parse_metrics`.

    References
    ----------
    Prometheus text exposition format 0.0.4.

    Examples
    --------
    >>> from labkit import data
    >>> m = read_metrics(data.path("kamailio_metrics"))
    >>> m["timestamp"].nunique() > 10, "kamailio_core_rcv_requests_invite" in set(m["name"])
    (True, True)
    """
    text = str(url_or_file)
    if text.startswith(("http://", "https://")):
        return parse_metrics(scrape_metrics(text), source=text)
    path = Path(url_or_file)
    if not path.is_file():
        raise LabkitError("no such file", str(path), "give a /metrics URL or a saved scrape")
    return parse_metrics(path.read_text(encoding="utf-8", errors="replace"), source=path.name)


def query_range(base_url: str, query: str, start: float, end: float, step: float = 1.0,
                *, timeout: float = 10.0) -> dict:
    """Ask Prometheus ``/api/v1/query_range``; the decoded JSON response.

    Parameters
    ----------
    base_url : str
        Prometheus server, e.g. ``http://127.0.0.1:9090``.
    query : str
        PromQL, e.g. ``kamailio_core_rcv_requests_invite``.
    start, end : float
        Range [s since the Unix epoch].
    step : float
        Resolution [s].
    timeout : float
        [s].

    Returns
    -------
    dict
        ``{"status": "success", "data": {"resultType": "matrix", "result": [...]}}``.

    Raises
    ------
    LabkitError
        Not reachable, not JSON (e.g. an HTML page), or ``status`` not success (the
        server's ``error`` text is shown).

    References
    ----------
    Prometheus HTTP API, "Range queries".

    Examples
    --------
    >>> query_range("http://127.0.0.1:9", "up", 0, 1, timeout=1)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    labkit.errors.LabkitError: http://127.0.0.1:9/api/v1/query_range?...: not reachable (...
    """
    from urllib.parse import urlencode
    url = (base_url.rstrip("/") + "/api/v1/query_range?"
           + urlencode({"query": query, "start": f"{start:.3f}", "end": f"{end:.3f}",
                        "step": f"{step:g}"}))
    body = _get(url, timeout, "Prometheus")
    try:
        doc = json.loads(body)
    except ValueError as exc:
        raise LabkitError(f"not JSON (starts {body[:40]!r})", url,
                          "point --prometheus at the Prometheus server itself "
                          "(http://HOST:9090), not at a proxy or UI page") from exc
    if doc.get("status") != "success":
        raise LabkitError(f"Prometheus says {doc.get('errorType')}: {doc.get('error')}", url,
                          "check the PromQL query")
    return doc


def parse_query_range(doc: dict) -> "pd.DataFrame":
    """A range-query response as rows: name, labels, value, timestamp [s].

    Parameters
    ----------
    doc : dict
        The JSON of ``/api/v1/query_range`` (:func:`query_range`).

    Returns
    -------
    pandas.DataFrame
        One row per (series, step); labels without ``__name__``, ``instance`` and
        ``job``, formatted as in :func:`parse_metrics`.

    References
    ----------
    Prometheus HTTP API, "Range vectors".

    Examples
    --------
    >>> doc = {"status": "success", "data": {"resultType": "matrix", "result": [
    ...     {"metric": {"__name__": "x", "job": "k"}, "values": [[10, "1"], [11, "3"]]}]}}
    >>> parse_query_range(doc).values.tolist()
    [['x', '', 1.0, 10.0], ['x', '', 3.0, 11.0]]
    """
    import pandas as pd
    rows = []
    for series in doc.get("data", {}).get("result", []):
        labels = dict(series.get("metric", {}))
        name = labels.pop("__name__", "")
        for k in ("instance", "job"):
            labels.pop(k, None)
        text = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
        for t, v in series.get("values", []):
            rows.append((name, text, float(v), float(t)))
    return pd.DataFrame(rows, columns=_COLUMNS)


def counter_deltas(samples, start: float | None = None, end: float | None = None):
    """Increase of every series between two times (last value at or before each).

    Parameters
    ----------
    samples : pandas.DataFrame
        From :func:`parse_metrics` (several scrapes) or :func:`parse_query_range`.
    start, end : float, optional
        [s since the epoch]; default the first and last timestamp.

    Returns
    -------
    pandas.Series
        Index (name, labels), value = counter at `end` minus counter at `start`.

    References
    ----------
    Prometheus ``increase()`` without extrapolation (counters that are not reset).

    Examples
    --------
    >>> body = "a 1 1000\\na 4 2000\\na 9 3000\\n"
    >>> counter_deltas(parse_metrics(body), 1.0, 2.5).tolist()
    [3.0]
    """
    df = samples.sort_values("timestamp", kind="stable")
    t0 = df["timestamp"].min() if start is None else start
    t1 = df["timestamp"].max() if end is None else end
    at = lambda t: df[df["timestamp"] <= t].groupby(["name", "labels"])["value"].last()  # noqa: E731
    before, after = at(t0), at(t1)
    return after.sub(before, fill_value=0)


def _at_kamailio(messages, host: str, port: int):
    return messages[(messages["dst"] == host) & (messages["dport"] == port)]


def capture_counts(messages, host: str, port: int) -> dict:
    """The capture's count of what Kamailio (at `host`:`port`) received, by its names.

    Parameters
    ----------
    messages : pandas.DataFrame
        :func:`labkit.sip.sip_messages` of the capture (or a time slice of it).
    host, port : str, int
        Kamailio's SIP listening address.

    Returns
    -------
    dict
        ``{"kamailio_core_rcv_requests_invite": 5, "kamailio_core_rcv_replies_2xx": 6,
        ...}`` with the core statistics' names; also ``retransmissions`` (requests
        whose Call-ID, CSeq and Via branch repeat an earlier one).

    References
    ----------
    Kamailio src/core/receive.c / counters (per-method request and per-class reply
    statistics); RFC 3261 sections 8.1.1.7 (branch) and 17 (retransmissions).

    Examples
    --------
    >>> from labkit import data
    >>> from labkit.capture import read_capture
    >>> from labkit.sip import sip_messages
    >>> msgs = sip_messages(read_capture(data.path("kamailio_burst")))
    >>> c = capture_counts(msgs, "127.0.0.1", 47200)  # tshark: 13 INVITEs, 10 18x to 47200
    >>> c["kamailio_core_rcv_requests_invite"], c["kamailio_core_rcv_replies_18x"]
    (13, 10)
    """
    rx = _at_kamailio(messages, host, port)
    out: dict = {"kamailio_core_rcv_requests": 0, "kamailio_core_rcv_replies": 0}
    req = rx[rx["method"].notna()]
    for method, n in req["method"].value_counts().items():
        out[f"kamailio_core_rcv_requests_{str(method).lower()}"] = int(n)
    out["kamailio_core_rcv_requests"] = len(req)
    rep = rx[rx["status"].notna()]
    out["kamailio_core_rcv_replies"] = len(rep)
    for status, method in zip(rep["status"].astype(int), rep["cseq_method"]):
        cls = f"{status // 100}xx"
        names = [f"kamailio_core_rcv_replies_{cls}"]
        if 180 <= status <= 189:
            names.append("kamailio_core_rcv_replies_18x")
        if method in REPLY_METHODS:
            names.append(f"kamailio_core_rcv_replies_{cls}_{REPLY_METHODS[method]}")
        if status in (401, 404, 407, 480, 486):
            names.append(f"kamailio_core_rcv_replies_{status}")
        for name in names:
            out[name] = out.get(name, 0) + 1
    out["retransmissions"] = _retransmissions(req)
    return out


def _branch(headers) -> str:
    via = next((v for n, v in headers if n == "via"), "")
    return next((p.split("=", 1)[1] for p in via.split(";") if p.strip().startswith("branch=")),
                "")


def _retransmissions(requests) -> int:
    keys = [(c, s, m, _branch(h)) for c, s, m, h in zip(
        requests["call_id"], requests["cseq"], requests["method"], requests["headers"])]
    return len(keys) - len(set(keys))


def compare_counts(kamailio: dict, capture: dict) -> "pd.DataFrame":
    """Kamailio's counter increases next to the capture's counts, with what differs.

    Parameters
    ----------
    kamailio : dict or pandas.Series
        Metric name -> increase over the burst (e.g. :func:`counter_deltas` without
        labels).
    capture : dict
        From :func:`capture_counts`.

    Returns
    -------
    pandas.DataFrame
        metric, kamailio, capture, difference (kamailio - capture), note: "same",
        "Kamailio counted more (the /metrics scrapes are HTTP requests)" for the total
        request counter, "the capture saw more: lost before Kamailio", "Kamailio
        counted more: not in the capture (other interface?)".

    References
    ----------
    Kamailio core statistics; RFC 3261 section 17.

    Examples
    --------
    >>> t = compare_counts({"kamailio_core_rcv_requests_invite": 5.0,
    ...                     "kamailio_core_rcv_requests": 17.0},
    ...                    {"kamailio_core_rcv_requests_invite": 5,
    ...                     "kamailio_core_rcv_requests": 15})
    >>> t[["metric", "difference", "note"]].values.tolist()[0]
    ['kamailio_core_rcv_requests', 2, 'Kamailio counted more: the /metrics scrapes are HTTP requests it counts']
    """
    import pandas as pd
    k = {str(n[0] if isinstance(n, tuple) else n): v for n, v in dict(kamailio).items()}
    rows = []
    for name in sorted(n for n in capture if n.startswith("kamailio_")):
        if name not in k:
            continue
        kv, cv = int(round(k[name])), int(capture[name])
        diff = kv - cv
        if diff == 0:
            note = "same"
        elif name == "kamailio_core_rcv_requests" and diff > 0:
            note = "Kamailio counted more: the /metrics scrapes are HTTP requests it counts"
        elif diff < 0:
            note = "the capture saw more: lost before Kamailio (socket buffer, firewall)"
        else:
            note = "Kamailio counted more: messages not in the capture (another interface?)"
        rows.append((name, kv, cv, diff, note))
    return pd.DataFrame(rows, columns=["metric", "kamailio", "capture", "difference", "note"])


def scrape_times(samples) -> "np.ndarray":
    """The distinct sample times of a scrape series, sorted [s since the epoch].

    Parameters
    ----------
    samples : pandas.DataFrame
        From :func:`parse_metrics` / :func:`parse_query_range`.

    Returns
    -------
    numpy.ndarray

    References
    ----------
    Prometheus text exposition format 0.0.4 (sample timestamps).

    Examples
    --------
    >>> scrape_times(parse_metrics("a 0 2000\\nb 1 2000\\na 1 1000\\n")).tolist()
    [1.0, 2.0]
    """
    import numpy as np
    return np.unique(samples["timestamp"].dropna().to_numpy(dtype=float))


def rates(samples, names) -> "pd.DataFrame":
    """Per-second rates of counters between consecutive scrapes.

    Parameters
    ----------
    samples : pandas.DataFrame
        From :func:`parse_metrics` (several scrapes) or :func:`parse_query_range`
        (label-less series).
    names : sequence of str
        Metric names.

    Returns
    -------
    pandas.DataFrame
        One row per interval between consecutive scrape times (:func:`scrape_times`):
        index ``t`` = interval start [s since the first scrape], column ``duration`` [s],
        one column per name = increase / duration [1/s].

    References
    ----------
    Prometheus ``rate()`` over one scrape interval, without extrapolation.

    Examples
    --------
    >>> body = "a 0 0\\na 2 1000\\na 2 2000\\na 5 3000\\n"
    >>> r = rates(parse_metrics(body), ["a"])
    >>> r.index.tolist(), r["a"].tolist()   # 0 -> 2 in the first second, ...
    ([0.0, 1.0, 2.0], [2.0, 0.0, 3.0])
    """
    import numpy as np
    import pandas as pd
    times = scrape_times(samples)
    out = {"duration": np.diff(times)}
    for name in names:
        s = samples[samples["name"] == name].sort_values("timestamp", kind="stable")
        v = pd.Series(s["value"].to_numpy(), index=s["timestamp"].to_numpy())
        v = v.groupby(level=0).last().reindex(times).ffill().fillna(0.0).to_numpy()
        out[name] = np.diff(v) / out["duration"]
    result = pd.DataFrame(out, index=pd.Index(times[:-1] - times[0], name="t"))
    return result


def capture_rates(messages, host: str, port: int, edges) -> "pd.DataFrame":
    """The same per-second rates counted from the capture, between the same scrape times.

    Parameters
    ----------
    messages : pandas.DataFrame
        :func:`labkit.sip.sip_messages`.
    host, port : str, int
        Kamailio's SIP address.
    edges : sequence of float
        Scrape times [s since the epoch] (:func:`scrape_times`); a message at time t
        counts in the interval (edge[i-1], edge[i]], as a scrape at edge[i] includes it.

    Returns
    -------
    pandas.DataFrame
        Index ``t`` = interval start [s since edges[0]]; columns ``requests_<method>``
        and ``replies_<N>xx`` [1/s].

    References
    ----------
    RFC 3261 section 7.

    Examples
    --------
    >>> import pandas as pd
    >>> m = pd.DataFrame({"dst": ["k"] * 3, "dport": [1] * 3, "time_ns": [2e8, 5e8, 15e8],
    ...                   "method": ["INVITE", None, "INVITE"], "status": [None, 200, None]})
    >>> r = capture_rates(m, "k", 1, [0.0, 1.0, 2.0])
    >>> list(r.columns), r.values.tolist()    # (0, 1]: INVITE + 200; (1, 2]: INVITE
    (['replies_2xx', 'requests_invite'], [[1.0, 1.0], [0.0, 1.0]])
    """
    import numpy as np
    import pandas as pd
    edges = np.asarray(edges, dtype=float)
    rx = _at_kamailio(messages, host, port)
    t = rx["time_ns"].to_numpy(dtype=float) / 1e9
    bins = np.searchsorted(edges, t, side="left") - 1
    kind = [f"requests_{str(m).lower()}" if isinstance(m, str) else
            f"replies_{int(s) // 100}xx" for m, s in zip(rx["method"], rx["status"])]
    df = pd.DataFrame({"bin": bins, "kind": kind})
    df = df[(df["bin"] >= 0) & (df["bin"] < len(edges) - 1)]
    table = df.groupby(["bin", "kind"]).size().unstack(fill_value=0)
    table = table.reindex(range(len(edges) - 1), fill_value=0).sort_index(axis=1)
    table = table.div(np.diff(edges), axis=0)
    table.index = pd.Index(edges[:-1] - edges[0], name="t")
    table.columns.name = None
    return table


def rate_disagreements(kamailio, capture, pairs) -> "pd.DataFrame":
    """The scrape intervals where a counter's increase differs from the capture's count.

    Parameters
    ----------
    kamailio : pandas.DataFrame
        :func:`rates`.
    capture : pandas.DataFrame
        :func:`capture_rates` on the same scrape times.
    pairs : sequence of (str, str)
        (Kamailio column, capture column).

    Returns
    -------
    pandas.DataFrame
        t [s since the first scrape], duration [s], metric, kamailio and capture (counts
        in the interval), difference; empty when they agree everywhere.

    References
    ----------
    Kamailio core statistics; RFC 3261 section 17 (retransmissions).

    Examples
    --------
    >>> import pandas as pd
    >>> k = pd.DataFrame({"duration": [1.0, 1.0], "a": [2.0, 1.0]}, index=[0.0, 1.0])
    >>> c = pd.DataFrame({"x": [2.0, 0.0]}, index=[0.0, 1.0])
    >>> rate_disagreements(k, c, [("a", "x")]).values.tolist()
    [[1.0, 1.0, 'a', 1, 0, 1]]
    """
    import pandas as pd
    rows = []
    for kcol, ccol in pairs:
        cap = capture[ccol] if ccol in capture else capture.iloc[:, 0] * 0
        for t, d, kv, cv in zip(kamailio.index, kamailio["duration"], kamailio[kcol], cap):
            kn, cn = int(round(kv * d)), int(round(cv * d))
            if kn != cn:
                rows.append((float(t), float(d), kcol, kn, cn, kn - cn))
    return pd.DataFrame(rows, columns=["t", "duration", "metric", "kamailio", "capture",
                                       "difference"])


def busiest_destination(messages) -> tuple[str, int]:
    """The address that received the most SIP requests (Kamailio, in a capture of it).

    Parameters
    ----------
    messages : pandas.DataFrame
        :func:`labkit.sip.sip_messages`.

    Returns
    -------
    tuple of (str, int)

    References
    ----------
    RFC 3261 section 16 (a proxy receives the requests of every call through it).

    Examples
    --------
    >>> from labkit import data
    >>> from labkit.capture import read_capture
    >>> from labkit.sip import sip_messages
    >>> busiest_destination(sip_messages(read_capture(data.path("kamailio_burst"))))
    ('127.0.0.1', 47200)
    """
    req = messages[messages["method"].notna()]
    if not len(req):
        raise LabkitError("no SIP request in the capture", None,
                          "give the capture taken on Kamailio's host during the burst")
    (host, port), _ = max(req.groupby(["dst", "dport"]).size().items(),
                          key=lambda kv: (kv[1], str(kv[0])))
    return str(host), int(port)


def burst_comparison(samples, messages, host: str, port: int) -> "pd.DataFrame":
    """Kamailio's counter increases between its first and last sample, next to what the
    capture shows Kamailio receiving in the same time window.

    Parameters
    ----------
    samples : pandas.DataFrame
        Several scrapes (:func:`read_metrics` of an appended file, or a range query).
    messages : pandas.DataFrame
        :func:`labkit.sip.sip_messages` of the capture.
    host, port : str, int
        Kamailio's SIP address.

    Returns
    -------
    pandas.DataFrame
        As :func:`compare_counts`.

    References
    ----------
    Kamailio core statistics; RFC 3261 section 17.

    Examples
    --------
    >>> from labkit import data
    >>> from labkit.capture import read_capture
    >>> from labkit.sip import sip_messages
    >>> t = burst_comparison(read_metrics(data.path("kamailio_metrics")),
    ...     sip_messages(read_capture(data.path("kamailio_burst"))), "127.0.0.1", 47200)
    >>> int((t["difference"] != 0).sum()), t.loc[t["difference"] != 0, "metric"].tolist()
    (1, ['kamailio_core_rcv_requests'])
    """
    t0, t1 = samples["timestamp"].min(), samples["timestamp"].max()
    if samples["timestamp"].isna().all() or t0 == t1:
        raise LabkitError("the metrics hold one scrape only", None,
                          "give several scrapes (an appended file or a Prometheus range) "
                          "spanning the capture")
    t = messages["time_ns"].astype("int64") / 1e9
    window = messages[(t >= t0) & (t <= t1)]
    deltas = {n: v for (n, lab), v in counter_deltas(samples).items() if not lab}
    return compare_counts(deltas, capture_counts(window, host, port))
