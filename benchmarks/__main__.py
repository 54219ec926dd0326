"""``python -m benchmarks [--quick]``: run every benchmark, print one markdown table."""
from .run import main

main()
