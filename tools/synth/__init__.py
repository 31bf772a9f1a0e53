"""Deterministic synthetic capture builders (real encoders, labkit.frames)."""
