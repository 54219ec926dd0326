"""``python -m tinygrad_cs.cli``: the same as the ``tgcs`` console script."""
import sys

from . import main

sys.exit(main())
