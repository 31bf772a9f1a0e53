"""Tunnels opened by the dissector: GTP-U, ESP (NULL), GRE, VXLAN, IP-in-IP, AH.

A mixin of :class:`labkit.capture.dissect.Dissector` (same row batches, see :mod:`labkit.capture._rows`).

References
----------
- GTP-U: 3GPP TS 29.281 clause 5.1 (flags E/S/PN, 4 optional octets) and 5.2
  (extension header chain: length in 4-octet units, last octet = next type).
- ESP: RFC 4303 section 2; NULL detection as Wireshark 4.0 ``esp_null_heur`` (RFC 5879):
  ICV lengths 12, 16, 24, 32 in that order; pad length and next header before the ICV;
  padding bytes must be 1, 2, 3, ...; next header must be a known IP protocol.
  UDP-encapsulated ESP: RFC 3948 (port 4500, non-ESP marker, keepalive).
- GRE: RFC 2784/2890; PPTP enhanced GRE: RFC 2637; ERSPAN type II; VXLAN: RFC 7348.
- AH: RFC 4302.
"""
from __future__ import annotations

import numpy as np

from labkit.capture._rows import _L4, _cat, _col, _n, _take, _u16, _u32

__all__ = ["TunnelMixin", "ESP_ICV_LENGTHS"]

ESP_ICV_LENGTHS = (12, 16, 24, 32)
# IP protocols Wireshark 4.0 has a dissector for (subset that matters for the ESP
# heuristic's "next header is dissectable" test).
_KNOWN_PROTOS = np.zeros(256, bool)
_KNOWN_PROTOS[[0, 1, 2, 4, 6, 8, 9, 17, 27, 33, 41, 43, 44, 46, 47, 50, 51, 58, 59, 60,
               88, 89, 97, 103, 108, 112, 115, 132, 135, 136, 137, 139, 140]] = True


