"""The processing pipeline: small named steps, in a declared order, each returning a verdict with a
reason; every verdict is recorded in the message's report (see ``chain.py`` for the order)."""
