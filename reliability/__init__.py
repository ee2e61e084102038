"""Reliability tooling: `python -m reliability chaos|soak|audit` (see reliability/__main__.py)."""
