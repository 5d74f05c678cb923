"""Converters: activation (being written)."""
