"""The import contracts (pyproject.toml, [tool.importlinter]) hold for the project, and they do fail on a
back-import: each test plants one in a throwaway copy of the project and runs the same lint-imports."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _config() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]


def _lint_imports(where: Path, *contracts: str) -> subprocess.CompletedProcess[str]:
    args = [str(LINT_IMPORTS), "--no-cache"]
    for contract in contracts:
        args += ["--contract", contract]
    return subprocess.run(args, cwd=where, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """Every package the contracts read, the contract type in tools/, and pyproject.toml, in tmp_path
    (lint-imports puts its working directory first on the path, so the copy is what it analyses)."""
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in [*_config()["root_packages"], "tools"]:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=skip)
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _plant(copy: Path, module: str, source: str) -> None:
    (copy / Path(*module.split("."))).with_suffix(".py").write_text(source)


def test_the_project_keeps_every_import_contract() -> None:
    # when lint-imports runs on the project as it is
    result = _lint_imports(ROOT)
    # then every contract is kept
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Contracts: {len(_config()['contracts'])} kept, 0 broken." in result.stdout


def test_a_back_import_into_core_breaks_the_kernel_contract(copy: Path) -> None:
    # given a module of core (the ground floor) that reaches up into a domain app
    _plant(copy, "core.planted", "from cases.models import Case\n\nCASE = Case\n")
    # when the kernel contract is checked
    result = _lint_imports(copy, "kernel")
    # then it is broken, and the output names the contract and the import
    assert result.returncode == 1, result.stdout + result.stderr
    assert "core (the kernel's primitives) imports no app BROKEN" in result.stdout
    assert "core.planted -> cases.models (l.1)" in result.stdout


def test_an_import_inside_a_function_counts(copy: Path) -> None:
    # given a domain model module that imports a service, but only inside a function
    lazy = "def later():\n    from cases import services\n\n    return services\n"
    _plant(copy, "cases.planted_models", lazy)
    (copy / "cases" / "models.py").write_text(
        (copy / "cases" / "models.py").read_text() + "\nfrom . import planted_models  # noqa: E402, F401\n"
    )
    # when the models contract is checked
    result = _lint_imports(copy, "models")
    # then the function-level import breaks it as a top-level one would
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Domain models import no policy, service or surface BROKEN" in result.stdout
    assert "cases.planted_models -> cases.services (l.2)" in result.stdout


def test_two_modules_that_import_each_other_break_the_cycle_contract(copy: Path) -> None:
    # given two modules of different apps that import each other (one of them lazily)
    _plant(copy, "meetings.planted", "from cases import planted\n")
    _plant(copy, "cases.planted", "def later():\n    from meetings import planted\n\n    return planted\n")
    # when the cycle contract is checked
    result = _lint_imports(copy, "acyclic")
    # then it is broken and the cycle is spelled out with its lines
    assert result.returncode == 1, result.stdout + result.stderr
    assert "No import cycle between modules BROKEN" in result.stdout
    assert "cases.planted -> meetings.planted (l.2)" in result.stdout
    assert "meetings.planted -> cases.planted (l.1)" in result.stdout
