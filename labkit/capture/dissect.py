"""Vectorised dissection of frames down to the innermost UDP datagram or TCP segment.

Internal engine of :mod:`labkit.capture` (use :func:`labkit.capture.read_capture`).
Every stage works on a batch of frames at once: numpy gathers from the memory-mapped
file, no per-packet Python except IP fragment reassembly.

Stages (each frame goes as deep as it can)::

    link (Ethernet [802.1Q/QinQ, PPPoE, MPLS], SLL, SLL2, NULL/LOOP, raw IPv4/IPv6)
      -> IP (IPv4 with options, IPv6 with extension headers; fragments -> reassembly)
      -> UDP | TCP | ESP (NULL-encryption heuristic) | AH | IP-in-IP | GRE
      -> UDP 2152 G-PDU -> inner IP (3GPP TS 29.281 clause 5)
         UDP 4500 ESP (RFC 3948), UDP 4789 VXLAN -> inner Ethernet (RFC 7348)

The first 64 bytes of every frame are copied into one compact array per batch, so
field reads are column slices when frames share a layout (the RTP case).

With ``Dissector.trace`` set to a list, every stage records the headers it crosses
(name, rows, offset, length) and where it stops; :mod:`labkit.capture.layers` reads one
frame's layers from it (``trace`` is None when reading captures: one test per stage).

References
----------
- IPv4: RFC 791 (header, options, fragments), RFC 815 (reassembly).
- IPv6: RFC 8200 section 4 (extension headers, fragment header).
- MPLS RFC 3032; GRE RFC 2784/2890, enhanced GRE RFC 2637; VXLAN RFC 7348.
- UDP RFC 768, TCP RFC 793 (data offset, flags).
- Tunnels (GTP-U 3GPP TS 29.281, ESP RFC 4303, GRE, VXLAN): :mod:`labkit.capture.tunnels`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from labkit import _jit
from labkit.capture import _kernel
from labkit.capture._rows import _cat, _col, _n, _sub, _take, _u16, _u32
from labkit.capture.tunnels import ESP_ICV_LENGTHS, TunnelMixin

__all__ = ["Dissector", "Reassembler", "Fragment", "LINKTYPES", "ESP_ICV_LENGTHS", "HEAD"]

LINKTYPES = {0: "NULL", 1: "Ethernet", 12: "raw IP", 14: "raw IP", 101: "raw IP",
             108: "LOOP", 113: "Linux SLL", 228: "raw IPv4", 229: "raw IPv6",
             276: "Linux SLL2"}
_VLAN_TPIDS = (0x8100, 0x88A8, 0x9100)
_V6_EXT = (0, 43, 60, 135, 139, 140, 253, 254)
# Wireshark's protocol names of the IPv6 extension headers (PDML proto names)
_V6_NAMES = {0: "ipv6.hopopts", 43: "ipv6.routing", 60: "ipv6.dstopts", 135: "ipv6.mipv6",
             139: "ipv6.hip", 140: "ipv6.shim6"}
HEAD = 64  # bytes per frame kept in the compact array (Ethernet+VLAN+IPv6+UDP fits)


@dataclass
class Fragment:
    """One IP fragment waiting for reassembly (RFC 815 hole filling, first copy wins)."""

    offset: int
    data: bytes
    more: bool


@dataclass
class Reassembler:
    """IPv4/IPv6 fragment reassembly across chunks.

    Datagrams are keyed by (version, source, destination, protocol (IPv4), identification),
    complete when every byte from 0 to the end of the fragment with MF=0 is present,
    and are reported at the frame that completed them (Wireshark's "reassembled in").
    """

    pending: dict = field(default_factory=dict)
    n_reassembled: int = 0
    n_fragments_used: int = 0

    def add(self, key, frag: Fragment):
        """Add a fragment; return the datagram bytes when it completes, else None."""
        frags = self.pending.setdefault(key, [])
        if any(f.offset == frag.offset for f in frags):
            return None
        frags.append(frag)
        last = [f for f in frags if not f.more]
        if not last:
            return None
        total = last[0].offset + len(last[0].data)
        have = 0
        for f in sorted(frags, key=lambda f: f.offset):
            if f.offset > have:
                return None
            have = max(have, f.offset + len(f.data))
        if have < total:
            return None
        del self.pending[key]
        buf = bytearray(total)
        for f in sorted(frags, key=lambda f: f.offset, reverse=True):
            buf[f.offset:f.offset + len(f.data)] = f.data[:total - f.offset]
        self.n_reassembled += 1
        self.n_fragments_used += len(frags)
        return bytes(buf)

    def snapshot(self):
        """State to :meth:`restore` (fragments are never mutated, lists are copied)."""
        return ({k: list(v) for k, v in self.pending.items()}, self.n_reassembled,
                self.n_fragments_used)

    def restore(self, state):
        pending, self.n_reassembled, self.n_fragments_used = state
        self.pending = {k: list(v) for k, v in pending.items()}

    def n_pending_fragments(self) -> int:
        return sum(len(v) for v in self.pending.values())


class Dissector(TunnelMixin):
    """Dissect batches of frames held in one byte array.

    Parameters
    ----------
    data : ndarray of uint8
        The bytes (the mapped capture file, or a buffer of reassembled datagrams).
    stats : dict
        Counters to update (shared by all dissectors of one read).
    gtp_ports : tuple of int
        UDP ports on which a G-PDU is decapsulated (3GPP TS 29.281: 2152).
    esp_null : bool
        Apply the ESP NULL-encryption heuristic.
    reassembler : Reassembler or None
        Fragment reassembly state; None = count fragments only.

    Notes
    -----
    Rows are dicts of equal-length int64 arrays: ``idx`` (frame index in the batch),
    ``pos`` (current header), ``end`` (end of captured bytes), ``ipend`` (end of the IP
    payload), ``ver``, addresses ``shi/slo/dhi/dlo`` (IPv4 in ``slo``/``dlo``), ``l3``,
    ``vlan``, ``teid``, outer tunnel addresses ``over/ohi_s/olo_s/ohi_d/olo_d``, ``spi``,
    ``proto``; finished rows add ``sport, dport, poff, plen, seq, flags``.
    """

    def __init__(self, data, stats, *, gtp_ports=(2152,), esp_null=True, reassembler=None,
                 book=None):
        self.b = data
        self.stats = stats
        self.gtp_ports = np.asarray(gtp_ports, dtype=np.int64)
        # UDP ports a later stage may decapsulate (GTP-U, ESP in UDP 4500, VXLAN 4789)
        self._tunnel_ports = np.unique(np.concatenate([self.gtp_ports, [4500, 4789]]))
        self.esp_null = esp_null
        self.reasm = reassembler
        self.completed: list[tuple] = []   # fragment events (idx, key, Fragment, row)
        self.h = None        # compact copy of the first HEAD bytes of every frame
        self._full = None    # the idx array known to be arange(n)
        # header boundaries crossed, when recording (labkit.capture.layers): a list of
        # (name, idx, offset, length, detail); None = not recording (the fast path)
        self.trace = None
        # payload bytes the compiled path copies per frame it takes (0: none), and the
        # frames it took, already as columns: the tuple of _kernel.plain_udp4, or None
        self.head_width = 0
        self.fast = None
        # the reader's address book (labkit.capture.packets._AddressBook): the compiled
        # path reads its IPv4 cache; without one every frame takes the vectorised stages
        self.book = book

    def mark(self, name: str, idx, offset, length, detail: str = ""):
        """Record that rows `idx` cross header `name` at `offset` (`length` octets).

        Costs one test per stage and batch when not recording (``trace`` is None).
        """
        if self.trace is None:
            return
        idx = np.asarray(idx, np.int64)
        if len(idx):
            self.trace.append((name, idx.copy(), np.broadcast_to(np.asarray(offset, np.int64),
                               idx.shape).copy(), np.broadcast_to(np.asarray(length, np.int64),
                               idx.shape).copy(), detail))

    # ------------------------------------------------------------------ byte access
    def _compact(self, offset: np.ndarray):
        """Copy the first HEAD bytes of every frame into one contiguous array.

        Field reads then hit a small array (column slices when all frames share a
        layout) instead of scattered file pages: one pass over the file per chunk.
        """
        size, n = len(self.b), len(offset)
        if size < HEAD or n < 2:  # one frame: reading the file directly is as fast
            return
        start = np.minimum(offset, size - HEAD)
        d = np.diff(start)
        if n > 1 and d.min() == d.max() and d[0] > 0:  # constant stride: strided copy
            view = np.ndarray((n, HEAD), np.uint8, buffer=self.b, offset=int(start[0]),
                              strides=(int(d[0]), 1))
            self.h = view.copy()
        else:
            win = np.lib.stride_tricks.as_strided(self.b, (size - HEAD + 1, HEAD), (1, 1))
            self.h = win[start]
        self.base = start

    def gb(self, idx, at, width: int) -> np.ndarray:
        """Bytes ``at[i] .. at[i]+width-1`` of rows `idx`: uint8 array [n, width]."""
        if self.h is not None and len(at):
            rel = at - self.base[idx]
            lo, hi = int(rel.min()), int(rel.max())
            if lo >= 0 and hi + width <= HEAD:
                if lo == hi:
                    if idx is self._full or self._is_full(idx):
                        return self.h[:, lo:lo + width]
                    return self.h[idx, lo:lo + width]
                return self.h[idx[:, None], rel[:, None] + np.arange(width)]
        return self.b[at[:, None] + np.arange(width)]

    def _is_full(self, idx) -> bool:
        n = len(self.h)
        if len(idx) == n and idx[0] == 0 and idx[-1] == n - 1 and (np.diff(idx) == 1).all():
            self._full = idx
            return True
        return False

    def u8(self, idx, at):
        return self.gb(idx, at, 1)[:, 0].astype(np.int64)

    def u16(self, idx, at):
        x = self.gb(idx, at, 2)
        return (x[:, 0].astype(np.int64) << 8) | x[:, 1]

    def u32(self, idx, at):
        x = self.gb(idx, at, 4).astype(np.int64)
        return (x[:, 0] << 24) | (x[:, 1] << 16) | (x[:, 2] << 8) | x[:, 3]

    def count(self, name: str, k: int):
        if k:
            self.stats[name] = self.stats.get(name, 0) + int(k)

    # ------------------------------------------------------------------ entry points
    def frames(self, offset, caplen, linktype) -> list[dict]:
        """Dissect frames (file offsets, captured lengths, link types): finished rows.

        In batches of at least :data:`labkit._jit.COMPILE_MIN` frames, plain Ethernet /
        IPv4 / UDP frames take the compiled path (:mod:`labkit.capture._kernel`; with the
        reader's address book, not when recording a trace): they are not in the returned
        rows but in ``self.fast``, as finished columns. The others go through the vectorised stages.
        """
        offset = np.asarray(offset, np.int64)
        done: list[dict] = []
        idx, every = None, offset
        book = self.book
        if self.trace is None and book is not None and _jit.use_compiled(len(offset)):
            self.fast = _jit.compiled(_kernel.plain_udp4)(
                self.b, offset, caplen, linktype == 1, self._tunnel_ports, self.head_width,
                book.v4_key, book.v4_id, 32 - book._BITS)
            idx = self.fast[1]
            if not len(idx):
                return done
            offset, caplen, linktype = offset[idx], caplen[idx], linktype[idx]
        caplen = np.asarray(caplen, np.int64)
        n = len(offset)
        w = {"idx": np.arange(n, dtype=np.int64) if idx is None else idx, "pos": offset.copy(),
             "ver": np.zeros(n, np.int64)}
        w["end"] = w["pos"] + caplen
        if 4 * n >= len(every):   # many frames for the vectorised stages: compact copy
            self._compact(every)
        same = n > 0 and (linktype == linktype[0]).all()
        for lt in (linktype[:1] if same else np.unique(linktype)):
            sel = slice(None) if same else np.flatnonzero(linktype == lt)
            self._link(int(lt), w, sel)
        ok = w["ver"] > 0
        self.count("non_ip", n - int(ok.sum()) - int((linktype < 0).sum()))
        return done + self.run(_take(w, ok), {})

    def datagrams(self, items: list[tuple[int, int, dict]]) -> list[dict]:
        """Continue reassembled datagrams held in ``self.b``: items of (start, length,
        state of the fragment that completed it); return finished rows."""
        keys = set().union(*(r for _, _, r in items))
        w = {k: np.array([r.get(k, -1) for _, _, r in items], np.int64) for k in keys}
        w["pos"] = np.array([s for s, _, _ in items], np.int64)
        w["end"] = w["pos"] + np.array([n for _, n, _ in items], np.int64)
        w["ipend"] = w["end"].copy()
        w["cut"] = np.zeros(len(items), np.int64)  # a reassembled datagram is whole
        v6 = w["ver"] == 6
        return self.run({}, _cat([_take(w, ~v6), self._ipv6_ext(_take(w, v6))]))

    def run(self, ipw: dict, l4w: dict) -> list[dict]:
        """Run IP and transport stages until every row is finished or dropped."""
        out: list[dict] = []
        for _ in range(8):  # nesting depth bound (tunnels in tunnels)
            l4w = _cat([l4w, self.ip(ipw)]) if _n(ipw) else l4w
            if not _n(l4w):
                break
            ipw, l4w, done = self.transport(l4w)
            out.extend(done)
        return out

    # ------------------------------------------------------------------ link layer
    def _link(self, lt, w, sel):
        b, pos, end = self.b, w["pos"], w["end"]
        if lt == 1:
            return self._ethernet(w, sel)
        if lt in (113, 276):
            hl, eo = (16, 14) if lt == 113 else (20, 0)
            good = _sub(sel, pos[sel] + hl <= end[sel])
            et = self.u16(w["idx"][good], pos[good] + eo)
            self.mark("sll" if lt == 113 else "sll2", w["idx"][good], pos[good], hl)
            pos[good] += hl
            self._ethertype(w, good, et)
        elif lt in (12, 14, 101, 228, 229):
            good = _sub(sel, pos[sel] < end[sel])
            nib = self.u8(w["idx"][good], pos[good]) >> 4
            w["ver"][good] = np.where((nib == 4) | (nib == 6), nib, 0)  # else not IP
        elif lt in (0, 108):
            good = _sub(sel, pos[sel] + 4 <= end[sel])
            q = pos[good]
            if lt == 108:
                fam = _u32(b, q)
            else:  # host byte order of the writer: big-endian if the first bytes are 0
                le = b[q].astype(np.int64) | (b[q + 1].astype(np.int64) << 8)
                fam = np.where((b[q] == 0) & (b[q + 1] == 0), _u16(b, q + 2), le)
            self.mark("null", w["idx"][good], pos[good], 4)
            pos[good] += 4
            w["ver"][good] = np.select([fam == 2, np.isin(fam, (24, 28, 30))], [4, 6], 0)

    def _ethernet(self, w, sel):
        b, pos, end = self.b, w["pos"], w["end"]
        if self.trace is not None:
            short = np.flatnonzero(pos[sel] + 14 > end[sel])
            rows = np.arange(_n(w))[sel][short]
            self.mark("truncated", w["idx"][rows], pos[rows], end[rows] - pos[rows],
                      "Ethernet header")
        sel = _sub(sel, pos[sel] + 14 <= end[sel])
        et = self.u16(w["idx"][sel], pos[sel] + 12)
        self.mark("eth", w["idx"][sel], pos[sel], 14)
        pos[sel] += 14
        for _ in range(3):  # 802.1Q, QinQ (802.1ad) and one more level
            tag = np.isin(et, _VLAN_TPIDS) & (pos[sel] + 4 <= end[sel])
            if not tag.any():
                break
            t = _sub(sel, tag)
            _col(w, "vlan")[t] = self.u16(w["idx"][t], pos[t]) & 0x0FFF
            et[tag] = self.u16(w["idx"][t], pos[t] + 2)
            self.mark("vlan", w["idx"][t], pos[t], 4)
            pos[t] += 4
        self._ethertype(w, sel, et)

    def _ethertype(self, w, sel, et):
        w["ver"][sel] = np.where(et == 0x0800, 4, np.where(et == 0x86DD, 6, 0))
        pppoe = (et == 0x8864) & (w["pos"][sel] + 8 <= w["end"][sel])
        if pppoe.any():  # PPPoE session carrying PPP IPv4 (0x0021) / IPv6 (0x0057)
            ppp = _sub(sel, pppoe)
            proto = _u16(self.b, w["pos"][ppp] + 6)
            self.mark("pppoes", w["idx"][ppp], w["pos"][ppp], 6)
            self.mark("ppp", w["idx"][ppp], w["pos"][ppp] + 6, 2)
            w["pos"][ppp] += 8
            w["ver"][ppp] = np.where(proto == 0x21, 4, np.where(proto == 0x57, 6, 0))
        mpls = (et == 0x8847) | (et == 0x8848)
        if mpls.any():
            self._mpls(w, np.arange(_n(w))[sel][mpls])
        if self.trace is not None:  # not IP: the rest of the frame is data
            rows = np.arange(_n(w))[sel][w["ver"][sel] == 0]
            self.mark("data", w["idx"][rows], w["pos"][rows], w["end"][rows] - w["pos"][rows],
                      "not IP")

    def _mpls(self, w, rows):
        """MPLS label stack (RFC 3032): skip to the bottom label; IP by its first nibble
        (Wireshark's default payload guess)."""
        b, p, end = self.b, w["pos"][rows], w["end"][rows]
        bottom = np.zeros(len(rows), bool)
        for _ in range(16):
            go = ~bottom & (p + 4 <= end)
            if not go.any():
                break
            bottom[go] = (b[p[go] + 2] & 1) == 1
            self.mark("mpls", w["idx"][rows[go]], p[go], 4)
            p[go] += 4
        inside = bottom & (p < end)
        nib = np.zeros(len(rows), np.int64)
        nib[inside] = b[p[inside]] >> 4
        w["pos"][rows] = p
        w["ver"][rows] = np.where((nib == 4) | (nib == 6), nib, 0)

    # ------------------------------------------------------------------ network layer
    def ip(self, w: dict) -> dict:
        """IP headers at w['pos'] (version w['ver']): return transport-stage rows."""
        b = self.b
        inside = w["pos"] < w["end"]
        if inside.all():
            nib = self.u8(w["idx"], w["pos"]) >> 4
        else:
            nib = np.zeros(_n(w), np.int64)
            nib[inside] = self.u8(w["idx"][inside], w["pos"][inside]) >> 4
        match = inside & (nib == w["ver"])
        self.count("non_ip", _n(w) - int(match.sum()))
        if self.trace is not None:
            bad = np.flatnonzero(~match)
            self.mark("data", w["idx"][bad], w["pos"][bad], w["end"][bad] - w["pos"][bad],
                      "not IP (version nibble differs from the link layer)")
        w = _take(w, match)
        if not _n(w):  # no row has an IP header where the link layer said
            return {}
        if "l3" not in w:
            w["l3"] = w["pos"].copy()
        else:
            first = w["l3"] < 0
            w["l3"][first] = w["pos"][first]
        v4 = w["ver"] == 4
        return _cat([self._ipv4(_take(w, v4)), self._ipv6(_take(w, ~v4))])

    def _ipv4(self, w: dict) -> dict:
        if not _n(w):
            return {}
        p, idx = w["pos"], w["idx"]
        ihl = (self.u8(idx, p) & 15) * 4
        ok = (ihl >= 20) & (p + np.maximum(ihl, 20) <= w["end"])
        self.count("truncated", _n(w) - int(ok.sum()))
        self._mark_bad(w, ok, "IPv4 header")
        w, ihl = _take(w, ok), ihl[ok]
        if not _n(w):
            return {}
        p, idx = w["pos"], w["idx"]
        hdr = self.gb(idx, p, 20)
        tot = hdr[:, 2:4].view(">u2")[:, 0].astype(np.int64)
        tot = np.where(tot == 0, w["end"] - p, tot)  # TSO captures: total length 0
        w["ipend"] = np.minimum(p + np.maximum(tot, ihl), w["end"])
        w["cut"] = (p + np.maximum(tot, ihl) > w["end"]).astype(np.int64)  # snaplen
        w["proto"] = hdr[:, 9].astype(np.int64)
        addr = hdr[:, 12:20].view(">u4")
        w["shi"] = w["dhi"] = np.zeros(_n(w), np.int64)
        w["slo"], w["dlo"] = addr[:, 0].astype(np.int64), addr[:, 1].astype(np.int64)
        frag = hdr[:, 6:8].view(">u2")[:, 0]
        self.mark("ip", idx, p, ihl)
        w["pos"] = p + ihl
        isfrag = (frag & 0x3FFF) != 0
        if isfrag.any():
            ident = (hdr[isfrag, 4].astype(np.int64) << 8) | hdr[isfrag, 5]
            self._fragments(_take(w, isfrag), (frag[isfrag] & 0x1FFF) * 8,
                            (frag[isfrag] & 0x2000) != 0, ident)
        return _take(w, ~isfrag)

    def _ipv6(self, w: dict) -> dict:
        if not _n(w):
            return {}
        b = self.b
        ok = w["pos"] + 40 <= w["end"]
        self.count("truncated", _n(w) - int(ok.sum()))
        self._mark_bad(w, ok, "IPv6 header")
        w = _take(w, ok)
        if not _n(w):
            return {}
        p = w["pos"]
        hdr = self.gb(w["idx"], p, 40)
        addr = hdr[:, 8:40].view(">u8").astype(np.int64)
        w["shi"], w["slo"], w["dhi"], w["dlo"] = (addr[:, i].copy() for i in range(4))
        plen = (hdr[:, 4].astype(np.int64) << 8) | hdr[:, 5]
        w["ipend"] = np.minimum(p + 40 + plen, w["end"])
        w["cut"] = (p + 40 + plen > w["end"]).astype(np.int64)  # snaplen
        w["proto"] = hdr[:, 6].astype(np.int64)
        self.mark("ipv6", w["idx"], p, 40)
        w["pos"] = p + 40
        return self._ipv6_ext(w)

    def _ipv6_ext(self, w: dict) -> dict:
        """Walk extension headers (RFC 8200 section 4); fragments go to reassembly."""
        if not _n(w):
            return {}
        b, keep = self.b, np.ones(_n(w), bool)
        for _ in range(16):
            ext = keep & np.isin(w["proto"], _V6_EXT + (44,)) & (w["pos"] + 8 <= w["end"])
            if not ext.any():
                break
            e = np.flatnonzero(ext)
            p, kind = w["pos"][e], w["proto"][e]
            fr = kind == 44
            if fr.any():
                sub = _take(w, e[fr])
                fo = _u16(b, p[fr] + 2)
                sub["proto"], sub["pos"] = b[p[fr]].astype(np.int64), p[fr] + 8
                self.mark("ipv6.fraghdr", sub["idx"], p[fr], 8)
                self._fragments(sub, fo & 0xFFF8, (fo & 1) != 0, _u32(b, p[fr] + 4))
                keep[e[fr]] = False
            if self.trace is not None:
                for k in np.unique(kind[~fr]):
                    m = ~fr & (kind == k)
                    self.mark(_V6_NAMES.get(int(k), "ipv6.ext"), w["idx"][e[m]], p[m],
                              (b[p[m] + 1].astype(np.int64) + 1) * 8)
            w["proto"][e] = b[p]
            w["pos"][e] = p + (b[p + 1].astype(np.int64) + 1) * 8
        bad = keep & np.isin(w["proto"], _V6_EXT + (44,))
        self.count("truncated", int(bad.sum()))
        self._mark_bad(w, ~bad, "IPv6 extension header")
        return _take(w, keep & ~bad)

    def _fragments(self, w: dict, offset, more, ident):
        """Record fragments (payload from w['pos'] to w['ipend']) for reassembly.

        The capture layer feeds them to a :class:`Reassembler` in frame order (events
        from datagrams reassembled at frame n come before those of frame n + 1).
        """
        self.count("fragments", _n(w))
        self.mark("fragment", w["idx"], w["pos"], np.maximum(w["ipend"] - w["pos"], 0),
                  "IPv4 fragment" if _n(w) and w["ver"][0] == 4 else "IPv6 fragment")
        if self.reasm is None:
            return
        for i in range(_n(w)):
            row = {k: int(v[i]) for k, v in w.items()}
            if row["pos"] > row["ipend"]:
                continue
            key = (row["ver"], row["shi"], row["slo"], row["dhi"], row["dlo"],
                   row["proto"] if row["ver"] == 4 else -1, row.get("vlan", -1),
                   int(ident[i]))
            data = self.b[row["pos"]:row["ipend"]].tobytes()
            self.completed.append((row["idx"], key, Fragment(int(offset[i]), data,
                                                             bool(more[i])), row))

    # ------------------------------------------------------------------ transport
    def transport(self, w: dict):
        """Dispatch on protocol: return (IP work, transport work, finished rows)."""
        proto = w["proto"]
        done, ipw, l4w = [], [], []
        udp, tcp, esp = proto == 17, proto == 6, proto == 50
        ah, ipip, gre = proto == 51, (proto == 4) | (proto == 41), proto == 47
        if udp.any():
            rows, inner_ip, inner_l4 = self._udp(_take(w, udp))
            done.append(rows)
            ipw.append(inner_ip)
            l4w.append(inner_l4)
        if tcp.any():
            done.append(self._tcp(_take(w, tcp)))
        if esp.any():
            inner_ip, inner_l4, _ = self._esp(_take(w, esp))
            ipw.append(inner_ip)
            l4w.append(inner_l4)
        if ah.any():
            l4w.append(self._ah(_take(w, ah)))
        if ipip.any():
            sub = _take(w, ipip)
            ipw.append(self._tunnel(sub, np.where(sub["proto"] == 4, 4, 6)))
        if gre.any():
            ipw.append(self._gre(_take(w, gre)))
        other = ~(udp | tcp | esp | ah | ipip | gre)
        self.count("non_udp", int(other.sum()))
        if self.trace is not None and other.any():
            o = np.flatnonzero(other)
            for k in np.unique(proto[o]):
                r = o[proto[o] == k]
                self.mark("data", w["idx"][r], w["pos"][r],
                          np.maximum(w["ipend"][r] - w["pos"][r], 0), f"IP protocol {int(k)}")
        return _cat(ipw), _cat(l4w), [d for d in done if _n(d)]

    def _udp(self, w: dict):
        b = self.b
        ok = w["pos"] + 8 <= w["end"]
        self.count("truncated", _n(w) - int(ok.sum()))
        self._mark_bad(w, ok, "UDP header")
        w = _take(w, ok)
        if not _n(w):
            return {}, {}, {}
        p = w["pos"]
        self.mark("udp", w["idx"], p, 8)
        hdr = self.gb(w["idx"], p, 6).view(">u2")
        w["sport"], w["dport"] = hdr[:, 0].astype(np.int64), hdr[:, 1].astype(np.int64)
        ulen = hdr[:, 2].astype(np.int64)
        w["poff"] = p + 8
        # within the IP payload (before an ESP trailer) and the captured bytes
        w["plen"] = np.clip(np.minimum(ulen - 8, np.minimum(w["ipend"], w["end"]) - p - 8), 0, None)
        w["seq"] = w["flags"] = np.zeros(_n(w), np.int64)
        natt = self._natt_mask(w)
        gtp = self._gtp_mask(w) & ~natt
        vxlan = self._vxlan_mask(w) & ~natt & ~gtp
        if not (gtp.any() or natt.any() or vxlan.any()):
            return w, {}, {}
        done, ipw, l4w = [_take(w, ~(gtp | natt | vxlan))], [], []
        if vxlan.any():
            sub = _take(w, vxlan)
            sub["ipend"] = sub["poff"] + sub["plen"]
            sub["end"] = np.minimum(sub["end"], sub["ipend"])
            self.mark("vxlan", sub["idx"], sub["poff"], 8)
            ipw.append(self._inner_ethernet(sub, sub["poff"] + 8))
        if gtp.any():
            inner, plain = self._gtp_inner(_take(w, gtp))
            ipw.append(inner)
            done.append(plain)
        if natt.any():
            inner_ip, inner_l4, opaque = self._esp_in_udp(_take(w, natt))
            ipw.append(inner_ip)
            l4w.append(inner_l4)
            done.append(opaque)
        return _cat(done), _cat(ipw), _cat(l4w)

    def _tcp(self, w: dict) -> dict:
        b = self.b
        ok = w["pos"] + 20 <= w["end"]
        self.count("truncated", _n(w) - int(ok.sum()))
        self._mark_bad(w, ok, "TCP header")
        w = _take(w, ok)
        if not _n(w):
            return {}
        p = w["pos"]
        hdr = self.gb(w["idx"], p, 14).astype(np.int64)
        w["sport"] = (hdr[:, 0] << 8) | hdr[:, 1]
        w["dport"] = (hdr[:, 2] << 8) | hdr[:, 3]
        w["seq"] = (hdr[:, 4] << 24) | (hdr[:, 5] << 16) | (hdr[:, 6] << 8) | hdr[:, 7]
        w["flags"] = hdr[:, 13]
        w["poff"] = p + (hdr[:, 12] >> 4) * 4
        w["plen"] = np.clip(np.minimum(w["ipend"], w["end"]) - w["poff"], 0, None)
        self.mark("tcp", w["idx"], p, w["poff"] - p)
        return w

    def _mark_bad(self, w: dict, ok, what: str):
        """Record rows not `ok` as cut inside header `what` (when recording)."""
        if self.trace is not None and not ok.all():
            r = np.flatnonzero(~ok)
            self.mark("truncated", w["idx"][r], w["pos"][r],
                      np.maximum(w["end"][r] - w["pos"][r], 0), what)

