"""A call flow hop by hop: ladder rows, legs, and legs paired into calls.

:func:`ladder` turns the SIP messages of a capture into the rows of a ladder diagram
(one column per ``ip:port``, one arrow per message, with its transaction, time, delta
and an SDP summary). :func:`sip_legs` cuts them into legs, one per Call-ID and hop of
its initial INVITE (a proxy that keeps the Call-ID makes two legs of one Call-ID; a
B2BUA or topology hiding gives the second leg another Call-ID), and :func:`pair_legs`
pairs the legs that belong to one call: by the same Call-ID through one host, by a
correlation header (X-CID, P-Charging-Vector icid-value), else by a scored heuristic
whose evidence is shown. The set-up times of each Call-ID come from
:func:`labkit.sip.call_progress`, the one call model.

References
----------
RFC 3261 sections 12 (dialogs, To tag), 16 (a proxy keeps the Call-ID) and 17
(transactions, one per hop; retransmissions 17.1.1.2 and 17.2.1); RFC 7315 section 4.6
(P-Charging-Vector icid-value); sngrep's call flow (one column per address:port) for
the ladder layout.
"""
from __future__ import annotations

import re


from labkit.sip.calls import call_progress
from labkit.sip.messages import as_messages, parse_sip, sip_messages  # noqa: F401  (parse_sip: doctests)
from labkit.sip.sdp import parse_sdp

__all__ = ["ladder", "ladder_hosts", "sip_legs", "pair_legs", "correlation_values",
           "CORRELATION_HEADERS", "LADDER_COLUMNS"]

#: Headers that carry a call identity across legs: HOMER's usual X-CID and similar, and the
#: IMS charging identifier (RFC 7315 4.6 P-Charging-Vector icid-value).
CORRELATION_HEADERS = ("x-cid", "x-call-id", "x-correlation-id", "p-charging-vector")

LADDER_COLUMNS = ["frame", "time", "delta_ms", "src", "dst", "label", "method", "status",
                  "call_id", "cseq", "cseq_method", "transaction", "from_tag", "to_tag",
                  "in_dialog", "retransmission", "sdp", "transport", "problem"]


def _endpoint(ip, port) -> str:
    return f"[{ip}]:{int(port)}" if ":" in str(ip) else f"{ip}:{int(port)}"


def _label(row) -> str:
    if isinstance(row["method"], str):
        return row["method"]
    phrase = row["reason_phrase"] if isinstance(row["reason_phrase"], str) else ""
    return f"{int(row['status'])} {phrase}".strip()


def sdp_summary(sdp_text) -> str:
    """One line for an SDP body: first codec, media address:port and direction per m= line."""
    if not isinstance(sdp_text, str):
        return ""
    sd = parse_sdp(sdp_text)
    parts = []
    for m in sd.media:
        first = next(iter(m.codecs.values()), None) if m.codecs else None
        codec = first.name if first is not None else (m.formats[0] if m.formats else "-")
        parts.append(f"{m.kind} {codec} {m.connection}:{m.port} {m.direction}")
    return "; ".join(parts)


def _transaction_keys(msgs: pd.DataFrame) -> list[tuple]:
    """(call_id, cseq, cseq_method, client, server) of each message: requests go client ->
    server, responses back (RFC 3261 17: a transaction per hop)."""
    keys = []
    for r in msgs.itertuples():
        a, b = _endpoint(r.src, r.sport), _endpoint(r.dst, r.dport)
        client, server = (a, b) if isinstance(r.method, str) else (b, a)
        keys.append((r.call_id, r.cseq, r.cseq_method, client, server))
    return keys


