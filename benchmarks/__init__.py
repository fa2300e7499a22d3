"""Benchmarks: retrieval quality on public data (quality.py) and speed at scale."""
