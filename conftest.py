"""Doctests in labkit/ (``--doctest-modules``, run by ``make test``) draw without a screen;
no progress bar in tests, doctests or notebooks under nbval (their kernels inherit the
environment), whatever the input size (labkit.capture.show_progress)."""
import os

import matplotlib

os.environ.setdefault("LABKIT_PROGRESS", "0")

matplotlib.use("Agg")