def ladder(source, *, call_id: str | list | None = None) -> pd.DataFrame:
    """One row per SIP message: the arrows of a ladder diagram, in capture order.

    Parameters
    ----------
    source : path, Packets or pandas.DataFrame
        A capture, its packets, or :func:`labkit.sip.sip_messages` of it.
    call_id : str or list of str, optional
        Keep only these Call-IDs (e.g. the legs of one call from :func:`pair_legs`).

    Returns
    -------
    pandas.DataFrame
        frame; time [s since the first frame]; delta_ms [ms] since the previous arrow;
        src, dst ("ip:port", the ladder's columns); label (method, or "code phrase");
        method, status, call_id, cseq, cseq_method; transaction (index of the hop's
        transaction, RFC 3261 17, numbered in order of appearance); from_tag, to_tag;
        in_dialog (a request carrying a To tag, RFC 3261 12.2); retransmission (the same
        start line, CSeq and hop seen before in this transaction); sdp (summary of an SDP
        body: codec, address:port, direction; "" without SDP); transport ("UDP"/"TCP");
        problem (what is malformed, e.g. a truncated message; None when whole).

    References
    ----------
    RFC 3261 sections 12 (dialogs), 17 (transactions), 17.1.1.2 and 17.2.1
    (retransmissions); sngrep's call flow (one column per address:port).

    Examples
    --------
    >>> from labkit import data
    >>> rows = ladder(data.path("flow_sec_agree_420"))
    >>> rows[["src", "dst", "label"]].iloc[10].tolist()
    ['127.0.42.2:42002', '127.0.42.10:42060', '420 Bad Extension']
    >>> rows.loc[0, "sdp"]
    'audio PCMA 127.0.42.1:42110 sendrecv'
    """
    import pandas as pd
    msgs = as_messages(source)
    if call_id is not None:
        wanted = [call_id] if isinstance(call_id, str) else list(call_id)
        msgs = msgs[msgs["call_id"].isin(wanted)]
    if not len(msgs):
        return pd.DataFrame(columns=LADDER_COLUMNS)
    msgs = msgs.reset_index(drop=True)
    keys = _transaction_keys(msgs)
    numbers: dict = {}
    seen: set = set()
    rows = []
    for i, r in enumerate(msgs.to_dict("records")):
        txn = numbers.setdefault(keys[i], len(numbers))
        label = _label(r)
        again = (keys[i], label, r["src"], r["sport"]) in seen
        seen.add((keys[i], label, r["src"], r["sport"]))
        rows.append({"frame": int(r["frame"]), "time": float(r["time"]),
                     "src": _endpoint(r["src"], r["sport"]), "dst": _endpoint(r["dst"], r["dport"]),
                     "label": label, "method": r["method"], "status": r["status"],
                     "call_id": r["call_id"], "cseq": r["cseq"], "cseq_method": r["cseq_method"],
                     "transaction": txn, "from_tag": r["from_tag"], "to_tag": r["to_tag"],
                     "in_dialog": isinstance(r["method"], str) and isinstance(r["to_tag"], str),
                     "retransmission": again, "sdp": sdp_summary(r["sdp"]),
                     "transport": r["transport"],
                     "problem": r["problem"] if isinstance(r["problem"], str) else None})
    out = pd.DataFrame(rows)
    out.insert(2, "delta_ms", (out["time"].diff().fillna(0.0) * 1000).round(3))
    out["status"] = out["status"].astype("Int64")
    out["cseq"] = out["cseq"].astype("Int64")
    for col in ("method", "call_id", "cseq_method", "from_tag", "to_tag", "problem"):
        out[col] = out[col].astype(object).where(out[col].notna(), None)   # None, not NaN
    return out[LADDER_COLUMNS]


def ladder_hosts(rows: pd.DataFrame) -> list[str]:
    """The ladder's columns: every "ip:port" in order of first appearance.

    Parameters
    ----------
    rows : pandas.DataFrame
        :func:`ladder` rows.

    Returns
    -------
    list of str

    References
    ----------
    sngrep's call flow (one column per address:port, left to right as first seen).

    Examples
    --------
    >>> from labkit import data
    >>> ladder_hosts(ladder(data.path("flow_topoh_samecid")))
    ['127.0.42.1:42001', '127.0.42.10:42060', '127.0.42.2:42002']
    """
    hosts: list[str] = []
    for s, d in zip(rows["src"], rows["dst"]):
        for h in (s, d):
            if h not in hosts:
                hosts.append(h)
    return hosts


# --------------------------------------------------------------------------------------
# Legs


_ICID = re.compile(r"icid-value\s*=\s*\"?([^;\"\s]+)", re.I)


