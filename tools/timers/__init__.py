"""Builders of data/timers/ (real SIPp peers with scripted timing, for notebook 12)."""
