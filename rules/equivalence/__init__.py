"""Equivalence checks: run a rule's template before and after its fix on
generated inputs and compare the results exactly.

The check is split in two so that it can run in the target's interpreter,
against the library versions installed there:

- ``rules.equivalence.job`` (this side, needs LibCST) applies the rule's fix to
  the template and builds a JSON job;
- ``rules.equivalence.run`` (the target side, stdlib + hypothesis + the
  library under test, no LibCST) executes the job: ``python -m
  rules.equivalence.run < job.json`` prints one JSON result line.
"""
