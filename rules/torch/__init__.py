"""Rules about torch."""
