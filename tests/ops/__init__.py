"""Tests of labkit.ops."""
