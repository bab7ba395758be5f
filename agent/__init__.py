"""kaizen: an autonomous code-optimization agent for Python ML training code."""

__version__ = "0.1.0"
