"""A small local stand-in for HOMER 7's homer-app API, for testing labkit.ops.homer.

HOMER cannot be installed here (not in Debian, PyPI or npm). This server follows the
request and response shapes of sipcapture/homer-app (router/v1/{user,search,alias}.go,
controller/v1/user.go LoginUser, model/{user,search,alias}.go, data/service/search.go,
main.go customHTTPErrorHandler + echo-jwt): status codes 201 for auth/search/alias
creation, 200 for the pcap export and alias list, 401 bodies as homer-app writes them.
Its "database" is a list of message rows given to it (the tests fill it from tshark).

Modes for error tests: ``html`` (every answer is an HTML login page with 200),
``slow`` (sleeps before answering), ``expire_after`` (a token stops working after N
uses, answered as echo-jwt does: 401 {"message": "invalid or expired jwt"}).
"""
from __future__ import annotations

import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

USERS = {"admin": ("sipcapture", True), "viewer": ("viewer", False)}


class HomerDouble:
    def __init__(self, rows, *, mode: str = "", expire_after: int | None = None,
                 delay: float = 0.0):
        self.rows, self.mode, self.expire_after, self.delay = rows, mode, expire_after, delay
        self.tokens: dict = {}          # token -> [user, uses]
        self.aliases: list = []
        self.requests: list = []        # (method, path, body) as received
        self._ids = itertools.count(1)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    # ------------------------------------------------------------------ behaviour
    def login(self, body):
        user = USERS.get(body.get("username"))
        if not user or user[0] != body.get("password"):
            return 401, {"statuscode": 401, "error": "Unauthorized",
                         "message": "password is not correct"}
        token = f"jwt-{next(self._ids)}"
        self.tokens[token] = [body["username"], 0]
        return 201, {"token": token, "scope": "b9f6q23a-0bde-41ce-cd36-da3dbc17ea12",
                     "user": {"admin": user[1]}}

    def check(self, header):
        if not header.startswith("Bearer "):
            return None, (401, {"message": "Login required"})
        entry = self.tokens.get(header[7:])
        if entry is None or (self.expire_after is not None and entry[1] >= self.expire_after):
            return None, (401, {"message": "invalid or expired jwt"})
        entry[1] += 1
        return entry[0], None

    def search(self, body):
        t0, t1 = body["timestamp"]["from"], body["timestamp"]["to"]
        fields = body["param"]["search"].get("1_call", [])
        anyof = body["param"].get("orlogic", False)

        def match(r):
            tests = [str(r.get(f["name"].split(".", 1)[1], "")) == f["value"] for f in fields]
            ok = any(tests) if anyof else all(tests)
            return ok and t0 <= r["create_date"] <= t1
        data = [dict(r) for r in self.rows if match(r)][:body["param"].get("limit", 200)]
        for r in data:
            r["aliasSrc"] = self._alias(r["srcIp"], r["srcPort"])
            r["aliasDst"] = self._alias(r["dstIp"], r["dstPort"])
        return 201, {"total": len(data), "data": data, "keys": sorted(data[0]) if data else []}

    def _alias(self, ip, port):
        for a in self.aliases:
            if a["ip"] == ip and a["port"] in (0, port):
                return a["alias"]
        return f"{ip}:{port}"

    def export(self, body):
        from labkit.capture.frames import udp_frame, write_pcap
        import tempfile
        from pathlib import Path
        ids = set(body["param"]["search"]["1_call"]["callid"])
        t0, t1 = body["timestamp"]["from"], body["timestamp"]["to"]
        rows = sorted((r for r in self.rows if r["callid"] in ids
                       and t0 <= r["create_date"] <= t1), key=lambda r: r["time_us"])
        recs = [(r["time_us"] * 1000, udp_frame(bytes.fromhex(r["raw_hex"]), r["srcIp"],
                                                r["dstIp"], r["srcPort"], r["dstPort"]))
                for r in rows]
        with tempfile.TemporaryDirectory() as d:
            return Path(write_pcap(Path(d) / "x.pcap", recs)).read_bytes()

    def add_alias(self, body, admin):
        if not admin:
            return 403, {"message": "This API requires admin access."}
        guid = f"00000000-0000-4000-8000-{next(self._ids):012d}"
        self.aliases.append(dict(body, guid=guid))
        return 201, {"data": guid, "message": "successfully created alias"}

    # ------------------------------------------------------------------- plumbing
    def _handler(self):
        double = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, code, doc=None, raw=None, ctype="application/json"):
                body = raw if raw is not None else json.dumps(doc).encode()
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _body(self):
                n = int(self.headers.get("Content-Length") or 0)
                return json.loads(self.rfile.read(n) or b"null")

            def _route(self, method):
                body = self._body() if method == "POST" else None
                double.requests.append((method, self.path, body))
                if double.delay:
                    time.sleep(double.delay)
                if double.mode == "html":
                    return self._send(200, raw=b"<html><body>Sign in</body></html>",
                                      ctype="text/html")
                if (method, self.path) == ("POST", "/api/v3/auth"):
                    return self._send(*double.login(body))
                user, err = double.check(self.headers.get("Authorization", ""))
                if err:
                    return self._send(*err)
                admin = USERS[user][1]
                if (method, self.path) == ("POST", "/api/v3/search/call/data"):
                    return self._send(*double.search(body))
                if (method, self.path) == ("POST", "/api/v3/export/call/messages/pcap"):
                    return self._send(200, raw=double.export(body),
                                      ctype="application/octet-stream")
                if (method, self.path) == ("GET", "/api/v3/alias"):
                    return self._send(200, {"data": double.aliases})
                if (method, self.path) == ("POST", "/api/v3/alias"):
                    return self._send(*double.add_alias(body, admin))
                return self._send(404, {"message": "Not Found"})

            def do_GET(self):
                self._route("GET")

            def do_POST(self):
                self._route("POST")

        return Handler
