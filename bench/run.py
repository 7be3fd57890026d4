"""`make bench`: Convene's costly paths measured against their limits and their obvious alternatives.

    python -m bench.run [--size tiny|small|large] [--repeat N] [--no-write] [--database-url URL] [--clients N]

Needs PostgreSQL and Redis (exit code 2 otherwise). Uses its own databases
(``convene_bench_<size>`` and ``convene_bench_<size>_keys`` on the server named by BENCH_DATABASE_URL,
or DATABASE_URL's server, or 127.0.0.1:5432), seeds them if they do not hold the size's world, then
prints one table. Unless --no-write, writes bench/results/latest.json and docs/benchmarks.md.
Every figure is a median over repeats with its spread (p25–p75), next to a baseline measured in the
same run; ratios are computed from those medians.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "latest.json"
DOC = ROOT / "docs" / "benchmarks.md"
DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432/"

# Per size: repeats, wrk seconds, concurrent-writer seconds, fan-out trials.
PLAN = {
    "tiny": {"repeat": 3, "wrk_seconds": 2, "writer_seconds": 2, "fanout_trials": 3, "clients": 20},
    "small": {"repeat": 15, "wrk_seconds": 8, "writer_seconds": 5, "fanout_trials": 15, "clients": 500},
    "large": {"repeat": 21, "wrk_seconds": 10, "writer_seconds": 8, "fanout_trials": 21, "clients": 500},
}


# --- results ---------------------------------------------------------------------------------
@dataclass
class Figure:
    """One line of the table: a measured value, its baseline, the ratio and the target."""

    key: str
    label: str
    value: float | None
    unit: str
    spread: tuple[float, float] | None = None
    baseline: float | None = None
    baseline_label: str = ""
    baseline_spread: tuple[float, float] | None = None
    ratio: float | None = None
    ratio_label: str = ""
    target: str = ""
    met: bool | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def summarise(samples: list[float]) -> tuple[float, tuple[float, float]]:
    """Median and interquartile range (p25–p75)."""
    ordered = sorted(samples)
    if len(ordered) == 1:
        return ordered[0], (ordered[0], ordered[0])
    q = statistics.quantiles(ordered, n=4, method="inclusive")
    return statistics.median(ordered), (q[0], q[2])


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def timed(fn: Callable[[], Any], repeat: int, warmup: int = 1) -> list[float]:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def interleaved(fns: dict[str, Callable[[], Any]], repeat: int, warmup: int = 1) -> dict[str, list[float]]:
    """Time several variants alternately, so that machine noise hits each of them alike."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - start)
    return samples


# --- environment -----------------------------------------------------------------------------
def database_urls(size: str, explicit: str | None) -> tuple[str, str]:
    url = explicit or os.environ.get("BENCH_DATABASE_URL")
    if not url:
        base = os.environ.get("DATABASE_URL", "")
        server = base if base.startswith(("postgres://", "postgresql://")) else DEFAULT_SERVER
        parts = urlparse(server)
        url = urlunparse(parts._replace(path=f"/convene_bench_{size}"))
    parts = urlparse(url)
    keys = urlunparse(parts._replace(path=parts.path + "_keys"))
    return url, keys


def preflight(db_url: str, redis_url: str) -> list[str]:
    problems = []
    if not db_url.startswith(("postgres://", "postgresql://")):
        problems.append(f"The benchmark needs PostgreSQL; the database URL is {db_url!r}.")
    else:
        import psycopg

        parts = urlparse(db_url)
        try:
            psycopg.connect(urlunparse(parts._replace(path="/postgres")), connect_timeout=3).close()
        except Exception as exc:  # noqa: BLE001
            problems.append(f"PostgreSQL at {parts.hostname}:{parts.port or 5432} is not reachable ({exc}).")
    try:
        import redis

        redis.Redis.from_url(redis_url, socket_connect_timeout=3).ping()
    except Exception as exc:  # noqa: BLE001
        problems.append(f"Redis at {redis_url} is not reachable ({exc}).")
    return problems


