"""A HOMER 7 API client: log in, find calls, export them as pcap, manage aliases.

HOMER's web UI is itself a client of this API (homer-app, ``router/v1``), so everything
the UI does can be scripted. Request and response shapes follow homer-app's source:

- ``POST /api/v3/auth`` ``{"username", "password"}`` -> 201 ``{"token", "scope",
  "user": {"admin"}}``; wrong credentials -> 401 ``{"statuscode", "error", "message"}``.
  Every other call sends ``Authorization: Bearer TOKEN``; a missing token -> 401
  ``{"message": "Login required"}``, an expired or bad one -> 401 ``{"message":
  "invalid or expired jwt"}`` (echo-jwt).
- ``POST /api/v3/search/call/data`` (see :func:`search_request`) -> 201 ``{"total",
  "data": [rows], "keys"}``; a row merges the message's protocol header (srcIp, srcPort,
  dstIp, dstPort, timeSeconds, timeUseconds, captureId, ...) and data header (callid,
  method, from_user, to_user, ruri_user, ...), plus id, sid, aliasSrc, aliasDst,
  create_date [ms].
- ``POST /api/v3/export/call/messages/pcap`` with ``param.search {"1_call": {"callid":
  [...]}}`` -> 200 ``application/octet-stream``: a classic pcap, Ethernet, every packet
  rebuilt as IP/UDP, sorted by time.
- ``GET /api/v3/alias`` -> 200 ``{"data": [aliases]}``; ``POST /api/v3/alias`` (admin)
  ``{"alias", "ip", "port", "mask", "captureID", "status"}`` -> 201 ``{"data": guid,
  "message"}``.

HOMER itself cannot be installed here (not in Debian, PyPI or npm); this client is
tested against a small local server that follows those shapes (tests/ops/homer_double.py).

References
----------
.. [1] sipcapture/homer-app: router/v1/{user,search,alias}.go, controller/v1/user.go
   (LoginUser), model/{user,search,alias}.go, data/service/search.go (SearchData).

Examples
--------
>>> req = search_request(call_id="abc@host", start_ms=1000, end_ms=2000)
>>> req["param"]["search"]["1_call"][0]["name"], req["timestamp"]
('data_header.callid', {'from': 1000, 'to': 2000})
"""
from __future__ import annotations

import json
from pathlib import Path

from labkit.errors import LabkitError

__all__ = ["HomerClient", "HomerError", "search_request", "export_request",
           "alias_body", "aliases_from_hosts"]


class HomerError(LabkitError):
    """HOMER answered with an error, or not at all (message says what to check)."""


def _time(start_ms: int, end_ms: int) -> dict:
    if end_ms < start_ms:
        raise HomerError(f"time range ends ({end_ms}) before it starts ({start_ms})", None,
                         "give start and end in ms since the epoch, start first")
    return {"from": int(start_ms), "to": int(end_ms)}


def search_request(*, call_id: str | None = None, number: str | None = None,
                   start_ms: int, end_ms: int, limit: int = 200,
                   node: str = "local") -> dict:
    """Body of ``POST /api/v3/search/call/data`` as HOMER's UI sends it.

    Parameters
    ----------
    call_id : str, optional
        Call-ID to find (``data_header.callid``).
    number : str, optional
        A user part matched in From, To or the request URI (``data_header.from_user``,
        ``to_user``, ``ruri_user``, with ``orlogic``).
    start_ms, end_ms : int
        Time range [ms since the Unix epoch].
    limit : int
        Maximum rows.
    node : str
        Database node (``location.node``).

    Returns
    -------
    dict

    References
    ----------
    homer-app model/search.go (SearchObject), data/service/search.go.

    Examples
    --------
    >>> r = search_request(number="1001", start_ms=0, end_ms=1)
    >>> [f["name"] for f in r["param"]["search"]["1_call"]], r["param"]["orlogic"]
    (['data_header.from_user', 'data_header.to_user', 'data_header.ruri_user'], True)
    """
    fields = []
    if call_id:
        fields.append({"name": "data_header.callid", "value": call_id, "type": "string",
                       "hepid": 1})
    if number:
        fields += [{"name": f"data_header.{k}", "value": number, "type": "string",
                    "hepid": 1} for k in ("from_user", "to_user", "ruri_user")]
    return {"timestamp": _time(start_ms, end_ms),
            "param": {"limit": int(limit), "search": {"1_call": fields},
                      "orlogic": bool(number) and not call_id,
                      "location": {"node": [node]}, "timezone": {"value": 0, "name": "UTC"}}}


