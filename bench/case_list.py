"""Section 1: the case list (the policy's page against its alternatives), and through the API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench.actors import Actors, slowdown_ms
from bench.figures import Figure, interleaved, summarise


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
