"""A fast slice of bench/corpus_fuzz.py: every rule over real installed code,
checked and fixed in memory, with no crash, no fix that breaks compilation,
nothing left for a second pass and clean files untouched."""

import importlib.util
import sys
from pathlib import Path

from rules.registry import all_rules

BENCH = Path(__file__).resolve().parents[2] / "bench" / "corpus_fuzz.py"


def load_bench():
    spec = importlib.util.spec_from_file_location("corpus_fuzz", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules["corpus_fuzz"] = module  # worker processes unpickle by module name
    spec.loader.exec_module(module)
    return module


def test_rules_survive_a_sample_of_installed_packages():
    fuzz = load_bench()
    # Small files from packages full of the patterns the rules look for
    # (torch.cat, iterrows, pop(0), map_elements), so most of them are parsed.
    files = fuzz.sample(
        fuzz.python_files(["torch_geometric", "pandas/core", "polars", "hypothesis"], max_bytes=5000),
        limit=120,
        seed=3,
    )
    assert len(files) == 120
    report = fuzz.fuzz(files, all_rules(), jobs=2)
    assert report.crashes == []
    assert report.bad_fixes == []
    assert report.second_pass == []
    assert report.changed_clean == []
    assert report.clean_identical == report.clean_files
    assert report.parsed >= 40, "the sample should exercise the rules, not skip them"


def test_fuzz_counts_crashes_and_bad_fixes(tmp_path):
    fuzz = load_bench()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures" / "repos"))
    import demo_rules

    demo = demo_rules.load()

    class Crashes(demo.PopZero):
        code = "KZ196"

        def visit_Call(self, node):
            raise ValueError("boom")

    (tmp_path / "a.py").write_text("q.pop(0)\n")
    (tmp_path / "b.py").write_text("sorted(q)[0]\nq.pop(0)\n")
    report = fuzz.fuzz(sorted(tmp_path.glob("*.py")), [demo.PopZero, demo.SortedFirst], jobs=1)
    assert (report.files, report.parsed, report.with_findings) == (2, 2, 2)
    assert report.fixed_files == {"safe": 2, "unsafe": 1}
    assert report.ok
    report = fuzz.fuzz([tmp_path / "a.py"], [Crashes], jobs=1)
    assert len(report.crashes) == 1 and "ValueError: boom" in report.crashes[0]
    assert not report.ok
