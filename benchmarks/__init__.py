"""Sentivis benchmarks: `python -m benchmarks --help`. Speed is measured here, never asserted in tests."""
