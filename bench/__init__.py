"""Benchmarks, one package per benchmark, run from the repository root: `python -m bench.engine`,
`python -m bench.load`; bench/machine.py is what they share with the tests that drive real processes."""
