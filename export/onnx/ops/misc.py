"""Converters: misc (being written)."""
