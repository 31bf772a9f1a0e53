"""Deterministic synthetic capture builders (real encoders, labkit.capture.frames)."""
