"""Converters: norm (being written)."""
