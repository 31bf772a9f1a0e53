"""Plots for the sms notebooks."""
__all__: list[str] = []
