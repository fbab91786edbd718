"""Renderers: every result type to table, json, csv (and parquet where it fits)."""
