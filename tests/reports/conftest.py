import importlib.util
import json
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent


@pytest.fixture(scope="session")
def structure():
    """The helpers of markdown_structure.py (the import mode does not put this
    folder on sys.path, so the module is loaded from its file)."""
    spec = importlib.util.spec_from_file_location("markdown_structure", HERE / "markdown_structure.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def record() -> dict:
    """A full session record: two commits, a revert, skips, an advisory."""
    return json.loads((HERE / "record_fixture.json").read_text(encoding="utf-8"))
