"""Pattern benchmarks: time a rule's ``BENCH.before`` against its fix.

Split like the equivalence checks: ``rules.measure.job`` (needs LibCST)
derives the ``after`` snippet from the rule's own fix; ``python -m
rules.measure.run`` (stdlib only) times both in the target's interpreter and
prints one JSON line.
"""
