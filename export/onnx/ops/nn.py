"""Converters: nn (being written)."""
