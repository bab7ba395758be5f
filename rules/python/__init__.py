"""Rules about python."""
