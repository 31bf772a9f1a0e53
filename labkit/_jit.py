"""Compiled loops where they pay: numba for large inputs, plain Python for small ones.

The per-packet loops of :mod:`labkit.rtp._kernel` and :mod:`labkit.capture._kernel`
are written as plain Python functions. :func:`run` calls the numba-compiled version
(``njit(cache=True, nogil=True)``, compiled on a machine's first use and cached next
to the source) when the input has at least :data:`COMPILE_MIN` elements, and the
function as written below that: importing numba costs about 0.7 s and 170 MiB, which a
capture of a few thousand packets would not win back (once numba is loaded, inputs of
:data:`WARM_MIN` elements and more run compiled). Both run the same code, so the
results are the same; tests run the tshark comparisons both ways
(``LABKIT_COMPILE_MIN=0`` compiles everything).
"""
from __future__ import annotations

import os

__all__ = ["COMPILE_MIN", "WARM_MIN", "run", "compiled", "use_compiled", "forget"]

COMPILE_MIN = int(os.environ.get("LABKIT_COMPILE_MIN", 65_536))   # [elements]
WARM_MIN = 1_024   # [elements]: the threshold once numba is loaded (a cached load is ~50 ms)
_COMPILED: dict = {}


def use_compiled(n: int) -> bool:
    """Is an input of `n` elements worth the compiled version?

    Parameters
    ----------
    n : int
        Size of the input [elements: packets, frames, keys].

    Returns
    -------
    bool
        ``n >= COMPILE_MIN`` (65,536 unless ``$LABKIT_COMPILE_MIN`` says otherwise), or
        ``n >= WARM_MIN`` (1,024) once this process compiled a loop (numba is loaded:
        e.g. the per-stream analysis of a big capture's 400 streams of 20,000 packets
        each, after its chunked read).

    References
    ----------
    numba's ``njit`` (https://numba.readthedocs.io/en/stable/user/jit.html), with
    ``cache=True`` (compiled code kept on disk) and ``nogil=True`` (threads run it side
    by side).

    Examples
    --------
    A bundled capture of a few thousand packets runs as plain Python (numba is not even
    imported); a chunk of 250,000 frames compiled:

    >>> forget()                # as in a fresh process
    >>> use_compiled(2_200), use_compiled(250_000)
    (False, True)
    """
    return n >= COMPILE_MIN or (bool(_COMPILED) and n >= WARM_MIN)


def compiled(fn):
    """The numba-compiled version of `fn` (numba imported on the first call).

    Parameters
    ----------
    fn : function
        A plain Python function of numpy arrays and numbers, written for numba.

    Returns
    -------
    numba dispatcher
        ``njit(cache=True, nogil=True)(fn)``, made once per function and process.

    References
    ----------
    As :func:`use_compiled`.

    Examples
    --------
    >>> import numpy as np
    >>> from labkit.rtp import _kernel
    >>> src, port = np.array([7, 3, 7, 9]), np.array([5004, 5004, 5004, 5004])
    >>> codes, first = compiled(_kernel.stream_keys)(src, port, src, port, src)
    >>> codes.tolist(), first.tolist()
    ([0, 1, 0, 2], [0, 1, 3])
    """
    c = _COMPILED.get(fn)
    if c is None:
        from numba import njit
        c = _COMPILED[fn] = njit(cache=True, nogil=True)(fn)
    return c


def run(fn, n: int, *args):
    """``fn(*args)``, compiled when `n` (the input's size) is at least COMPILE_MIN.

    Parameters
    ----------
    fn : function
        As :func:`compiled`.
    n : int
        Size of the input [elements].
    *args
        Arguments of `fn`.

    Returns
    -------
    object
        What `fn` returns (the same either way).

    References
    ----------
    As :func:`use_compiled`.

    Examples
    --------
    >>> import numpy as np
    >>> from labkit.rtp import _kernel
    >>> a = np.array([5, 5, 6])
    >>> run(_kernel.stream_keys, 3, a, a, a, a, a)[0].tolist()
    [0, 0, 1]
    """
    return compiled(fn)(*args) if use_compiled(n) else fn(*args)


def forget() -> None:
    """Drop the compiled versions made so far: as in a fresh process, inputs below
    COMPILE_MIN run as plain Python again (numba stays imported; the machine code stays
    in its on-disk cache).

    Returns
    -------
    None

    References
    ----------
    As :func:`use_compiled`.

    Examples
    --------
    >>> forget()
    >>> use_compiled(20_000)
    False
    """
    _COMPILED.clear()
