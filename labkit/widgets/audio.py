"""Widgets for the audio notebooks."""
__all__: list[str] = []
