"""Builders of data/rating/ (tariff and CDR samples for notebook 13)."""
