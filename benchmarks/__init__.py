"""Side-by-side benchmarks of tinygrad_cs against reference engines (PyTorch, micrograd).

``python -m benchmarks`` runs them all and prints one markdown table; ``--quick`` is a
seconds-long smoke run for CI (its figures are not meaningful). Timing asserts never go
into the tests: a benchmark only reports.
"""
