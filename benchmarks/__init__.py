"""Benchmarks: separate from the tests, they print figures and their ratio to a baseline."""