def correlation_values(headers) -> dict:
    """The correlation identifiers in a message's headers: {header: value}.

    Parameters
    ----------
    headers : tuple of (name, value)
        :attr:`labkit.sip.SipMessage.headers` (lower-case names).

    Returns
    -------
    dict of str to str
        For each of :data:`CORRELATION_HEADERS` present, its value; for
        P-Charging-Vector the icid-value parameter only.

    References
    ----------
    RFC 7315 section 4.6 (P-Charging-Vector icid-value); HOMER's correlation headers
    (X-CID).

    Examples
    --------
    >>> correlation_values((("x-cid", "abc"), ("p-charging-vector", "icid-value=42;orig-ioi=x")))
    {'x-cid': 'abc', 'p-charging-vector': '42'}
    """
    out = {}
    for name, value in headers:
        if name in CORRELATION_HEADERS and name not in out:
            if name == "p-charging-vector":
                m = _ICID.search(value)
                if m:
                    out[name] = m.group(1)
            else:
                out[name] = value.strip()
    return out


_LEG_COLUMNS = ["leg", "call_id", "src", "dst", "invite_frame", "invite_time", "from_user",
                "to_user", "request_uri", "correlation", "progress_time", "answer_time",
                "final_status", "bye_time", "frames"]


def _user(uri) -> str | None:
    if not isinstance(uri, str):
        return None
    m = re.match(r"(?:sips?|tel):([^@;>]+)", uri)
    return m.group(1) if m else None


def sip_legs(source) -> pd.DataFrame:
    """One row per leg: a Call-ID on one hop of its initial INVITE.

    Parameters
    ----------
    source : path, Packets or pandas.DataFrame
        A capture, its packets, or :func:`labkit.sip.sip_messages` of it.

    Returns
    -------
    pandas.DataFrame
        leg (index); call_id; src, dst ("ip:port" of the INVITE's sender and receiver on
        this hop); invite_frame, invite_time [s]; from_user, to_user, request_uri;
        correlation (dict of :func:`correlation_values`); progress_time, answer_time [s]
        (first 18x / 2xx on this hop); final_status (first final response on this hop);
        bye_time [s] (first BYE on this hop, None without); frames (every frame of this
        Call-ID between these two addresses).

    References
    ----------
    RFC 3261 sections 12 and 16 (a proxy keeps the Call-ID, so one Call-ID has one leg
    per hop); RFC 7315 4.6.

    Examples
    --------
    >>> from labkit import data
    >>> legs = sip_legs(data.path("flow_topoh_masked"))
    >>> len(legs), legs["call_id"].nunique()
    (4, 4)
    >>> legs.loc[0, ["src", "dst", "from_user", "correlation"]].tolist()
    ['127.0.42.1:42001', '127.0.42.10:42060', 'alice', {'x-cid': 'lab-call-1'}]
    """
    import pandas as pd
    msgs = as_messages(source)
    if not len(msgs):
        return pd.DataFrame(columns=_LEG_COLUMNS)
    hop = [tuple(sorted((_endpoint(r.src, r.sport), _endpoint(r.dst, r.dport)))) for r in msgs.itertuples()]
    msgs = msgs.assign(_hop=hop)
    initial = msgs[(msgs["method"] == "INVITE") & msgs["to_tag"].isna()]
    rows = []
    for (call_id, h), first in initial.groupby(["call_id", "_hop"], sort=False):
        inv = first.iloc[0]
        on_hop = msgs[(msgs["call_id"] == call_id) & (msgs["_hop"] == h)]
        rows.append(_leg_row(len(rows), inv, on_hop))
    return pd.DataFrame(rows, columns=_LEG_COLUMNS)


def _first_time(df, mask):
    hit = df[mask]
    return float(hit.iloc[0]["time"]) if len(hit) else None


def _leg_row(n, inv, on_hop) -> dict:
    progress = call_progress(on_hop).iloc[0]   # the one call model, on this hop only
    final = on_hop[(on_hop["cseq_method"] == "INVITE") & (on_hop["status"].fillna(0) >= 200)]
    return {"leg": n, "call_id": inv["call_id"], "src": _endpoint(inv["src"], inv["sport"]),
            "dst": _endpoint(inv["dst"], inv["dport"]), "invite_frame": int(inv["frame"]),
            "invite_time": float(inv["time"]), "from_user": _user(inv["from_uri"]),
            "to_user": _user(inv["to_uri"]), "request_uri": inv["request_uri"],
            "correlation": correlation_values(inv["headers"]),
            "progress_time": _num(progress["progress_time"]), "answer_time": _num(progress["answer_time"]),
            "final_status": int(final.iloc[0]["status"]) if len(final) else None,
            "bye_time": _first_time(on_hop, on_hop["method"] == "BYE"),
            "frames": [int(f) for f in on_hop["frame"]]}