def export_request(call_ids, *, start_ms: int, end_ms: int, node: str = "local") -> dict:
    """Body of ``POST /api/v3/export/call/messages/pcap`` for the given Call-IDs.

    Parameters
    ----------
    call_ids : sequence of str
    start_ms, end_ms : int
        [ms since the Unix epoch].
    node : str

    Returns
    -------
    dict

    References
    ----------
    homer-app data/service/search.go (GetTransaction: ``param.search.*.callid``).

    Examples
    --------
    >>> export_request(["a", "b"], start_ms=0, end_ms=5)["param"]["search"]
    {'1_call': {'callid': ['a', 'b']}}
    """
    return {"timestamp": _time(start_ms, end_ms),
            "param": {"search": {"1_call": {"callid": list(call_ids)}},
                      "location": {"node": [node]}, "timezone": {"value": 0, "name": "UTC"}}}


def alias_body(alias: str, ip: str, *, port: int = 0, mask: int = 32,
               capture_id: str = "0", status: bool = True) -> dict:
    """Body of ``POST /api/v3/alias`` (model/alias.go TableAlias).

    Parameters
    ----------
    alias : str
        Name shown instead of the address.
    ip : str
        Address (validated as an IP by HOMER).
    port : int
        0 = every port.
    mask : int
        Prefix length [bits].
    capture_id : str
        HEP capture agent id, as a string.
    status : bool
        Active.

    Returns
    -------
    dict

    References
    ----------
    homer-app model/alias.go.

    Examples
    --------
    >>> alias_body("sbc-1", "10.0.0.10", port=5060)["captureID"]
    '0'
    """
    import ipaddress
    try:
        ipaddress.ip_address(ip)
    except ValueError as exc:
        raise HomerError(f"alias {alias!r}: {ip!r} is not an IP address", None,
                         "HOMER validates ip as an address (use mask for a subnet)") from exc
    return {"alias": alias, "ip": ip, "port": int(port), "mask": int(mask),
            "captureID": str(capture_id), "status": bool(status)}


def aliases_from_hosts(hosts) -> list[dict]:
    """Alias bodies from a table of hosts (name, ip[, port, mask]), the seed's use case.

    Parameters
    ----------
    hosts : pandas.DataFrame or iterable of dict
        Columns/keys ``name`` and ``ip``; optional ``port``, ``mask``, ``capture_id``.

    Returns
    -------
    list of dict
        :func:`alias_body` for each host, in order.

    References
    ----------
    homer-app model/alias.go.

    Examples
    --------
    >>> [a["alias"] for a in aliases_from_hosts([{"name": "pbx", "ip": "10.0.0.2"}])]
    ['pbx']
    """
    rows = hosts.to_dict("records") if hasattr(hosts, "to_dict") else list(hosts)
    return [alias_body(r["name"], r["ip"], port=r.get("port", 0) or 0,
                       mask=r.get("mask", 32) or 32,
                       capture_id=str(r.get("capture_id", "0"))) for r in rows]