class TunnelMixin:
    """Decapsulation stages; the host class provides ``b``, ``count``, ``gtp_ports``,
    ``esp_null`` and ``_ethernet``."""

    def _inner_ethernet(self, w: dict, pos) -> dict:
        """Rows continue at an inner Ethernet frame (VXLAN, GRE bridging, ERSPAN)."""
        t = {"idx": w["idx"], "pos": np.array(pos, np.int64), "end": w["end"],
             "ver": np.zeros(_n(w), np.int64)}
        self._ethernet(t, slice(None))
        ok = t["ver"] > 0
        self.count("non_ip", _n(w) - int(ok.sum()))
        w = {k: v for k, v in w.items() if k not in _L4}
        w["pos"] = t["pos"]
        if "vlan" in t:
            w["vlan"] = t["vlan"]
        w = _take(w, ok)
        return self._tunnel(w, t["ver"][ok]) if _n(w) else {}

    def _tunnel(self, w: dict, ver) -> dict:
        """Rows continue at an inner IP header; keep the outermost tunnel addresses."""
        w = {k: v for k, v in w.items() if k not in _L4}
        first = _col(w, "over") < 0
        for o, i in (("ohi_s", "shi"), ("olo_s", "slo"), ("ohi_d", "dhi"), ("olo_d", "dlo"),
                     ("over", "ver")):
            _col(w, o)[first] = w[i][first]
        w["ver"] = np.asarray(ver, dtype=np.int64)
        w["end"] = np.minimum(w["end"], w["ipend"])
        return w

    def _gre(self, w: dict) -> dict:
        """GRE (RFC 2784/2890; PPTP enhanced GRE v1, RFC 2637) carrying IP or PPP/IP."""
        b = self.b
        w = _take(w, w["pos"] + 4 <= w["end"])
        if not _n(w):
            return {}
        p = w["pos"]
        fl, pt = _u16(b, p), _u16(b, p + 2)
        q = p + 4 + 4 * ((fl >> 15) & 1) + 4 * ((fl >> 13) & 1) + 4 * ((fl >> 12) & 1) \
            + 4 * (((fl & 7) == 1) & ((fl >> 7) & 1))
        ver = np.where(pt == 0x0800, 4, np.where(pt == 0x86DD, 6, 0))
        # transparent Ethernet bridging; ERSPAN type II (8-byte header, GRE S flag set)
        # or type I (no header)
        eth = (pt == 0x6558) | (pt == 0x88BE)
        q = q + np.where((pt == 0x88BE) & ((fl >> 12) & 1 == 1), 8, 0)
        if self.trace is not None:
            self.mark("gre", w["idx"], p, np.minimum(q, w["end"]) - p)
            e2 = np.flatnonzero((pt == 0x88BE) & ((fl >> 12) & 1 == 1))
            self.mark("erspan", w["idx"][e2], q[e2] - 8, 8)
        ether = self._inner_ethernet(_take(w, eth), q[eth]) if eth.any() else {}
        ppp = np.flatnonzero((pt == 0x880B) & (q + 4 <= w["end"]))
        if len(ppp):
            r0 = q[ppp]
            r = r0 + np.where((b[r0] == 0xFF) & (b[r0 + 1] == 0x03), 2, 0)
            one = (b[r] & 1) == 1  # protocol field compression: 1-byte protocol
            pp = np.where(one, b[r], _u16(b, r))
            q[ppp] = r + np.where(one, 1, 2)
            self.mark("ppp", w["idx"][ppp], r0, q[ppp] - r0)
            ver[ppp] = np.where(pp == 0x21, 4, np.where(pp == 0x57, 6, 0))
        ok = ver > 0
        self.count("non_udp", _n(w) - int(ok.sum()) - int(eth.sum()))
        w = _take(w, ok)
        if _n(w):
            w["pos"] = q[ok]
            w = self._tunnel(w, ver[ok])
        return _cat([w, ether])

    def _ah(self, w: dict) -> dict:
        """IPv4 Authentication Header (RFC 4302): skip it."""
        b = self.b
        w = _take(w, w["pos"] + 8 <= w["end"])
        if _n(w):
            p = w["pos"]
            w["proto"] = b[p].astype(np.int64)
            w["pos"] = p + (b[p + 1].astype(np.int64) + 2) * 4
            self.mark("ah", w["idx"], p, w["pos"] - p)
        return w

    def _vxlan_mask(self, w):
        """VXLAN (RFC 7348) on UDP 4789 with the I flag: an Ethernet frame follows."""
        cand = ((w["dport"] == 4789) | (w["sport"] == 4789)) & (w["plen"] >= 8 + 14)
        if cand.any():
            c = np.flatnonzero(cand)
            cand[c[(self.b[w["poff"][c]] & 0x08) == 0]] = False
        return cand

    def _natt_mask(self, w):
        """UDP-encapsulated ESP (RFC 3948, port 4500): not IKE (zero marker), not a
        keepalive (one 0xFF byte)."""
        cand = ((w["sport"] == 4500) | (w["dport"] == 4500)) & (w["plen"] >= 8)
        if cand.any():
            c = np.flatnonzero(cand)
            cand[c[_u32(self.b, w["poff"][c]) == 0]] = False
        return cand

    def _esp_in_udp(self, w: dict):
        """ESP inside UDP 4500: decoded rows continue; opaque ESP stays a UDP row (the
        innermost UDP tshark shows then is this one)."""
        e = {k: v for k, v in w.items() if k not in _L4}
        e["pos"] = w["poff"]
        e["ipend"] = w["poff"] + w["plen"]
        e["end"] = np.minimum(w["end"], e["ipend"])
        inner_ip, inner_l4, found = self._esp(e)
        return inner_ip, inner_l4, _take(w, ~found)

    def _gtp_mask(self, w):
        b, p = self.b, w["poff"]
        cand = np.isin(w["dport"], self.gtp_ports) | np.isin(w["sport"], self.gtp_ports)
        cand &= w["plen"] >= 9
        if cand.any():
            c = np.flatnonzero(cand)
            ok = ((b[p[c]] & 0xF0) == 0x30) & (b[p[c] + 1] == 0xFF)
            cand[c[~ok]] = False
        return cand

    def _gtp_inner(self, w: dict):
        """Skip the GTP-U header (TS 29.281 5.1/5.2); inner IP version from its nibble.

        Returns (rows continuing at the inner IP header, G-PDUs whose T-PDU is not IP,
        which stay UDP rows).
        """
        b, p = self.b, w["poff"]
        end = np.minimum(w["end"], p + w["plen"])
        flags = b[p].astype(np.int64)
        q = p + np.where(flags & 7, 12, 8)
        nxt = np.where(flags & 4, b[np.minimum(p + 11, end - 1)], 0).astype(np.int64)
        for _ in range(16):
            more = np.flatnonzero((nxt != 0) & (q < end))
            if not len(more):
                break
            ln = b[q[more]].astype(np.int64) * 4
            last = q[more] + ln - 1
            okl = (ln > 0) & (last < end[more])
            nxt[more[~okl]], q[more[~okl]] = 0, end[more[~okl]]
            m = more[okl]
            nxt[m], q[m] = b[last[okl]], q[m] + ln[okl]
        ver = np.zeros(_n(w), np.int64)
        inside = q < end
        ver[inside] = b[q[inside]] >> 4
        is_ip = (ver == 4) | (ver == 6)
        self.count("gtp_non_ip", int((~is_ip).sum()))
        inner = _take(w, is_ip)
        if _n(inner):
            self.mark("gtp", inner["idx"], inner["poff"], q[is_ip] - inner["poff"])
            inner["teid"] = _u32(b, inner["poff"] + 4)
            inner["pos"], inner["ipend"] = q[is_ip], end[is_ip]
            inner = self._tunnel(inner, ver[is_ip])
        return inner, _take(w, ~is_ip)

    def _esp(self, w: dict):
        """ESP (RFC 4303): NULL-encrypted payloads continue, others are counted opaque.

        Returns (inner IP rows, inner transport rows, mask of the input rows decoded).
        """
        found = np.zeros(_n(w), bool)
        ok = w["pos"] + 8 <= w["end"]
        w = {k: v.copy() for k, v in w.items()}
        _col(w, "spi")[ok] = _u32(self.b, w["pos"][ok])
        # an IP packet cut by the snapshot length has no trailer in the capture: the
        # bytes at the cut are payload, so the NULL heuristic must not read them
        whole = ok & (w["cut"] != 1) if "cut" in w else ok
        if self.esp_null:
            for icv in ESP_ICV_LENGTHS:
                self._esp_try(w, found, icv, whole)
        self.count("esp_opaque", _n(w) - int(found.sum()))
        if self.trace is not None:
            o = np.flatnonzero(~found & ok)
            self.mark("esp", w["idx"][ok], w["pos"][ok], 8)
            self.mark("esp_opaque", w["idx"][o], w["pos"][o] + 8,
                      np.maximum(np.minimum(w["ipend"][o], w["end"][o]) - w["pos"][o] - 8, 0),
                      "cut by the capture" if "cut" in w and (w["cut"][o] == 1).any()
                      else "encrypted")
            short = np.flatnonzero(~ok)
            self.mark("truncated", w["idx"][short], w["pos"][short],
                      np.maximum(w["end"][short] - w["pos"][short], 0), "ESP header")
        w = _take(w, found)
        if not _n(w):
            return {}, {}, found
        w["pos"] = w["pos"] + 8
        ipip = (w["proto"] == 4) | (w["proto"] == 41)
        inner = _take(w, ipip)
        if _n(inner):
            inner = self._tunnel(inner, np.where(inner["proto"] == 4, 4, 6))
        return inner, _take(w, ~ipip), found

    def _esp_try(self, w: dict, found, icv: int, ok):
        """One ICV length of Wireshark's esp_null_heur: padding 1..n, known next header."""
        b = self.b
        off = w["ipend"] - icv - 2
        c = np.flatnonzero(ok & ~found & (off + 2 <= w["end"]) & (off >= w["pos"] + 8))
        if not len(c):
            return
        o = off[c]
        pad, nh = b[o].astype(np.int64), b[o + 1].astype(np.int64)
        good = _KNOWN_PROTOS[nh] & (w["pos"][c] + 8 + pad <= o)
        for j in range(int(pad[good].max()) if good.any() else 0):
            chk = good & (j < pad)
            good[chk] = b[o[chk] - j - 1] == pad[chk] - j
        g = c[good]
        if self.trace is not None and len(g):
            og, pg, i = o[good], pad[good], w["idx"][g]
            self.mark("esp_icv", i, og + 2, icv)
            self.mark("esp_trailer", i, og, 2)
            self.mark("esp_pad", i, og - pg, pg)
        found[g] = True
        w["proto"][g] = nh[good]
        w["ipend"][g] = o[good] - pad[good]
