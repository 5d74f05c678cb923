"""Converters: shape (being written)."""