def _num(value):
    import pandas as pd
    return None if value is None or pd.isna(value) else float(value)


# --------------------------------------------------------------------------------------
# Pairing legs into calls

RELAY_MS = 50.0      # [ms] a relayed INVITE/18x/200/BYE within this is "within milliseconds"
WINDOW_S = 2.0       # [s] a B-leg INVITE later than this after the A leg's is never its pair
MIN_SCORE = 4        # heuristic pairs below this score are reported unpaired

_PAIR_COLUMNS = ["call", "a_leg", "b_leg", "a_call_id", "b_call_id", "via", "method", "score",
                 "evidence"]


def _ip(endpoint: str) -> str:
    return endpoint.rsplit(":", 1)[0].strip("[]")


def _close(a, b, limit_ms=RELAY_MS):
    """|b - a| in ms when both exist and are within `limit_ms`, else None."""
    if a is None or b is None:
        return None
    d = (b - a) * 1000
    return d if 0 <= d <= limit_ms else None


def _same_call_id_pairs(legs) -> list[dict]:
    out = []
    for call_id, group in legs.groupby("call_id", sort=False):
        group = group.sort_values("invite_time")
        for a, b in zip(group.itertuples(), list(group.itertuples())[1:]):
            if _ip(a.dst) == _ip(b.src):
                d = (b.invite_time - a.invite_time) * 1000
                out.append(_pair(a, b, "same Call-ID", None,
                                 [f"INVITE relayed by {_ip(a.dst)} after {d:.1f} ms with the same Call-ID"]))
    return out


def _header_pairs(legs, taken) -> list[dict]:
    out = []
    for a in legs.itertuples():
        for b in legs.itertuples():
            if a.leg == b.leg or a.call_id == b.call_id or b.leg in taken or a.leg in taken.values():
                continue
            if _ip(a.dst) != _ip(b.src) or not 0 <= b.invite_time - a.invite_time <= WINDOW_S:
                continue
            shared = [h for h, v in a.correlation.items() if b.correlation.get(h) == v]
            if shared:
                taken[b.leg] = a.leg
                out.append(_pair(a, b, f"header {shared[0]}", None,
                                 [f"{shared[0]}: {a.correlation[shared[0]]} on both INVITEs"]))
    return out


def _score(a, b) -> tuple[int, list[str]]:
    """Heuristic evidence that leg `b` is the continuation of leg `a` through a B2BUA."""
    score, why = 0, []
    d = (b.invite_time - a.invite_time) * 1000
    score += 3 if d <= RELAY_MS else 1
    why.append(f"B INVITE {d:.1f} ms after A's, from {_ip(b.src)} (A's destination)")
    for name, ta, tb in (("18x", a.progress_time, b.progress_time), ("2xx", a.answer_time, b.answer_time),
                         ("BYE", a.bye_time, b.bye_time)):
        for first, second, where in ((tb, ta, "to A"), (ta, tb, "to B")):
            gap = _close(first, second)
            if gap is not None:
                score += 2
                why.append(f"{name} relayed {where} within {gap:.1f} ms")
                break
    if a.from_user and a.from_user == b.from_user:
        score += 1
        why.append(f"same From user {a.from_user}")
    if a.to_user != b.to_user:
        why.append(f"To rewritten {a.to_user} -> {b.to_user}")
    if a.final_status is not None and a.final_status == b.final_status:
        score += 1
        why.append(f"same final status {a.final_status}")
    return score, why


def _heuristic_pairs(legs, taken) -> list[dict]:
    cands = []
    for a in legs.itertuples():
        for b in legs.itertuples():
            if a.call_id == b.call_id or _ip(a.dst) != _ip(b.src):
                continue
            if not 0 <= b.invite_time - a.invite_time <= WINDOW_S:
                continue
            score, why = _score(a, b)
            cands.append((score, -abs(b.invite_time - a.invite_time), a, b, why))
    out = []
    for score, _, a, b, why in sorted(cands, key=lambda c: (c[0], c[1]), reverse=True):
        if score < MIN_SCORE or b.leg in taken or a.leg in taken.values():
            continue
        taken[b.leg] = a.leg
        out.append(_pair(a, b, "heuristic", score, why))
    return out


