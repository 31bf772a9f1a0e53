"""Plots for the negotiation notebooks."""
__all__: list[str] = []
