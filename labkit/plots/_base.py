"""Shared plotting helpers: one fixed figure size."""
from __future__ import annotations

import matplotlib.pyplot as plt

FIGSIZE = (10.0, 3.5)  # [inch] one size everywhere, so outputs stay deterministic


def new_axes(ax=None, figsize=FIGSIZE):
    """Return `ax`, or the Axes of a new figure of size `figsize` [inch]."""
    if ax is not None:
        return ax
    _, ax = plt.subplots(figsize=figsize)
    return ax
