"""Benchmarks: measured speed and memory, kept out of the unit tests."""
