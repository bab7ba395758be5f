"""Rules about pandas."""
