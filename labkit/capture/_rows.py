"""Row batches of the vectorised dissector: dicts of equal-length int64 arrays.

Internal helpers shared by :mod:`labkit.capture.dissect` and :mod:`labkit.capture.tunnels`.
"""
from __future__ import annotations

import numpy as np

# per-row state carried through the stages
_STATE = ("idx", "pos", "end", "ipend", "ver", "shi", "slo", "dhi", "dlo", "l3", "vlan",
          "teid", "ohi_s", "olo_s", "ohi_d", "olo_d", "over", "spi", "proto", "cut")
# columns that exist only once a transport header was read
_L4 = ("sport", "dport", "poff", "plen", "seq", "flags")


def _u16(b, p):
    return (b[p].astype(np.int64) << 8) | b[p + 1]


def _u32(b, p):
    return (_u16(b, p) << 16) | _u16(b, p + 2)


def _n(w: dict) -> int:
    return len(w["idx"]) if w else 0


def _take(w: dict, sel) -> dict:
    """Rows of `w` selected by a boolean mask or indices (no copy when all are kept)."""
    if not w:
        return {}
    if sel.dtype == bool:
        if sel.all():
            return w
        if not sel.any():
            return {}
    return {k: v[sel] for k, v in w.items()}


def _col(w: dict, key: str) -> np.ndarray:
    """Column `key` of `w`, created with the default -1 when absent (writable)."""
    if key not in w:
        w[key] = np.full(_n(w), -1, np.int64)
    return w[key]


def _cat(parts: list[dict]) -> dict:
    """Concatenate row sets; a column missing in some part defaults to -1 there."""
    parts = [p for p in parts if _n(p)]
    if len(parts) <= 1:
        return parts[0] if parts else {}
    keys = set().union(*parts)
    return {k: np.concatenate([p[k] if k in p else np.full(_n(p), -1, np.int64)
                               for p in parts]) for k in keys}


def _sub(sel, mask):
    """Indices (or slice) `sel` narrowed by a boolean mask over them."""
    if isinstance(sel, slice):
        return sel if mask.all() else np.flatnonzero(mask)
    return sel[mask]
