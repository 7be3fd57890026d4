"""Section 5: HTTP under wrk, on the production settings."""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.actors import Actors
from bench.case_list import api_client_for
from bench.figures import Figure, summarise
from bench.servers import start_asgi_server, stop_server, vm_hwm_mib, wait_until_healthy, worker_pids

WRK_LUA = """
done = function(summary, latency, requests)
  io.write(string.format("BENCH p50_us=%d p95_us=%d\\n", latency:percentile(50), latency:percentile(95)))
end
"""


WRK_CONNECTIONS = 64


def run_wrk(
    url: str, headers: list[str], seconds: int, lua: Path, connections: int = WRK_CONNECTIONS
) -> dict[str, Any]:
    args = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", str(lua)]
    for header in headers:
        args += ["-H", header]
    out = subprocess.run([*args, url], capture_output=True, text=True, timeout=seconds + 60).stdout
    result: dict[str, Any] = {"raw": out[-800:], "rps": 0.0, "p50_ms": None, "p95_ms": None, "non2xx": 0}
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("Requests/sec:"):
            result["rps"] = float(line.split()[1])
        elif line.startswith("BENCH"):
            parts = dict(item.split("=") for item in line.split()[1:])
            result["p50_ms"] = int(parts["p50_us"]) / 1000
            result["p95_ms"] = int(parts["p95_us"]) / 1000
        elif line.startswith("Non-2xx or 3xx responses:"):
            result["non2xx"] = int(line.split(":")[1])
        elif line.startswith("Socket errors:"):
            result["socket_errors"] = line.split(":", 1)[1].strip()
    return result


# The production image's worker count (Dockerfile, docker-compose.yml WEB_WORKERS default).
HTTP_WORKERS = 4


def bench_http(a: Actors, env: dict[str, str], seconds: int, repeat: int) -> list[Figure]:
    import urllib.request

    if not shutil.which("wrk"):
        return [Figure("http", "HTTP under wrk", None, "req/s", note="SKIPPED: wrk is not installed")]
    if not shutil.which("gunicorn") and not (Path(sys.executable).parent / "gunicorn").exists():
        return [Figure("http", "HTTP under wrk", None, "req/s", note="SKIPPED: gunicorn is not installed")]
    _, token = api_client_for(a.practitioner)
    server, base, log = start_asgi_server(env, workers=HTTP_WORKERS)
    proto = "X-Forwarded-Proto: https"  # production settings redirect plain HTTP; TLS ends at the proxy
    try:
        tail = wait_until_healthy(server, base, log)
        if tail is not None:
            return [Figure("http", "HTTP under wrk", None, "req/s", note=f"SKIPPED: server failed: {tail}")]
        list_url = f"{base}/api/v1/cases/?status=active"
        auth = f"Authorization: Bearer {token}"
        req = urllib.request.Request(  # noqa: S310
            list_url, headers={"X-Forwarded-Proto": "https", "Authorization": f"Bearer {token}"}
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as response:  # noqa: S310
                list_status = response.status
        except urllib.error.HTTPError as exc:
            list_status = exc.code
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua_file:
            lua_file.write(WRK_LUA)
        lua = Path(lua_file.name)
        health_runs, list_runs = [], []
        for _ in range(repeat):
            health_runs.append(run_wrk(f"{base}/healthz", [proto], seconds, lua))
            if list_status == 200:
                list_runs.append(run_wrk(list_url, [proto, auth], seconds, lua))
        peak = max((vm_hwm_mib(pid) for pid in worker_pids(server.pid)), default=0.0)
    finally:
        stop_server(server)
    h_rps, h_spread = summarise([r["rps"] for r in health_runs])
    h_p95 = statistics.median([r["p95_ms"] or 0 for r in health_runs])
    figures = []
    if list_runs:
        l_rps, l_spread = summarise([r["rps"] for r in list_runs])
        l_p95 = statistics.median([r["p95_ms"] or 0 for r in list_runs])
        non2xx = sum(r["non2xx"] for r in list_runs)
        figures.append(
            Figure(
                "http_case_list",
                "HTTP GET /api/v1/cases/ (page of 50) under wrk vs /healthz, "
                f"gunicorn + {HTTP_WORKERS} uvicorn workers",
                l_rps,
                "req/s",
                l_spread,
                h_rps,
                "/healthz on the same server",
                h_spread,
                l_rps / h_rps,
                "case list / healthz throughput",
                "≥ 0.3×",
                l_rps / h_rps >= 0.3 and non2xx == 0,
                f"p95 {l_p95:.0f} ms vs {h_p95:.0f} ms; {WRK_CONNECTIONS} connections, {seconds} s × {repeat}"
                + (f"; {non2xx} NON-2xx responses" if non2xx else "")
                + "".join(
                    f"; socket errors: {r['socket_errors']}" for r in list_runs[:1] if r.get("socket_errors")
                ),
                extra={"p95_ms": l_p95, "healthz_p95_ms": h_p95},
            )
        )
    else:
        figures.append(
            Figure(
                "http_case_list",
                "HTTP GET /api/v1/cases/ under wrk",
                None,
                "req/s",
                baseline=h_rps,
                baseline_label="/healthz on the same server",
                baseline_spread=h_spread,
                note=f"SKIPPED: /api/v1/cases/ answered HTTP {list_status} (the cases API is not there yet); "
                f"healthz p95 {h_p95:.0f} ms",
            )
        )
    figures.append(
        Figure(
            "worker_peak_rss",
            "Peak RSS of a web worker under that load (VmHWM)",
            peak,
            "MiB",
            target="(reported)",
            note=f"largest of the {HTTP_WORKERS} uvicorn workers",
        )
    )
    return figures
