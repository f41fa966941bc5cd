"""Reproducible benchmarks: provisio's use cases against the bare driver, measured in one run.

Run with `make bench` (or `.venv/bin/python -m bench --help`); results go to docs/benchmarks.md.
Not part of the test suite: timings say nothing about correctness and would make tests flaky.
"""
