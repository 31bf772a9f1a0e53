"""Shared plotting helpers: one fixed figure size, figures made and shown for widgets."""
from __future__ import annotations

import matplotlib.pyplot as plt

FIGSIZE = (10.0, 3.5)  # [inch] one size everywhere, so outputs stay deterministic


def new_axes(ax=None, figsize=FIGSIZE):
    """Return `ax`, or the Axes of a new figure of size `figsize` [inch]."""
    if ax is not None:
        return ax
    _, ax = plt.subplots(figsize=figsize)
    return ax


def new_figure(nrows: int = 1, figsize=FIGSIZE):
    """A new figure of `nrows` stacked Axes and size `figsize` [inch]: ``(fig, axes)``.

    For panels drawn by several plot functions (the widgets use it, so that they never
    import matplotlib themselves). `axes` is one Axes when `nrows` is 1, else an array.
    """
    return plt.subplots(nrows, 1, figsize=figsize, constrained_layout=True)


def show(fig=None) -> None:
    """Show the open figures (`fig` among them) in the notebook output, as ``plt.show()``."""
    plt.show()
