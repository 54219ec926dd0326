"""``tg.compile``: trace a function into a program, transform it, replay it (see ``ir.py``)."""