def _pair(a, b, method, score, evidence) -> dict:
    return {"a_leg": int(a.leg), "b_leg": int(b.leg), "a_call_id": a.call_id, "b_call_id": b.call_id,
            "via": _ip(a.dst), "method": method, "score": score, "evidence": evidence}


def pair_legs(source, *, legs: pd.DataFrame | None = None) -> pd.DataFrame:
    """Pair legs into calls: same Call-ID, then correlation header, then heuristic.

    Parameters
    ----------
    source : path, Packets or pandas.DataFrame
        A capture, its packets, or :func:`labkit.sip.sip_messages` of it.
    legs : pandas.DataFrame, optional
        :func:`sip_legs` of `source`, when already computed.

    Returns
    -------
    pandas.DataFrame
        One row per pair of legs (A = upstream, B = the leg leaving the host A's INVITE
        went to) and one per leg left unpaired (b_leg None, method "unpaired"): call
        (calls numbered from 0, legs chained through several hosts share it), a_leg,
        b_leg, a_call_id, b_call_id, via (the relaying host's IP), method ("same
        Call-ID", "header x-cid", "header p-charging-vector", "heuristic", "unpaired"),
        score (heuristic only: 3 for a B INVITE within 50 ms else 1; +2 each for
        18x, 2xx and BYE relayed within 50 ms; +1 same From user; +1 same final status;
        pairs below 4 are not made), evidence (list of str).

    References
    ----------
    RFC 3261 section 16 (proxies keep the Call-ID), RFC 7315 4.6 (icid-value); FreeSWITCH
    ``sip_invite_call_id`` (same Call-ID on the B leg); HOMER correlation by X-CID.

    Examples
    --------
    >>> from labkit import data
    >>> p = pair_legs(data.path("flow_topoh_masked"))
    >>> p[["a_call_id", "method"]].values.tolist()
    [['labkit-a1@127.0.42.1', 'header x-cid'], ['labkit-a2@127.0.42.1', 'heuristic']]
    >>> pair_legs(data.path("flow_topoh_samecid"))["method"].tolist()
    ['same Call-ID']
    """
    import pandas as pd
    legs = sip_legs(source) if legs is None else legs
    if not len(legs):
        return pd.DataFrame(columns=_PAIR_COLUMNS)
    pairs = _same_call_id_pairs(legs)
    taken = {p["b_leg"]: p["a_leg"] for p in pairs}
    pairs += _header_pairs(legs, taken)
    pairs += _heuristic_pairs(legs, taken)
    in_pair = {p["a_leg"] for p in pairs} | {p["b_leg"] for p in pairs}
    for leg in legs.itertuples():
        if leg.leg not in in_pair:
            pairs.append({"a_leg": int(leg.leg), "b_leg": None, "a_call_id": leg.call_id, "b_call_id": None,
                          "via": None, "method": "unpaired", "score": None,
                          "evidence": ["no leg with the same Call-ID, a correlation header or a "
                                       f"heuristic score of {MIN_SCORE} or more"]})
    df = pd.DataFrame(pairs, columns=_PAIR_COLUMNS[1:])
    df = df.sort_values(["a_leg", "b_leg"], na_position="last", kind="stable").reset_index(drop=True)
    df.insert(0, "call", _call_numbers(df))
    df["b_leg"] = df["b_leg"].astype("Int64")
    df["score"] = df["score"].astype("Int64")
    return df


def _call_numbers(pairs: pd.DataFrame) -> list[int]:
    """Chain pairs sharing a leg into one call (A->proxy->B2BUA->B is one call)."""
    import pandas as pd
    root: dict = {}

    def find(x):
        while root.get(x, x) != x:
            x = root[x]
        return x

    for a, b in zip(pairs["a_leg"], pairs["b_leg"]):
        root.setdefault(a, a)
        if b is not None and not pd.isna(b):
            root[find(int(b))] = find(a)
    order: dict = {}
    return [order.setdefault(find(a), len(order)) for a in pairs["a_leg"]]
