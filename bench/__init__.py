"""Benchmarks: scripts that print figures (not part of the pass/fail suite). See docs/benchmarks.md."""
