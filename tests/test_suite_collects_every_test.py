"""The suite runs every test file in the project: a test module outside ``testpaths`` would pass CI by never
running (the notifications app's 24 tests did, until this test was written)."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIPPED_DIRS = {
    ".venv",
    "node_modules",
    ".git",
    "static",
    "templates",
    "mutants",
}  # mutants: make mutate's copy


def _test_files() -> list[Path]:
    found = []
    for path in ROOT.rglob("test_*.py"):
        parts = path.relative_to(ROOT).parts
        if parts[0] in SKIPPED_DIRS or parts[0].startswith("."):
            continue
        found.append(path.relative_to(ROOT))
    return found


def test_every_test_module_in_the_project_lies_under_a_testpath():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    testpaths = config["tool"]["pytest"]["ini_options"]["testpaths"]
    outside = [str(path) for path in _test_files() if path.parts[0] not in testpaths]
    assert _test_files(), "the scan found no test modules at all"
    assert outside == [], f"test modules pytest never collects (add their app to testpaths): {outside}"
