"""Every audited read goes through audit.services.consult: no other module writes a CONSULT row
by hand (issue 15 item 4). bench/ seeds synthetic history in bulk and is not application code."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("agencies", "audit", "cases", "core", "keystore", "lifecycle", "meetings", "notifications", "sharing")


def _writes_consult(call: ast.Call) -> bool:
    def is_consult(node: ast.AST) -> bool:
        return isinstance(node, ast.Attribute) and node.attr == "CONSULT"

    name = call.func.id if isinstance(call.func, ast.Name) else getattr(call.func, "attr", "")
    if name != "record_event":
        return False
    return bool(call.args and is_consult(call.args[0])) or any(
        k.arg == "op" and is_consult(k.value) for k in call.keywords
    )


def test_only_audit_consult_writes_a_consultation():
    found = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "tests" in path.parts or "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Call) and _writes_consult(node):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    # then the only hand-written CONSULT is the one inside audit.services.consult
    assert [line.split(":")[0] for line in found] == ["audit/services.py"], found
