"""Converters: reduce (being written)."""