class HomerClient:
    """Talks to one HOMER 7 (homer-app) API server.

    Parameters
    ----------
    url : str
        Base URL of homer-app, e.g. ``http://homer:9080`` (the ``/api/v3`` paths are
        added).
    timeout : float
        Per request [s].
    token : str, optional
        A token from an earlier :meth:`login`.
    """

    def __init__(self, url: str, *, timeout: float = 10.0, token: str | None = None):
        self.url, self.timeout, self.token = url.rstrip("/"), timeout, token
        self._credentials: tuple | None = None

    # -------------------------------------------------------------------- transport
    def _request(self, method: str, path: str, body=None, *, auth: bool = True,
                 retry: bool = True):
        import socket
        import urllib.error
        import urllib.request
        url = self.url + path
        if auth and not self.token:
            raise HomerError("not logged in", url, "call login(username, password) first")
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {self.token}"
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return resp.status, resp.headers.get("Content-Type", ""), resp.read()
        except urllib.error.HTTPError as exc:
            payload = exc.read()
            if exc.code == 401 and auth and retry and self._expired(payload) and self._credentials:
                self.login(*self._credentials)        # token expired: log in once more
                return self._request(method, path, body, auth=auth, retry=False)
            raise self._http_error(exc.code, payload, url, auth) from exc
        except (socket.timeout, TimeoutError) as exc:
            raise HomerError(f"no answer within {self.timeout:g} s", url,
                             "check that homer-app is up and reachable; raise timeout= for "
                             "long searches") from exc
        except (urllib.error.URLError, ConnectionError) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, (socket.timeout, TimeoutError)):
                raise HomerError(f"no answer within {self.timeout:g} s", url,
                                 "check that homer-app is up and reachable") from exc
            raise HomerError(f"not reachable ({reason})", url,
                             "check the HOMER URL (scheme, host, port of homer-app, "
                             "usually 9080)") from exc

    @staticmethod
    def _message(payload: bytes) -> str:
        try:
            doc = json.loads(payload)
        except ValueError:
            return payload[:80].decode("utf-8", "replace")
        return str(doc.get("message") or doc.get("error") or doc) if isinstance(doc, dict) \
            else str(doc)

    def _expired(self, payload: bytes) -> bool:
        return "expired" in self._message(payload).lower()

    def _http_error(self, code: int, payload: bytes, url: str, auth: bool) -> HomerError:
        msg = self._message(payload)
        if code == 401 and not auth:
            return HomerError(f"login refused (401: {msg})", url,
                              "check the username and password")
        if code == 401 and "expired" in msg.lower():
            return HomerError(f"the token has expired (401: {msg})", url,
                              "log in again (login() with the same credentials)")
        if code == 401:
            return HomerError(f"not authorised (401: {msg})", url, "log in first")
        if code == 403:
            return HomerError(f"forbidden (403: {msg})", url,
                              "this call needs an admin user")
        return HomerError(f"HTTP {code}: {msg}", url, "check the request and HOMER's log")

    def _json(self, method: str, path: str, body=None, *, auth: bool = True):
        status, ctype, payload = self._request(method, path, body, auth=auth)
        try:
            return json.loads(payload)
        except ValueError:
            kind = "an HTML page" if b"<html" in payload[:500].lower() else "not JSON"
            raise HomerError(f"{kind} instead of JSON (HTTP {status}, {ctype or 'no type'})",
                             self.url + path,
                             "point the client at homer-app's API (e.g. http://homer:9080), "
                             "not at a login portal, proxy page or the UI's static files"
                             ) from None

    # ------------------------------------------------------------------------- API
    def login(self, username: str, password: str) -> str:
        """POST /api/v3/auth; keeps and returns the token (re-used on expiry).

        Parameters
        ----------
        username, password : str

        Returns
        -------
        str
            The JWT.
        """
        doc = self._json("POST", "/api/v3/auth", {"username": username,
                                                  "password": password}, auth=False)
        token = doc.get("token") if isinstance(doc, dict) else None
        if not token:
            raise HomerError("login answered without a token", self.url + "/api/v3/auth",
                             "check that this is a HOMER 7 homer-app")
        self.token, self._credentials = token, (username, password)
        return token

    def search_calls(self, *, call_id: str | None = None, number: str | None = None,
                     start_ms: int, end_ms: int, limit: int = 200):
        """Messages of the calls matching a Call-ID or a number in a time range.

        Parameters
        ----------
        call_id, number : str, optional
            See :func:`search_request`.
        start_ms, end_ms : int
            [ms since the Unix epoch].
        limit : int

        Returns
        -------
        pandas.DataFrame
            One row per message as HOMER returns them (callid, method, srcIp, srcPort,
            dstIp, dstPort, create_date [ms], aliasSrc, aliasDst, ...), sorted by time.
        """
        import pandas as pd
        doc = self._json("POST", "/api/v3/search/call/data",
                         search_request(call_id=call_id, number=number, start_ms=start_ms,
                                        end_ms=end_ms, limit=limit))
        rows = doc.get("data") if isinstance(doc, dict) else None
        if not isinstance(rows, list):
            raise HomerError("search answer has no data list", self.url,
                             "check the HOMER version (7.x expected)")
        df = pd.DataFrame(rows)
        return df.sort_values("create_date", kind="stable").reset_index(drop=True) \
            if "create_date" in df else df

    def export_pcap(self, call_ids, out, *, start_ms: int, end_ms: int) -> Path:
        """Save the messages of `call_ids` as HOMER's pcap export; the path.

        Parameters
        ----------
        call_ids : sequence of str
        out : str or Path
            File to write.
        start_ms, end_ms : int
            [ms since the Unix epoch].

        Returns
        -------
        Path
        """
        path = "/api/v3/export/call/messages/pcap"
        status, ctype, payload = self._request(
            "POST", path, export_request(call_ids, start_ms=start_ms, end_ms=end_ms))
        if payload[:4] not in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1",
                               b"\xa1\xb2\x3c\x4d"):
            kind = "an HTML page" if b"<html" in payload[:500].lower() else \
                f"{len(payload)} bytes that are not a pcap"
            raise HomerError(f"export returned {kind} ({ctype or 'no type'})",
                             self.url + path, "check the Call-IDs and time range")
        out = Path(out)
        out.write_bytes(payload)
        return out

    def aliases(self) -> list[dict]:
        """GET /api/v3/alias: every alias (alias, ip, port, mask, captureID, status, guid)."""
        doc = self._json("GET", "/api/v3/alias")
        return list(doc.get("data", [])) if isinstance(doc, dict) else []

    def add_alias(self, body: dict) -> str:
        """POST /api/v3/alias with :func:`alias_body`; the new alias's guid."""
        doc = self._json("POST", "/api/v3/alias", body)
        return str(doc.get("data", "")) if isinstance(doc, dict) else ""

    def set_aliases(self, hosts) -> list[str]:
        """Add an alias for every host not already aliased (same ip, port); new guids."""
        have = {(a.get("ip"), int(a.get("port") or 0)) for a in self.aliases()}
        return [self.add_alias(b) for b in aliases_from_hosts(hosts)
                if (b["ip"], b["port"]) not in have]
