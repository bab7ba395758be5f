"""Rules about polars."""
