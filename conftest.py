"""Doctests in labkit/ (``--doctest-modules``, run by ``make test``) draw without a screen."""
import matplotlib

matplotlib.use("Agg")
