"""Every rule with an equivalence check passes it here, with the pandas,
polars and torch this project installs."""

import pytest

from rules.equivalence.job import build_job, check_here
from rules.registry import all_rules

CHECKED = [r for r in all_rules() if r.EQUIVALENCE is not None]


@pytest.mark.parametrize("rule", CHECKED, ids=lambda r: r.code)
def test_equivalence_check_passes(rule):
    result = check_here(rule)
    assert result["ok"], result["detail"]
    assert result["examples"] >= min(rule.EQUIVALENCE.max_examples, 50)


@pytest.mark.parametrize("rule", CHECKED, ids=lambda r: r.code)
def test_equivalence_job_runs_the_rules_own_fix(rule):
    job = build_job(rule)
    assert job["before"] != job["after"]
