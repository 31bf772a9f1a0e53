"""Plots for the rtp notebooks."""
__all__: list[str] = []
