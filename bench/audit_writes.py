"""Section 3: the audit log: a write with and without its event, concurrent writers, verifying the chain."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

from bench.actors import Actors
from bench.environment import ROOT
from bench.figures import Figure, interleaved, summarise
from bench.servers import vm_hwm_mib


def bench_audit(a: Actors, repeat: int, writer_seconds: float, size: str) -> list[Figure]:
    from auditlog.registry import auditlog

    import cases.services as cs
    from audit.services import record_event as real_record
    from cases.models import Case, Note

    case = Case.objects.get(pk=a.lead_case.pk)
    body = "Seen at the victim's workplace car park at 17:05; police informed; warning letter considered."

    def write() -> None:
        cs.do_add_note(case=case, agency=a.lead_agency, acting_user=a.lead_user, body=body, category="C2")

    def off(*args: Any, **kwargs: Any) -> None:
        return None

    def audited() -> None:
        write()

    def unaudited() -> None:
        cs.record_event = off  # type: ignore[assignment]
        try:
            write()
        finally:
            cs.record_event = real_record

    def with_auditlog() -> None:
        cs.record_event = off  # type: ignore[assignment]
        auditlog.register(Note)
        try:
            write()
        finally:
            auditlog.unregister(Note)
            cs.record_event = real_record

    n = max(repeat, 10)
    samples = interleaved({"audited": audited, "off": unaudited, "auditlog": with_auditlog}, n, warmup=2)
    on, on_spread = summarise(samples["audited"])
    nothing, nothing_spread = summarise(samples["off"])
    al, al_spread = summarise(samples["auditlog"])
    figures = [
        Figure(
            "audited_write",
            "Audited write (do_add_note) throughput vs the same write with auditing off",
            1 / on,
            "writes/s",
            (1 / on_spread[1], 1 / on_spread[0]),
            1 / nothing,
            "record_event patched to a no-op",
            (1 / nothing_spread[1], 1 / nothing_spread[0]),
            nothing / on,
            "audited / unaudited throughput",
            "≥ 0.7×",
            nothing / on >= 0.7,
            f"{on * 1000:.2f} ms vs {nothing * 1000:.2f} ms per write",
        ),
        Figure(
            "auditlog_write",
            "For comparison: the same write with django-auditlog instead of Convene's audit",
            1 / al,
            "writes/s",
            (1 / al_spread[1], 1 / al_spread[0]),
            1 / nothing,
            "no auditing",
            (1 / nothing_spread[1], 1 / nothing_spread[0]),
            nothing / al,
            "auditlog / unaudited throughput",
            "(comparison only)",
            None,
            f"{al * 1000:.2f} ms per write; auditlog logs writes only (no reads, no chain)",
        ),
    ]
    figures.append(concurrent_writers(a, writer_seconds))
    return figures


def concurrent_writers(a: Actors, seconds: float, threads: int = 8) -> Figure:
    import threading

    from django.db import connections

    import cases.services as cs
    from audit.models import AuditEvent
    from audit.services import seal_pending
    from cases.models import Case

    case_ids = list(
        Case.objects.filter(lead_agency=a.lead_agency)
        .order_by("-created_at")
        .values_list("pk", flat=True)[:64]
    )
    counts = [0] * threads
    errors: list[str] = []
    stop = time.perf_counter() + seconds
    before = AuditEvent.objects.count()

    def worker(index: int) -> None:
        try:
            mine = [Case.objects.get(pk=pk) for pk in case_ids[index::threads]] or [a.lead_case]
            i = 0
            while time.perf_counter() < stop:
                case = mine[i % len(mine)]
                cs.do_add_note(
                    case=case,
                    agency=a.lead_agency,
                    acting_user=a.lead_user,
                    body=f"Concurrent note {index}-{i}",
                    category="C2",
                )
                counts[index] += 1
                i += 1
        except Exception as exc:  # noqa: BLE001
            errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            connections.close_all()

    start = time.perf_counter()
    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - start
    written = AuditEvent.objects.count() - before
    sealed = seal_pending(batch_size=20_000)
    return Figure(
        "concurrent_writers",
        f"{threads} concurrent audited writers (own connections): audit events/s",
        written / elapsed,
        "events/s",
        note=f"{sum(counts)} writes, {written} events in {elapsed:.1f} s; {sealed} sealed afterwards"
        + (f"; ERRORS: {errors[:2]}" if errors else "")
        + "; chain verified below",
        met=None if not errors else False,
        target="(chain verified afterwards)",
    )


VERIFY_CHILD = "--verify-child"


def verify_in_child(env: dict[str, str], repeat: int) -> Figure:
    """verify_chain in a fresh process per run, so the peak RSS is the verifier's own."""
    runs = []
    for _ in range(repeat):
        out = subprocess.run(
            [sys.executable, "-m", "bench.run", VERIFY_CHILD],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=3600,
        )
        if out.returncode != 0:
            return Figure(
                "audit_verify",
                "audit_verify",
                None,
                "events/s",
                note=f"FAILED: {out.stderr[-500:]}",
                met=False,
            )
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    rates = [r["events"] / r["seconds"] for r in runs]
    rate, spread = summarise(rates)
    ok = all(r["ok"] for r in runs)
    peak = max(r["peak_rss_mib"] for r in runs)
    base = min(r["start_rss_mib"] for r in runs)
    return Figure(
        "audit_verify",
        f"audit_verify (verify_chain) over {runs[0]['events']:,} sealed events",
        rate,
        "events/s",
        spread,
        target="≥ 200,000/s",
        met=ok and rate >= 200_000,
        note=("chain intact" if ok else f"CHAIN NOT INTACT: {runs[-1]['message']}")
        + f"; peak RSS {peak:.0f} MiB (process at start {base:.0f} MiB); {len(runs)} runs",
        extra={"peak_rss_mib": peak, "start_rss_mib": base, "runs": runs},
    )


def verify_child() -> None:
    from audit.services import verify_chain

    # the verifier's own high-water mark (VmHWM starts afresh at exec; ru_maxrss would carry the
    # parent's over, as Linux keeps it across execve)
    start_rss = vm_hwm_mib(os.getpid())
    start = time.perf_counter()
    result = verify_chain()
    seconds = time.perf_counter() - start
    peak = vm_hwm_mib(os.getpid())
    print(
        json.dumps(
            {
                "ok": result.ok,
                "events": result.verified,
                "seconds": seconds,
                "message": result.message,
                "peak_rss_mib": peak,
                "start_rss_mib": start_rss,
            }
        )
    )