def ensure_databases(urls: list[str], drop: bool = False) -> None:
    import psycopg

    for url in urls:
        parts = urlparse(url)
        name = parts.path.lstrip("/")
        admin = urlunparse(parts._replace(path="/postgres"))
        with psycopg.connect(admin, autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            if exists and drop:
                conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
                exists = None
            if not exists:
                conn.execute(f'CREATE DATABASE "{name}"')


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {"nproc": os.cpu_count(), "python": platform.python_version()}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["memory_gib"] = round(int(line.split()[1]) / 1024 / 1024, 1)
        info["load_average_at_start"] = os.getloadavg()
    except OSError:
        pass
    return info


def server_versions() -> dict[str, str]:
    from django.db import connection

    versions = {}
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        versions["postgresql"] = cursor.fetchone()[0]
    try:
        import redis
        from django.conf import settings

        versions["redis"] = str(redis.Redis.from_url(settings.REDIS_URL).info("server")["redis_version"])
    except Exception:  # noqa: BLE001
        versions["redis"] = "unknown"
    return versions


# --- the world ------------------------------------------------------------------------------
@dataclass
class Actors:
    practitioner: Any  # a probation practitioner: sees cases shared by several forces
    agency: Any
    case_ids: list[Any]  # cases the practitioner sees (for detail reads)
    lead_user: Any  # a police practitioner (for writes as the lead agency)
    lead_agency: Any
    lead_case: Any
    stale: Any = None  # a practitioner whose candidate rows are mostly stale (their agreement suspended)
    fresh: Any = None  # a practitioner of the same kind of agency whose agreement is in force


def actors() -> Actors:
    from agencies.models import Membership, Role
    from cases.models import Case
    from core.categories import AgencyType
    from sharing import policy

    def first(agency_type: str) -> Any:
        return (
            Membership.objects.filter(role=Role.PRACTITIONER, agency__agency_type=agency_type)
            .select_related("user", "agency")
            .order_by("agency__name", "user__username")
            .first()
        )

    prob = first(AgencyType.PROBATION)
    pol = first(AgencyType.POLICE)
    visible = list(
        policy.cases_visible_to(prob.user).order_by("-created_at", "-id").values_list("pk", flat=True)[:400]
    )
    lead_case = Case.objects.filter(lead_agency=pol.agency).order_by("-created_at").first()
    stale, fresh = stale_and_fresh()
    return Actors(prob.user, prob.agency, visible, pol.user, pol.agency, lead_case, stale, fresh)


def stale_and_fresh() -> tuple[Any, Any]:
    """A health practitioner whose only agreement is suspended (every candidate row stale), and one
    whose agreements are all in force with about as many candidate rows (None, None if the world
    has no suspended agreement)."""
    from django.db.models import Count, Q

    from agencies.models import Agency, Membership, Role
    from core.categories import AgencyType
    from sharing.models import CaseVisibility

    health = Agency.objects.filter(agency_type=AgencyType.HEALTH).annotate(
        suspended=Count("agreement_parties", filter=Q(agreement_parties__agreement__status="suspended")),
        in_force=Count("agreement_parties", filter=Q(agreement_parties__agreement__status="active")),
    )
    stale_agency = health.filter(suspended__gt=0, in_force=0).order_by("name").first()
    if stale_agency is None:
        return None, None
    rows = dict(
        CaseVisibility.objects.filter(agency__agency_type=AgencyType.HEALTH)
        .values_list("agency_id")
        .annotate(n=Count("case_id"))
    )
    fresh_agencies = health.filter(suspended=0, in_force__gt=0)
    target = rows.get(stale_agency.pk, 0)
    fresh_agency = min(fresh_agencies, key=lambda a: abs(rows.get(a.pk, 0) - target), default=None)
    if fresh_agency is None:
        return None, None

    def practitioner(agency: Any) -> Any:
        m = (
            Membership.objects.filter(agency=agency, role=Role.PRACTITIONER)
            .select_related("user")
            .order_by("user__username")
            .first()
        )
        return m.user if m is not None else None

    return practitioner(stale_agency), practitioner(fresh_agency)


def slowdown_ms(
    key: str, label: str, measured: list[float], baseline: list[float], baseline_label: str, note: str
) -> Figure:
    """A time in ms beside the same operation without the permission filter, target ≤ 1.5×."""
    m, m_spread = summarise(measured)
    b, b_spread = summarise(baseline)
    return Figure(
        key,
        label,
        m * 1000,
        "ms",
        (m_spread[0] * 1000, m_spread[1] * 1000),
        b * 1000,
        baseline_label,
        (b_spread[0] * 1000, b_spread[1] * 1000),
        m / b,
        "restricted / unrestricted",
        "≤ 1.5×",
        m / b <= 1.5,
        note,
    )


# --- 1. case list ---------------------------------------------------------------------------
def bench_case_list(a: Actors, repeat: int) -> list[Figure]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from guardian import shortcuts as gs
    from guardian.models import GroupObjectPermission, UserObjectPermission

    from cases.models import Case
    from sharing import policy

    user = a.practitioner
    order = ("-created_at", "-id")

    def restricted() -> list[Any]:
        policy.forget(user)  # each request looks the memberships up again
        return list(policy.cases_visible_to(user).filter(status="active").order_by(*policy.LIST_ORDER)[:50])

    def unrestricted() -> list[Any]:
        return list(Case.objects.filter(status="active").order_by(*order)[:50])

    def guardian(prefiltered: bool) -> Callable[[], list[Any]]:
        """guardian's get_objects_for_user on its default generic tables (which the seed filled with
        the same view permissions: lead agency + shares).

        The usual call is ``klass=Case`` then ``.filter(status=...)``. Handing guardian an already
        filtered queryset (``prefiltered``) makes it embed a uuid-to-varchar IN sub-select over every
        active case, whose cost is a planner accident; it is reported beside, never as the baseline.
        """

        def page() -> list[Any]:
            saved = gs.get_group_obj_perms_model, gs.get_user_obj_perms_model
            gs.get_group_obj_perms_model = lambda *args, **kw: GroupObjectPermission
            gs.get_user_obj_perms_model = lambda *args, **kw: UserObjectPermission
            try:
                klass = Case.objects.filter(status="active") if prefiltered else Case
                qs = gs.get_objects_for_user(
                    user,
                    "cases.view_case",
                    klass=klass,
                    use_groups=True,
                    with_superuser=False,
                    accept_global_perms=False,
                )
                if not prefiltered:
                    qs = qs.filter(status="active")
                return list(qs.order_by(*order)[:50])
            finally:
                gs.get_group_obj_perms_model, gs.get_user_obj_perms_model = saved

        return page

    guardian_usual, guardian_prefiltered = guardian(prefiltered=False), guardian(prefiltered=True)
    same = {c.pk for c in restricted()} == {c.pk for c in guardian_usual()}
    # every variant interleaved, warmed up and sampled as often as the others
    samples = interleaved(
        {"restricted": restricted, "unrestricted": unrestricted, "guardian": guardian_usual}, repeat
    )
    # the pre-filtered form can take seconds per page at scale: fewer samples, still interleaved
    slow = interleaved(
        {"guardian_prefiltered": guardian_prefiltered, "restricted": restricted}, min(repeat, 3)
    )
    r, r_spread = summarise(samples["restricted"])
    g, g_spread = summarise(samples["guardian"])
    gp, gp_spread = summarise(slow["guardian_prefiltered"])
    visible = policy.cases_visible_to(user).count()
    with CaptureQueriesContext(connection) as ctx:
        restricted()
    figures = [
        slowdown_ms(
            "case_list_restricted",
            "Case list page (50, newest first, status=active): policy vs unrestricted",
            samples["restricted"],
            samples["unrestricted"],
            "Case.objects (no permission filter)",
            f"practitioner of {a.agency.name} sees {visible:,} cases; {len(ctx.captured_queries)} queries",
        ),
        Figure(
            "case_list_vs_guardian",
            "Case list page: policy vs guardian get_objects_for_user(klass=Case).filter(…), generic tables",
            r * 1000,
            "ms",
            (r_spread[0] * 1000, r_spread[1] * 1000),
            g * 1000,
            "guardian get_objects_for_user, usual form, generic tables",
            (g_spread[0] * 1000, g_spread[1] * 1000),
            g / r,
            "guardian / policy (times faster)",
            "≥ 7× faster",
            g / r >= 7,
            "same 50 cases" if same else "WARNING: the two pages differ",
        ),
        Figure(
            "case_list_vs_guardian_prefiltered",
            "Case list page: policy vs guardian given a pre-filtered queryset (not the baseline)",
            r * 1000,
            "ms",
            (r_spread[0] * 1000, r_spread[1] * 1000),
            gp * 1000,
            "guardian get_objects_for_user(klass=<filtered queryset>)",
            (gp_spread[0] * 1000, gp_spread[1] * 1000),
            gp / r,
            "guardian / policy (times faster)",
            "",
            None,
            "reported beside the usual form only: its time is the IN sub-select's planner accident",
        ),
    ]
    figures.append(stale_candidates(a, repeat))
    figures.append(case_list_request(a, repeat))
    figures.append(api_case_list_queries(a))
    return figures


def stale_candidates(a: Actors, repeat: int) -> Figure:
    """The case list of a practitioner whose candidate rows are mostly stale vs a fresh one's."""
    from sharing import policy
    from sharing.models import CaseVisibility

    label = "Case list page: practitioner whose agreement is suspended (stale candidates) vs a fresh one"
    if a.stale is None or a.fresh is None:
        return Figure(
            "case_list_stale", label, None, "ms", note="SKIPPED: no suspended agreement in this world"
        )

    def page(user: Any) -> Callable[[], list[Any]]:
        def run() -> list[Any]:
            policy.forget(user)
            return list(
                policy.cases_visible_to(user).filter(status="active").order_by(*policy.LIST_ORDER)[:50]
            )

        return run

    samples = interleaved({"stale": page(a.stale), "fresh": page(a.fresh)}, repeat)
    stale_rows = CaseVisibility.objects.filter(agency__memberships__user=a.stale).count()
    fresh_rows = CaseVisibility.objects.filter(agency__memberships__user=a.fresh).count()
    figure = slowdown_ms(
        "case_list_stale",
        label,
        samples["stale"],
        samples["fresh"],
        "a practitioner of a health trust whose agreement is in force",
        f"stale: {stale_rows:,} candidate rows, {len(page(a.stale)())} shown; "
        f"fresh: {fresh_rows:,} candidate rows, {len(page(a.fresh)())} shown",
    )
    figure.ratio_label = "stale / fresh"
    return figure


def case_list_request(a: Actors, repeat: int) -> Figure:
    """The whole API request for the page (token, memberships, policy query, headers, CONSULT event)
    vs the same request with the policy's visible-cases query replaced by every case."""
    from unittest import mock

    from django.db.models import F

    from cases.models import Case
    from sharing import policy

    client, _ = api_client_for(a.practitioner)
    url = "/api/v1/cases/?status=active&page_size=50"

    rows: list[int] = []

    def get() -> int:
        response = client.get(url)
        assert response.status_code == 200, response.status_code
        return len(response.json()["results"])

    def restricted() -> None:
        rows.append(get())

    def everything(user: Any, at: Any = None) -> Any:
        return Case.objects.filter(erased_at__isnull=True).annotate(listed_at=F("created_at"))

    def unrestricted() -> None:
        with mock.patch.object(policy, "cases_visible_to", everything):
            get()

    samples = interleaved({"restricted": restricted, "unrestricted": unrestricted}, repeat)
    return slowdown_ms(
        "case_list_request",
        "Case list request (GET /api/v1/cases/, page of 50, status=active): policy vs unrestricted",
        samples["restricted"],
        samples["unrestricted"],
        "the same request, visible-cases query replaced by all cases",
        f"{min(rows)}–{max(rows)} rows a restricted page; a practitioner of one agency holding no "
        "break-glass (the common case, and the fastest form of the query); DRF test client in process "
        "with a bearer token: authentication, memberships, the policy's page, headers, the CONSULT event",
    )


def api_client_for(user: Any) -> tuple[Any, str]:
    from rest_framework.test import APIClient

    from agencies.services import do_issue_token

    _, raw = do_issue_token(user=user, days=1, name="bench")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client, raw


def api_case_list_queries(a: Actors) -> Figure:
    from django.db import connections
    from django.test.utils import CaptureQueriesContext
    from django.urls import Resolver404, resolve

    try:
        resolve("/api/v1/cases/")
    except Resolver404:
        return Figure(
            "api_case_list_queries",
            "API /api/v1/cases/ query count",
            None,
            "queries",
            note="SKIPPED: /api/v1/cases/ is not routed yet (cases API); the policy page above is 2 queries.",
        )
    client, _ = api_client_for(a.practitioner)
    client.get("/api/v1/cases/?page_size=1")  # the token's first use is recorded once, not per request
    counts = []
    for page_size in (10, 50):
        with (
            CaptureQueriesContext(connections["default"]) as main,
            CaptureQueriesContext(connections["keystore"]) as keys,
        ):
            response = client.get(f"/api/v1/cases/?page_size={page_size}&status=active")
        counts.append(
            (page_size, response.status_code, len(main.captured_queries), len(keys.captured_queries))
        )
    ok = all(c[1] == 200 for c in counts)
    constant = counts[0][2] == counts[1][2]
    return Figure(
        "api_case_list_queries",
        "API /api/v1/cases/ query count (page of 10 vs page of 50)",
        float(counts[1][2]),
        "queries",
        baseline=float(counts[0][2]),
        baseline_label="page of 10",
        target="constant as the page grows",
        met=ok and constant,
        note=("" if ok else f"HTTP {counts[1][1]}; ")
        + f"main DB {counts[0][2]}→{counts[1][2]}, key store {counts[0][3]}→{counts[1][3]}",
    )


# --- 2. case detail and encryption ----------------------------------------------------------
def bench_detail(a: Actors, repeat: int) -> list[Figure]:
    from keystore import fields as kf
    from keystore.keyring import dek_cache

    spent = {"decrypt": 0.0, "aes": 0.0, "values": 0}
    real_decrypt = kf.EncryptedField.decrypt
    real_aes = kf.decrypt_value

    def timed_decrypt(self: Any, instance: Any, token: bytes) -> Any:
        start = time.perf_counter()
        try:
            return real_decrypt(self, instance, token)
        finally:
            spent["decrypt"] += time.perf_counter() - start
            spent["values"] += 1

    def timed_aes(*args: Any) -> bytes:
        start = time.perf_counter()
        try:
            return real_aes(*args)
        finally:
            spent["aes"] += time.perf_counter() - start

    cases = a.case_ids or []
    if not cases:
        return [Figure("detail_crypto_share", "Case detail", None, "%", note="SKIPPED: no visible case")]
    totals, crypto, aes = [], [], []
    client, _ = api_client_for(a.practitioner)
    client.get("/api/v1/cases/?page_size=1")  # the token's first use is recorded once, not per request

    def read(case_id: Any) -> None:
        response = client.get(f"/api/v1/cases/{case_id}/")
        assert response.status_code == 200, response.status_code

    kf.EncryptedField.decrypt = timed_decrypt  # type: ignore[method-assign]
    kf.decrypt_value = timed_aes  # type: ignore[assignment]
    try:
        for i in range(repeat + 1):
            case_id = cases[i % len(cases)]
            dek_cache.clear()  # a case page usually needs keys not yet in the cache: count the unwrap
            spent.update(decrypt=0.0, aes=0.0, values=0)
            start = time.perf_counter()
            read(case_id)
            elapsed = time.perf_counter() - start
            if i == 0:
                continue  # warm-up
            totals.append(elapsed)
            crypto.append(spent["decrypt"] / elapsed * 100)
            aes.append(spent["aes"] / elapsed * 100)
    finally:
        kf.EncryptedField.decrypt = real_decrypt  # type: ignore[method-assign]
        kf.decrypt_value = real_aes
    t, t_spread = summarise(totals)
    c, c_spread = summarise(crypto)
    g, _ = summarise(aes)
    figures = [
        Figure(
            "detail_crypto_share",
            "Case detail request (GET /api/v1/cases/<id>/): share of time in decryption "
            "(key unwrap + AES-GCM + decode)",
            c,
            "%",
            c_spread,
            t * 1000,
            "whole request (ms)",
            (t_spread[0] * 1000, t_spread[1] * 1000),
            target="≤ 10%",
            met=c <= 10,
            note=f"AES-GCM alone {g:.1f}%; cold data-key cache each request; {spent['values']} values "
            "decrypted in the last; DRF test client in process with a bearer token (authentication, access "
            "check, every part of the record the viewer may see, the CONSULT event)",
        )
    ]
    figures.append(bench_field_vs_fernet(a, repeat))
    return figures


def fernet_model(field_class: type[Any]) -> type[Any]:
    """An unmanaged model holding a Fernet text field, so the field runs its real model hooks."""
    from django.apps import apps
    from django.db import models

    try:
        return apps.get_model("bench", "FernetNote")
    except LookupError:
        attrs = {
            "__module__": __name__,
            "body": field_class(),
            "Meta": type("Meta", (), {"app_label": "bench", "managed": False}),
        }
        return type("FernetNote", (models.Model,), attrs)


def bench_field_vs_fernet(a: Actors, repeat: int) -> Figure:
    from django.db import connection
    from encrypted_fields.fields import EncryptedTextField as FernetText

    from cases.models import Note, Victim

    victims = list(Victim.objects.filter(case_id__in=a.case_ids[:40]).select_related("case"))
    notes = list(Note.objects.filter(case_id__in=a.case_ids[:40]).select_related("case"))
    values = [v.name for v in victims] + [v.routines for v in victims] + [n.body for n in notes]
    values = [v for v in values if v]
    note = notes[0]
    ours = Note._meta.get_field("body")
    fernet_note = fernet_model(FernetText)()
    fernet = type(fernet_note)._meta.get_field("body")
    fernet.f  # derive the Fernet key once (PBKDF2, 100k iterations), as a running process would  # noqa: B018

    # Both fields are timed through the same Django hooks a save and a load go through: the
    # attribute set, pre_save, get_db_prep_save (write), from_db_value and the attribute read (load).
    def round_trip(instance: Any, fld: Any) -> Callable[[], None]:
        def run() -> None:
            for value in values:
                setattr(instance, fld.attname, value)
                stored = fld.get_db_prep_save(fld.pre_save(instance, False), connection)
                # what the database hands back: the bytes or text that went in (PostgreSQL's driver
                # wraps bytes for sending, in an adapter holding them as .obj)
                loaded = getattr(stored, "obj", stored)
                instance.__dict__[fld.attname] = fld.from_db_value(loaded, None, connection)
                assert getattr(instance, fld.attname) == value

        return run

    convene, jazzband = round_trip(note, ours), round_trip(fernet_note, fernet)

    samples = interleaved({"convene": convene, "fernet": jazzband}, repeat)
    ours_t, ours_spread = summarise(samples["convene"])
    fern_t, fern_spread = summarise(samples["fernet"])
    per = 1e6 / len(values)
    return Figure(
        "field_vs_fernet",
        "Save+load one value through the field hooks: Convene AES-GCM vs django-fernet-encrypted-fields",
        ours_t * per,
        "µs/value",
        (ours_spread[0] * per, ours_spread[1] * per),
        fern_t * per,
        "encrypted_fields.EncryptedTextField (Fernet)",
        (fern_spread[0] * per, fern_spread[1] * per),
        fern_t / ours_t,
        "Fernet / Convene (times faster)",
        "≥ 5× faster",
        fern_t / ours_t >= 5,
        f"{len(values)} real values (mean {sum(map(len, values)) // len(values)} chars)",
    )


# --- 3. audit -------------------------------------------------------------------------------
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


# --- 4. live fan-out ------------------------------------------------------------------------
LIVE_USERNAME = "bench-live-{:04d}"
LIVE_TITLE = "Benchmark live room"
PROD_SESSION_COOKIE = "__Host-sessionid"  # SESSION_COOKIE_NAME in config/settings/prod.py
LIVE_TIMEOUT = 10.0  # a client told nothing of a decision within this many seconds counts as failed
LIVE_CONNECT_CONCURRENCY = 50


@dataclass
class LiveRoom:
    meeting: Any
    item: Any
    chair: Any
    users: list[Any]


def live_room(a: Actors, clients: int) -> LiveRoom:
    """One running meeting of the lead agency with ``clients`` named attendees (created once, reused).

    Each attendee is a practitioner of the lead agency (so sees the case on the agenda in full), has a
    confirmed TOTP device and has acknowledged the confidentiality statement.
    """
    from django.db import transaction
    from django.utils import timezone
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from agencies.models import Membership, Role, User
    from cases import choices as cc
    from meetings import services
    from meetings.models import Attendee, AttendeeRole, Meeting, MeetingStatus

    agency = a.lead_agency
    chair_membership = (
        Membership.objects.active()
        .filter(agency=agency, role=Role.CHAIR)
        .select_related("user")
        .order_by("user__username")
        .first()
    )
    if chair_membership is None:
        chair = User.objects.create_user(username="bench-live-chair", email="bench-live-chair@example.org")
        Membership.objects.create(user=chair, agency=agency, role=Role.CHAIR)
    else:
        chair = chair_membership.user
    names = [LIVE_USERNAME.format(i) for i in range(clients)]
    existing = {u.username: u for u in User.objects.filter(username__in=names)}
    with transaction.atomic():
        missing = [User(username=n, email=f"{n}@example.org") for n in names if n not in existing]
        for user in missing:
            user.set_unusable_password()
        User.objects.bulk_create(missing)
        users = list(User.objects.filter(username__in=names).order_by("username"))
        member = set(
            Membership.objects.active()
            .filter(user__in=users, agency=agency)
            .values_list("user_id", flat=True)
        )
        Membership.objects.bulk_create(
            [Membership(user=u, agency=agency, role=Role.PRACTITIONER) for u in users if u.pk not in member]
        )
        has_device = set(
            TOTPDevice.objects.filter(user__in=users, confirmed=True).values_list("user_id", flat=True)
        )
        TOTPDevice.objects.bulk_create(
            [TOTPDevice(user=u, name="bench", confirmed=True) for u in users if u.pk not in has_device]
        )
    meeting = (
        Meeting.objects.filter(title=LIVE_TITLE, chair_agency=agency, status=MeetingStatus.IN_PROGRESS)
        .order_by("-created_at")
        .first()
    )
    if meeting is None:
        meeting = services.do_schedule_meeting(
            forum=cc.Forum.MAPPA,
            title=LIVE_TITLE,
            scheduled_for=timezone.now() + timedelta(hours=1),
            chair=chair,
            chair_agency=agency,
            acting_user=chair,
        )
        services.do_add_agenda_item(meeting=meeting, case=a.lead_case, acting_user=chair)
        meeting.refresh_from_db()
        meeting = services.do_start_meeting(meeting=meeting, version=meeting.version, acting_user=chair)
    # Attendees written directly (acknowledged), not through 2 × N audited service calls.
    attending = set(meeting.attendees.filter(user__in=users).values_list("user_id", flat=True))
    now = timezone.now()
    Attendee.objects.bulk_create(
        [
            Attendee(
                meeting=meeting,
                user=u,
                agency=agency,
                role=AttendeeRole.MEMBER,
                acknowledged_confidentiality_at=now,
            )
            for u in users
            if u.pk not in attending
        ]
    )
    return LiveRoom(meeting, meeting.items.select_related("case").get(), chair, users)


def live_sessions(users: list[Any], secret_key: str) -> list[str]:
    """A signed-in, second-factor-verified session per user, signed with the server's SECRET_KEY."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.test import override_settings
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    devices = {d.user_id: d for d in TOTPDevice.objects.filter(user__in=users, confirmed=True, name="bench")}
    keys = []
    with override_settings(SECRET_KEY=secret_key, SECRET_KEY_FALLBACKS=[]):
        for user in users:
            session = SessionStore()
            session[SESSION_KEY] = str(user.pk)
            session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
            session[HASH_SESSION_KEY] = user.get_session_auth_hash()
            session[DEVICE_ID_SESSION_KEY] = devices[user.pk].persistent_id
            session.create()
            keys.append(str(session.session_key))
    return keys


def start_asgi_server(env: dict[str, str], workers: int = 2) -> tuple[subprocess.Popen[bytes], str, Any]:
    """The production ASGI server (gunicorn + uvicorn workers) on a free port: (process, base URL, log)."""
    port = free_port()
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    log = tempfile.NamedTemporaryFile(prefix="bench-gunicorn-", suffix=".log", delete=False)  # noqa: SIM115
    server = subprocess.Popen(
        [
            gunicorn,
            "config.asgi:application",
            "-k",
            "uvicorn_worker.UvicornWorker",
            "-w",
            str(workers),
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    return server, f"http://127.0.0.1:{port}", log


def wait_until_healthy(
    server: subprocess.Popen[bytes], base: str, log: Any, seconds: float = 60
) -> str | None:
    """None once /healthz answers 200; otherwise the tail of the server's log."""
    import urllib.request

    deadline = time.time() + seconds
    while True:
        try:
            req = urllib.request.Request(f"{base}/healthz", headers={"X-Forwarded-Proto": "https"})  # noqa: S310
            with urllib.request.urlopen(req, timeout=2) as response:  # noqa: S310 - our own local server
                if response.status == 200:
                    return None
        except Exception:  # noqa: BLE001
            if server.poll() is not None or time.time() > deadline:
                log.flush()
                return Path(log.name).read_text()[-800:]
            time.sleep(0.3)


def stop_server(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()


def raise_open_file_limit(wanted: int) -> None:
    """Sockets are files: lift the soft limit (inherited by the server started afterwards)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def bench_fanout(a: Actors, env: dict[str, str], clients: int, trials: int) -> Figure:
    """A decision is recorded → every one of N real WebSocket clients in the meeting is told.

    The production server (gunicorn + 2 uvicorn workers, config.settings.prod, Redis pub/sub channel
    layer with this run's prefix) holds N sockets on ``ws/meetings/<uuid>/``, each a named attendee
    with its own signed-in, TOTP-verified session. The bench process records K decisions through
    ``do_record_decision`` (audited write, broadcast on commit); each sample runs from just before the
    service call to one client's receipt of the event, through ``MeetingConsumer`` and its per-event
    check (cached verdicts, see meetings/consumers.py). The first decision after connecting (every
    socket computes its item verdict) is reported separately and not in p50/p95.
    """
    import asyncio

    from asgiref.sync import sync_to_async
    from websockets.asyncio.client import connect
    from websockets.typing import Origin

    from meetings import services
    from meetings.consumers import REVALIDATE_SECONDS

    label = f"Decision recorded → all {clients} WebSocket clients notified (real sockets, MeetingConsumer)"
    if not (Path(sys.executable).parent / "gunicorn").exists():
        return Figure("live_fanout", label, None, "ms", note="SKIPPED: gunicorn is not installed")
    raise_open_file_limit(clients * 2 + 1024)
    room = live_room(a, clients)
    sessions = live_sessions(room.users, env["DJANGO_SECRET_KEY"])
    server, base, log = start_asgi_server(env)
    failure = wait_until_healthy(server, base, log)
    if failure is not None:
        stop_server(server)
        return Figure("live_fanout", label, None, "ms", note=f"SKIPPED: server failed: {failure}")
    url = base.replace("http://", "ws://") + f"/ws/meetings/{room.meeting.pk}/"
    # Spread the decisions over one whole periodic re-validation cycle of the sockets (first run at
    # 0.5–1 × REVALIDATE_SECONDS, then every 0.8–1.2 ×), so that its load is in the figure too.
    spacing = max(0.2, REVALIDATE_SECONDS * 1.2 / max(trials, 1))

    def decide(n: int) -> float:
        start = time.perf_counter()
        services.do_record_decision(
            item=room.item,
            text=f"Benchmark decision {n}",
            rationale="Live fan-out benchmark",
            acting_user=room.chair,
        )
        return start

    async def run() -> dict[str, Any]:
        received: list[float | None] = [None] * clients
        arrived = asyncio.Event()
        state = {"open": True, "waiting": 0}
        connect_times: list[float] = []
        connect_errors: list[str] = []
        sockets: list[Any] = []
        gate = asyncio.Semaphore(LIVE_CONNECT_CONCURRENCY)

        async def client(i: int) -> None:
            headers = {
                "Cookie": f"{PROD_SESSION_COOKIE}={sessions[i]}",
                "X-Forwarded-Proto": "https",
            }
            async with gate:
                t0 = time.perf_counter()
                try:
                    ws = await connect(
                        url, origin=Origin("https://localhost"), additional_headers=headers, open_timeout=30
                    )
                except Exception as exc:  # noqa: BLE001
                    connect_errors.append(f"{type(exc).__name__}: {exc}"[:200])
                    return
                connect_times.append(time.perf_counter() - t0)
            sockets.append(ws)
            try:
                async for raw in ws:
                    now = time.perf_counter()
                    message = json.loads(raw)
                    if message.get("kind") == "decision" and received[i] is None:
                        received[i] = now
                        state["waiting"] -= 1
                        if state["waiting"] <= 0:
                            arrived.set()
            except Exception:  # noqa: BLE001 - a dropped socket shows as missing receipts
                return

        tasks = [asyncio.create_task(client(i)) for i in range(clients)]
        t_connect = time.perf_counter()
        while len(connect_times) + len(connect_errors) < clients:
            await asyncio.sleep(0.05)
        connect_all = time.perf_counter() - t_connect
        await asyncio.sleep(1.0)  # group subscriptions settle on every worker
        connected = len(sockets)
        first: list[float] = []
        latencies: list[float] = []
        missing = 0
        for n in range(trials + 1):
            for i in range(clients):
                received[i] = None
            state["waiting"] = connected
            arrived.clear()
            start = await sync_to_async(decide, thread_sensitive=True)(n)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(arrived.wait(), timeout=LIVE_TIMEOUT)
            got = [(t - start) * 1000 for t in received if t is not None]
            missing += clients - len(got)
            if n == 0:
                first = got
            else:
                latencies += got
            await asyncio.sleep(spacing)
        for ws in sockets:
            await ws.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return {
            "latencies": latencies,
            "first": first,
            "missing": missing,
            "connect_times": connect_times,
            "connect_errors": connect_errors,
            "connect_all": connect_all,
        }

    try:
        result = asyncio.run(run())
        peak = max((vm_hwm_mib(pid) for pid in worker_pids(server.pid)), default=0.0)
    finally:
        stop_server(server)
        from django.contrib.sessions.models import Session

        Session.objects.filter(session_key__in=sessions).delete()
    latencies, errors = result["latencies"], result["connect_errors"]
    if not latencies:
        return Figure(
            "live_fanout",
            label,
            None,
            "ms",
            met=False,
            note=f"FAILED: no client was told of any decision; {len(errors)} connect failures {errors[:2]}",
        )
    p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
    connects = [t * 1000 for t in result["connect_times"]]
    c50, c95 = percentile(connects, 50), percentile(connects, 95)
    first_p95 = percentile(result["first"], 95) if result["first"] else float("nan")
    failures = len(errors) + result["missing"]
    return Figure(
        "live_fanout",
        label,
        p95,
        "ms",
        (percentile(latencies, 25), percentile(latencies, 99)),
        p50,
        "p50",
        target="p95 ≤ 250 ms",
        met=p95 <= 250 and failures == 0,
        note=f"{trials} decisions × {clients} sockets ({len(latencies)} samples) on gunicorn + 2 uvicorn "
        "workers (config.settings.prod), RedisPubSubChannelLayer; from just before do_record_decision "
        "(audited write, commit) to each client's receipt through MeetingConsumer with its per-event "
        "re-check (cached verdicts). Spread shown is p25–p99. "
        f"Connect: {len(connects)}/{clients} in {result['connect_all']:.1f} s ({LIVE_CONNECT_CONCURRENCY} "
        f"at a time), handshake p50 {c50:.0f} ms, p95 {c95:.0f} ms. First decision after connecting "
        f"(item verdicts computed) p95 {first_p95:.0f} ms, not counted; the decisions are "
        f"{spacing:.1f} s apart, spanning the sockets' periodic re-validation. "
        + (
            f"FAILURES: {len(errors)} connects failed {errors[:2]}, "
            f"{result['missing']} receipts missing after {LIVE_TIMEOUT:.0f} s"
            if failures
            else "0 connect failures, 0 missing receipts"
        )
        + f"; server worker peak RSS {peak:.0f} MiB",
        extra={
            "p50": p50,
            "p95": p95,
            "samples": len(latencies),
            "clients": clients,
            "decisions": trials,
            "connect_p50_ms": c50,
            "connect_p95_ms": c95,
            "connect_all_s": result["connect_all"],
            "connect_failures": len(errors),
            "missing_receipts": result["missing"],
            "first_decision_p95_ms": first_p95,
            "worker_peak_rss_mib": peak,
            "decision_spacing_s": spacing,
        },
    )


def with_first_decision(fanout: Figure) -> list[Figure]:
    """The fan-out figure and, as a figure of its own, the first decision after every socket connected
    (each socket computes its item verdict then): it has a target too and is not hidden in a note."""
    first = fanout.extra.get("first_decision_p95_ms")
    if first is None or first != first:  # missing or NaN: the fan-out itself failed or was skipped
        return [fanout]
    return [
        fanout,
        Figure(
            "live_fanout_first",
            f"First decision after all {fanout.extra.get('clients')} sockets connected → every client told",
            first,
            "ms",
            target="p95 ≤ 250 ms",
            met=first <= 250,
            note="the same run as the fan-out figure; each socket computes its item verdict on this event",
        ),
    ]


# --- 5. HTTP under wrk ----------------------------------------------------------------------
WRK_LUA = """
done = function(summary, latency, requests)
  io.write(string.format("BENCH p50_us=%d p95_us=%d\\n", latency:percentile(50), latency:percentile(95)))
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prod_env(db_url: str, keys_url: str, redis_url: str, prefix: str) -> dict[str, str]:
    from django.conf import settings

    from audit.services import signing_key
    from keystore.keyring import index_root_key, master_keys

    master_keys()
    index_root_key()
    signing_key()  # the key files exist in var/bench/keys after these calls
    key_dir = Path(settings.CONVENE_KEY_DIR)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "CONVENE_", "DATABASE", "KEYSTORE", "REDIS", "CHANNELS"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.prod",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(40),
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        CONVENE_MASTER_KEYS_FILE=str(key_dir / "master-keys"),
        CONVENE_INDEX_KEY_FILE=str(key_dir / "index-key"),
        CONVENE_AUDIT_SIGNING_KEY_FILE=str(key_dir / "audit-signing-key"),
        CONVENE_CHECKPOINT_DIR=str(settings.CONVENE_CHECKPOINT_DIR),
        DATABASE_URL=db_url,
        KEYSTORE_DATABASE_URL=keys_url,
        REDIS_URL=redis_url,
        CHANNELS_PREFIX=prefix,
        LOG_LEVEL="WARNING",
    )
    return env


def worker_pids(master: int) -> list[int]:
    try:
        out = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout
    except FileNotFoundError:
        return []
    return [int(p) for p in out.split()]


def vm_hwm_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


# Enough open connections to keep all workers busy on both URLs: with 8, /healthz left the workers
# idle between requests and its req/s (the denominator) measured wrk's round trips, not the server.
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


# --- output ---------------------------------------------------------------------------------
def fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    if abs(value) >= 1000:
        text = f"{value:,.0f}"
    elif abs(value) >= 100:
        text = f"{value:.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return f"{text} {unit}".strip()


def spread_text(spread: tuple[float, float] | None) -> str:
    return "" if spread is None else f" ({fmt(spread[0])}–{fmt(spread[1])})"


def verdict(f: Figure) -> str:
    if f.value is None:
        return "skipped"
    if f.met is None:
        return "—"
    return "met" if f.met else "MISSED"


def misses_first(figures: list[Figure]) -> list[Figure]:
    """Missed targets lead the table, then figures without a verdict, then the met ones (stable)."""
    rank = {False: 0, None: 1, True: 2}
    return sorted(figures, key=lambda f: rank[f.met])


def table(figures: list[Figure]) -> str:
    rows = [("Measure", "Median (p25–p75)", "Baseline (p25–p75)", "Ratio", "Target", "Result")]
    for f in misses_first(figures):
        rows.append(
            (
                f.label,
                fmt(f.value, f.unit) + spread_text(f.spread),
                (
                    f"{fmt(f.baseline)}{spread_text(f.baseline_spread)} {f.baseline_label}".strip()
                    if f.baseline is not None
                    else "—"
                ),
                f"{f.ratio:.2f}×" if f.ratio is not None else "—",
                f.target or "—",
                verdict(f),
            )
        )
    return "\n".join(" | ".join(r) for r in rows)


def markdown(meta: dict[str, Any], figures: list[Figure]) -> str:
    lines = [
        "| Measure | Median (p25–p75) | Baseline, same run (p25–p75) | Ratio | Target | Result |",
        "|---|---|---|---|---|---|",
    ]
    for f in misses_first(figures):
        base = (
            f"{fmt(f.baseline)}{spread_text(f.baseline_spread)} — {f.baseline_label}"
            if f.baseline is not None
            else "—"
        )
        ratio = f"{f.ratio:.2f}× ({f.ratio_label})" if f.ratio is not None else "—"
        lines.append(
            f"| {f.label} | {fmt(f.value, f.unit)}{spread_text(f.spread)} | {base} | {ratio} | "
            f"{f.target or '—'} | {verdict(f)} |"
        )
    notes = [f"- **{f.label}**: {f.note}" for f in figures if f.note]
    return "\n".join(lines) + "\n\nNotes from this run:\n\n" + "\n".join(notes) + "\n"


def merge_previous(meta: dict[str, Any], figures: list[Figure]) -> list[Figure]:
    """With --only, keep the other sections' figures from the previous run of the same size."""
    if not meta["skipped_sections"] or not RESULTS.exists():
        return figures
    previous = json.loads(RESULTS.read_text())
    if previous.get("meta", {}).get("size") != meta["size"]:
        return figures
    fresh = {f.key for f in figures}
    kept = []
    for item in previous.get("figures", []):
        if item["key"] in fresh:
            continue
        for name in ("spread", "baseline_spread"):
            if item.get(name) is not None:
                item[name] = tuple(item[name])
        kept.append(Figure(**item))
    order = [item["key"] for item in previous.get("figures", [])]
    merged = kept + figures
    merged.sort(key=lambda f: order.index(f.key) if f.key in order else len(order))
    meta["merged_from_previous_run"] = sorted({f.key for f in kept})
    return merged


def write_outputs(meta: dict[str, Any], figures: list[Figure]) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps({"meta": meta, "figures": [asdict(f) for f in figures]}, indent=2, default=str)
    )
    text = DOC.read_text() if DOC.exists() else ""
    start, end = "<!-- bench:results:start -->", "<!-- bench:results:end -->"
    m = meta["machine"]
    block = (
        f"{start}\n"
        f"Run {meta['finished']} · size **{meta['size']}** ({meta['world']}) · {meta['repeat']} repeats · "
        f"{m.get('nproc')} CPUs ({m.get('cpu', 'unknown CPU')}), {m.get('memory_gib')} GiB RAM, "
        f"load average at start {', '.join(f'{x:.1f}' for x in m.get('load_average_at_start', ()))} · "
        f"PostgreSQL {meta['versions'].get('postgresql')} · Redis {meta['versions'].get('redis')} · "
        f"Python {m.get('python')} · run took {meta['seconds']:.0f} s\n\n"
        + (
            "Figures of sections not re-run this time come from the previous run of this size: "
            + ", ".join(meta["merged_from_previous_run"])
            + ".\n\n"
            if meta.get("merged_from_previous_run")
            else ""
        )
        + markdown(meta, figures)
        + f"{end}"
    )
    if start in text and end in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end) :]
    else:
        text = text + "\n" + block + "\n"
    DOC.write_text(text)


# --- main -----------------------------------------------------------------------------------
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
