"""labkit.ops.homer against a local server that follows homer-app's API shapes
(tests/ops/homer_double.py; HOMER itself cannot be installed here).

The double's message store is filled from tshark's reading of a real capture (kamailio's
HEP, collected), so expected counts come from tshark, not from labkit.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from labkit import data
from labkit.capture import read_capture
from labkit.ops.homer import HomerClient, HomerError, aliases_from_hosts, search_request
from labkit.sip import sip_messages
from tests.ops.homer_double import HomerDouble

pytestmark = pytest.mark.requires_tshark
FIELDS = ["frame.time_epoch", "ip.src", "udp.srcport", "ip.dst", "udp.dstport",
          "sip.Call-ID", "sip.Method", "sip.from.user", "sip.to.user", "sip.r-uri.user",
          "udp.payload"]


@pytest.fixture(scope="module")
def rows():
    out = subprocess.run(["tshark", "-r", str(data.path("hep_kamailio")), "-Y", "sip",
                          "-T", "fields", "-E", "separator=\t",
                          *[a for f in FIELDS for a in ("-e", f)]],
                         capture_output=True, text=True, check=True).stdout
    result = []
    for line in out.splitlines():
        t, src, sp, dst, dp, cid, method, fu, tu, ru, raw = line.split("\t")
        sec, frac = t.split(".")
        us = int(sec) * 1_000_000 + int(frac[:6])
        result.append({"id": len(result) + 1, "sid": cid, "callid": cid, "method": method,
                       "from_user": fu, "to_user": tu, "ruri_user": ru, "srcIp": src,
                       "srcPort": int(sp), "dstIp": dst, "dstPort": int(dp),
                       "timeSeconds": us // 1_000_000, "timeUseconds": us % 1_000_000,
                       "captureId": "2001", "create_date": us // 1000, "time_us": us,
                       "raw_hex": raw.replace(":", "")})
    return result


def _window(rows):
    return {"start_ms": rows[0]["create_date"], "end_ms": rows[-1]["create_date"]}


def test_login_search_by_call_id_and_number(rows):
    with HomerDouble(rows) as homer:
        c = HomerClient(homer.url)
        token = c.login("admin", "sipcapture")
        assert token.startswith("jwt-")
        call = rows[0]["callid"]
        found = c.search_calls(call_id=call, **_window(rows))
        assert len(found) == sum(r["callid"] == call for r in rows) > 3
        assert found["create_date"].is_monotonic_increasing
        # what went over the wire is homer-app's SearchObject, Bearer token in the header
        method, path, body = homer.requests[-1]
        assert path == "/api/v3/search/call/data"
        assert body["param"]["search"]["1_call"][0] == {
            "name": "data_header.callid", "value": call, "type": "string", "hepid": 1}
        busy = c.search_calls(number="busy", **_window(rows))
        assert len(busy) == sum("busy" in (r["to_user"], r["ruri_user"]) for r in rows) > 0
        assert len(c.search_calls(call_id=call, start_ms=0, end_ms=1)) == 0


def test_export_pcap_holds_the_call(rows, tmp_path):
    with HomerDouble(rows) as homer:
        c = HomerClient(homer.url)
        c.login("admin", "sipcapture")
        call = rows[0]["callid"]
        out = c.export_pcap([call], tmp_path / "call.pcap", **_window(rows))
        msgs = sip_messages(read_capture(out))
        assert set(msgs["call_id"]) == {call}
        assert len(msgs) == sum(r["callid"] == call for r in rows)


def test_aliases_from_a_host_table(rows):
    hosts = [{"name": "kamailio", "ip": "127.0.0.1", "port": 47200},
             {"name": "sipp-uas", "ip": "127.0.0.1", "port": 47203}]
    with HomerDouble(rows) as homer:
        c = HomerClient(homer.url)
        c.login("admin", "sipcapture")
        assert len(c.set_aliases(hosts)) == 2
        assert c.set_aliases(hosts) == []            # already there: nothing added
        assert sorted(a["alias"] for a in c.aliases()) == ["kamailio", "sipp-uas"]
        assert homer.requests[-1][0] == "GET"
        found = c.search_calls(call_id=rows[0]["callid"], **_window(rows))
        assert "kamailio" in set(found["aliasDst"])
        viewer = HomerClient(homer.url)
        viewer.login("viewer", "viewer")
        with pytest.raises(HomerError, match="forbidden .403.*admin"):
            viewer.add_alias(aliases_from_hosts(hosts[:1])[0])


def test_clear_errors(rows):
    with HomerDouble(rows) as homer:
        c = HomerClient(homer.url)
        with pytest.raises(HomerError, match="login refused .401: password is not correct"):
            c.login("admin", "wrong")
        with pytest.raises(HomerError, match="not logged in"):
            c.aliases()
        stale = HomerClient(homer.url, token="jwt-999")
        with pytest.raises(HomerError, match="token has expired"):
            stale.aliases()
    with HomerDouble(rows, expire_after=1) as homer:
        c = HomerClient(homer.url)
        c.login("admin", "sipcapture")
        c.aliases()
        c.aliases()                                   # expired: logs in again by itself
        assert [p for _, p, _ in homer.requests].count("/api/v3/auth") == 2
    with HomerDouble(rows, mode="html") as homer:
        with pytest.raises(HomerError, match="an HTML page instead of JSON"):
            HomerClient(homer.url).login("admin", "sipcapture")
    with HomerDouble(rows, delay=1.5) as homer:
        with pytest.raises(HomerError, match="no answer within 0.3 s"):
            HomerClient(homer.url, timeout=0.3).login("admin", "sipcapture")
    with pytest.raises(HomerError, match="not reachable"):
        HomerClient("http://127.0.0.1:9").login("admin", "sipcapture")
    with pytest.raises(HomerError, match="ends .* before it starts"):
        search_request(call_id="x", start_ms=5, end_ms=1)
