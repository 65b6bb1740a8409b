"""Benchmarks: `python -m bench serve` (the API under load) and `python -m bench pipeline` (stage timings)."""
