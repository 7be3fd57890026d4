"""`make bench`: Convene's costly paths measured against their limits and their obvious alternatives.

    python -m bench.run [--size tiny|small|large] [--repeat N] [--no-write] [--database-url URL] [--clients N]

Needs PostgreSQL and Redis (exit code 2 otherwise). Uses its own databases
(``convene_bench_<size>`` and ``convene_bench_<size>_keys`` on the server named by BENCH_DATABASE_URL,
or DATABASE_URL's server, or 127.0.0.1:5432), seeds them if they do not hold the size's world, then
prints one table. Unless --no-write, writes bench/results/latest.json and docs/benchmarks.md.
Every figure is a median over repeats with its spread (p25–p75), next to a baseline measured in the
same run; ratios are computed from those medians.

This module parses the options and runs the sections; each section is a module of its own:
``case_list`` (1), ``detail`` (2), ``audit_writes`` (3), ``fanout`` (4) and ``http_load`` (5), on
``figures`` (what a measurement is), ``environment`` (databases, preflight, machine), ``actors``
(the personas measured), ``servers`` (the production server) and ``output`` (table, files).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable

from bench.actors import actors
from bench.audit_writes import VERIFY_CHILD, bench_audit, verify_child, verify_in_child
from bench.case_list import bench_case_list
from bench.detail import bench_detail
from bench.environment import ROOT, database_urls, ensure_databases, machine, preflight, server_versions
from bench.fanout import bench_fanout, with_first_decision
from bench.figures import Figure
from bench.http_load import bench_http
from bench.output import DOC, RESULTS, merge_previous, misses_first, table, write_outputs
from bench.servers import prod_env

# what the smoke tests (bench/tests) reach through ``bench.run``
__all__ = [
    "Figure",
    "actors",
    "bench_audit",
    "bench_case_list",
    "bench_detail",
    "bench_fanout",
    "bench_http",
    "main",
    "misses_first",
    "with_first_decision",
]

# Per size: repeats, wrk seconds, concurrent-writer seconds, fan-out trials.
PLAN = {
    "tiny": {"repeat": 3, "wrk_seconds": 2, "writer_seconds": 2, "fanout_trials": 3, "clients": 20},
    "small": {"repeat": 15, "wrk_seconds": 8, "writer_seconds": 5, "fanout_trials": 15, "clients": 500},
    "large": {"repeat": 21, "wrk_seconds": 10, "writer_seconds": 8, "fanout_trials": 21, "clients": 500},
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--size", choices=list(PLAN), default="large")
    parser.add_argument("--repeat", type=int, default=None, help="Repeats per figure (default by size).")
    parser.add_argument("--no-write", action="store_true", help="Print only; write no JSON or docs.")
    parser.add_argument(
        "--database-url", default=None, help="The benchmark database (a _keys twin is used too)."
    )
    parser.add_argument("--reseed", action="store_true", help="Drop and rebuild the benchmark world.")
    parser.add_argument(
        "--only",
        default="",
        help="Comma-separated sections: list,detail,audit,verify,live,http (default: all).",
    )
    parser.add_argument(
        "--clients", type=int, default=None, help="WebSocket clients in the live room (default by size)."
    )
    parser.add_argument(VERIFY_CHILD, action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.verify_child:
        import django

        django.setup()
        verify_child()
        return 0

    started = time.perf_counter()
    machine_at_start = machine()  # the load average before this run adds its own
    db_url, keys_url = database_urls(args.size, args.database_url)
    redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    problems = preflight(db_url, redis_url)
    if problems:
        print("make bench needs PostgreSQL and Redis:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        print("Set BENCH_DATABASE_URL (or DATABASE_URL's server) and REDIS_URL.", file=sys.stderr)
        return 2
    prefix = f"bench{os.getpid()}"
    os.environ.update(
        DJANGO_SETTINGS_MODULE="config.settings.bench",
        DATABASE_URL=db_url,
        KEYSTORE_DATABASE_URL=keys_url,
        REDIS_URL=redis_url,
        CHANNELS_PREFIX=prefix,
    )
    ensure_databases([db_url, keys_url], drop=args.reseed)

    import django

    django.setup()
    from django.core.management import call_command

    from bench.seed import SIZES, is_seeded, run_seed

    plan = dict(PLAN[args.size])
    repeat = args.repeat or plan["repeat"]
    size = SIZES[args.size]
    call_command("migrate", verbosity=0, skip_checks=True)
    call_command("migrate", database="keystore", verbosity=0, skip_checks=True)
    print(f"… databases ready ({time.perf_counter() - started:.0f} s)", file=sys.stderr, flush=True)
    if not is_seeded(size):
        from cases.models import Case

        if Case.objects.exists():
            print("The benchmark database holds another world; rebuilding it.", flush=True)
            from django.db import connections

            connections.close_all()
            ensure_databases([db_url, keys_url], drop=True)
            call_command("migrate", verbosity=0, skip_checks=True)
            call_command("migrate", database="keystore", verbosity=0, skip_checks=True)
        run_seed(args.size, progress=sys.stderr.isatty() or args.size != "tiny")
    from django.db import connection

    from audit.services import seal_pending

    seal_pending(batch_size=20_000)  # events earlier runs left unsealed, so verify sees a whole chain
    with connection.cursor() as cursor:  # fresh planner statistics, as autovacuum would give a live system
        cursor.execute("ANALYZE")
    only = {s.strip() for s in args.only.split(",") if s.strip()} or {
        "list",
        "detail",
        "audit",
        "verify",
        "live",
        "http",
    }

    a = actors()
    figures: list[Figure] = []
    skipped = []
    sections: list[tuple[str, Callable[[], list[Figure]]]] = [
        ("list", lambda: bench_case_list(a, repeat)),
        ("detail", lambda: bench_detail(a, repeat)),
        ("audit", lambda: bench_audit(a, repeat, plan["writer_seconds"], args.size)),
        ("verify", lambda: [verify_in_child(dict(os.environ), {"tiny": 1, "small": 3}.get(args.size, 2))]),
        (
            "live",
            lambda: with_first_decision(
                bench_fanout(
                    a,
                    prod_env(db_url, keys_url, redis_url, prefix),
                    args.clients or plan["clients"],
                    plan["fanout_trials"],
                )
            ),
        ),
        (
            "http",
            lambda: bench_http(
                a,
                prod_env(db_url, keys_url, redis_url, prefix),
                plan["wrk_seconds"],
                1 if args.size == "tiny" else 3,
            ),
        ),
    ]
    for name, section in sections:
        if name not in only:
            skipped.append(name)
            continue
        t0 = time.perf_counter()
        print(f"… {name}", file=sys.stderr, flush=True)
        try:
            figures += section()
        except Exception as exc:  # noqa: BLE001 - one broken section must not hide the others
            import traceback

            traceback.print_exc()
            figures.append(
                Figure(name, f"{name} section", None, "", note=f"FAILED: {type(exc).__name__}: {exc}")
            )
        print(f"  {name} took {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    world = (
        f"{size.agencies} agencies, {size.users:,} users, {size.cases:,} cases, {size.events:,} audit events"
    )
    meta = {
        "size": args.size,
        "world": world,
        "repeat": repeat,
        "machine": machine_at_start,
        "versions": server_versions(),
        "finished": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "seconds": time.perf_counter() - started,
        "skipped_sections": skipped,
    }
    print()
    print(f"Convene benchmark — size {args.size}: {world}; {repeat} repeats; medians with p25–p75")
    print(table(figures))
    for f in figures:
        if f.note:
            print(f"  · {f.key}: {f.note}")
    if skipped:
        print(f"Sections not run (--only): {', '.join(skipped)}")
    if args.no_write:
        print("--no-write: results not written.")
    else:
        write_outputs(meta, merge_previous(meta, figures))
        print(f"Wrote {RESULTS.relative_to(ROOT)} and {DOC.relative_to(ROOT)}.")
    print(f"Took {meta['seconds']:.0f} s.")
    failed = [f.key for f in figures if f.note.startswith("FAILED")]
    if failed:
        print(f"Sections that failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
