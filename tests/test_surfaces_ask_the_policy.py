"""Surfaces ask sharing.policy: no view, API view, consumer, presenter, export, reading module,
template tag, dashboard or lifecycle dispatcher looks up a protected model on its own.

A surface reaches a protected row only through the policy: a restricted queryset
(``policy.cases_visible_to``, ``policy.meetings_visible_to``, ``policy.shares_visible_to`` …), an
``access_*`` fetch that is a 404 when forbidden, or a relation of an object it already obtained that
way (``case.victims``, ``meeting.attendees``). What this test forbids, found with ``ast``:

- ``Model.objects`` / ``Model._default_manager`` / ``Model._base_manager`` on a protected model;
- ``get_object_or_404(Model, …)`` / ``get_list_or_404(Model, …)`` on a protected model.

A ``Prefetch("relation", queryset=Model.objects…)`` is not a lookup: it only shapes a relation of
rows already fetched through the policy; nor is the inside of ``Exists(…)``/``Subquery(…)``, which
only qualifies the rows of the queryset it filters (that queryset is itself checked).

Models are named as they are imported from a ``models`` module (aliases followed). Every model of
the domain apps is classified below as protected or not, with the reason, so a new model has to be
placed before the suite passes again.
"""

from __future__ import annotations

import ast
from pathlib import Path

from django.apps import apps

ROOT = Path(__file__).resolve().parent.parent
DOMAIN_APPS = ("agencies", "audit", "cases", "lifecycle", "meetings", "notifications", "sharing")

# What an agency's people may see of a case, a meeting, a share, an audit row: the policy decides.
PROTECTED = frozenset(
    {
        # cases: the record and every part of it (CaseRecord subclasses)
        "Case",
        "Nominal",
        "Victim",
        "Referral",
        "RiskAssessment",
        "Order",
        "OrderEvent",
        "Condition",
        "Breach",
        "RiskManagementPlan",
        "Action",
        "ActionUpdate",
        "Note",
        # sharing: who sees which case, and what left the partnership
        "SharingAgreement",
        "AgreementParty",
        "CaseShare",
        "BreakGlass",
        "Disclosure",
        "MatchNotice",
        # meetings: case reviews, who attends them, and their minutes
        "Meeting",
        "Attendee",
        "AgendaItem",
        "MinuteEntry",
        "Decision",
        "Dissent",
        "Addendum",
        # audit: who consulted what
        "AuditEvent",
        # agencies: who belongs where (and so sees what), and who is invited to join
        "Membership",
        "AgencyInvitation",
        # lifecycle: retention, erasure, holds and subject access
        "RetentionDecision",
        "LegalHold",
        "ErasureCertificate",
        "SubjectAccessRequest",
        # notifications: a notice names what it is about
        "Notification",
    }
)

NOT_PROTECTED = {
    "User": "a person's name and username are shown to whoever works with them; roles are Membership",
    "Agency": "the partnership's directory of agencies (name, type) is shared by every member",
    "ApiToken": "a person's own tokens, always filtered by request.user",
    "DemoObject": "demo fixture rows, no content",
    "AgencyIdentityProvider": "SSO configuration; the operator pages are guarded by policy.can_configure_sso",
    "ExternalIdentity": "the link from an SSO subject to a user, read only by the sign-in flow",
    "ProviderAttestedDevice": "a django-otp device, read only by the sign-in flow",
    "AuditPending": "sealing machinery, no content",
    "AuditSeal": "sealing machinery: hashes, no content",
    "AuditCheckpoint": "signed chain heads: hashes and counts, public to every auditor by design",
    "AuditVerification": "outcome of the nightly chain check: counts, no content",
    "AuditSigningKey": "public keys of the checkpoint signer",
    "RetentionRule": "the retention schedule, the same for everyone",
    "NotificationPreference": "a person's own settings, always filtered by request.user",
    "JobRun": "scheduled-job bookkeeping for the operator page (policy.is_operator)",
    "CaseUserObjectPermission": "guardian rows, read only by the policy",
    "CaseGroupObjectPermission": "guardian rows, read only by the policy",
    "CaseVisibility": "candidate rows the policy filters again (sharing/visibility.py)",
}

# Which modules are surfaces (relative to the repository root).
SURFACE_GLOBS = (
    "*/views.py",
    "*/*_views.py",
    "*/api.py",
    "*/api/*.py",
    "*/consumers.py",
    "*/presenters.py",
    "*/export.py",
    "*/reading.py",
    "*/dashboard.py",
    "*/templatetags/*.py",
    "lifecycle/dispatch.py",
    "lifecycle/sar.py",
)

# file -> reason: only for a surface that may read rows outside the policy, and says why.
ALLOWED: dict[str, str] = {
    "audit/export.py": (
        "the whole signed chain for the external verifier (tools/verify_audit_export.py), written only "
        "by the audit_export management command on the server: no user, no request, nothing filtered"
    ),
}

MANAGERS = {"objects", "_default_manager", "_base_manager"}
SHORTCUTS = {"get_object_or_404", "get_list_or_404"}


def first_party_apps() -> set[str]:
    """Every installed app that lives in this repository (a new app's surfaces are scanned too)."""
    return {
        Path(config.path).name
        for config in apps.get_app_configs()
        if Path(config.path).resolve().parent == ROOT
    }


def surface_files() -> list[Path]:
    found: set[Path] = set()
    for pattern in SURFACE_GLOBS:
        for path in ROOT.glob(pattern):
            if path.parts[len(ROOT.parts)] in first_party_apps() and "tests" not in path.parts:
                found.add(path)
    return sorted(found)


def model_names(tree: ast.AST) -> dict[str, str]:
    """Local name -> model name, for every name imported from a ``models`` module."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[-1] == "models":
            for alias in node.names:
                names[alias.asname or alias.name] = alias.name
    return names


def _shaping_args(call: ast.Call) -> list[ast.AST]:
    name = getattr(call.func, "id", getattr(call.func, "attr", ""))
    if name == "Prefetch":
        return [*call.args[1:2], *(k.value for k in call.keywords if k.arg == "queryset")]
    if name in ("Exists", "Subquery"):
        return [*call.args, *(k.value for k in call.keywords)]
    return []


def raw_lookups(path: Path) -> list[str]:
    return lookups_in(path.read_text(), str(path.relative_to(ROOT)))


def lookups_in(source: str, label: str) -> list[str]:
    tree = ast.parse(source, filename=label)
    names = model_names(tree)
    found = []

    def protected(node: ast.AST) -> str | None:
        if isinstance(node, ast.Name) and names.get(node.id) in PROTECTED:
            return names[node.id]
        return None

    # Prefetch("relation", queryset=Model.objects…) only shapes a relation of rows already fetched
    # through the policy, and Exists(…)/Subquery(…) only qualifies the rows of the (restricted)
    # queryset it filters: neither reaches a row on its own.
    shaping = {
        id(sub)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        for arg in _shaping_args(node)
        for sub in ast.walk(arg)
    }
    for node in ast.walk(tree):
        if id(node) in shaping:
            continue
        if isinstance(node, ast.Attribute) and node.attr in MANAGERS and (model := protected(node.value)):
            found.append(f"{label}:{node.lineno}: {model}.{node.attr}")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in SHORTCUTS
            and node.args
            and (model := protected(node.args[0]))
        ):
            found.append(f"{label}:{node.lineno}: {node.func.id}({model}, …)")
    return sorted(found, key=lambda line: int(line.split(":")[1]))


def test_every_domain_model_is_classified():
    models = {m.__name__ for name in DOMAIN_APPS for m in apps.get_app_config(name).get_models()}
    # then each model is either protected or carries the reason it is not
    assert models - PROTECTED - set(NOT_PROTECTED) == set()
    assert PROTECTED & set(NOT_PROTECTED) == set()


def test_the_scan_sees_the_surfaces():
    files = {str(p.relative_to(ROOT)) for p in surface_files()}
    for expected in (
        "cases/views.py",
        "cases/api/views.py",
        "meetings/consumers.py",
        "meetings/presenters.py",
        "lifecycle/dispatch.py",
        "lifecycle/sar.py",
        "audit/export.py",
        "cases/reading.py",
        "home/dashboard.py",
    ):
        assert expected in files


def test_the_scan_finds_a_raw_lookup():
    # given a surface that looks a case up by itself, under an alias, and through the shortcut
    source = (
        "from cases.models import Case as C\n"
        "from django.shortcuts import get_object_or_404\n"
        "def page(pk):\n"
        "    get_object_or_404(C, pk=pk)\n"
        "    return C.objects.get(pk=pk)\n"
        "def shaped(qs):\n"
        "    return qs.prefetch_related(Prefetch('cases', queryset=C.objects.order_by('pk')))\n"
        "def qualified(qs):\n"
        "    return qs.filter(Exists(C.objects.filter(pk=OuterRef('case_id'))))\n"
    )
    # when it is scanned
    found = lookups_in(source, "cases/probe_views.py")
    # then both lookups are named with their lines (a Prefetch's queryset is not a lookup)
    assert sorted(found) == [
        "cases/probe_views.py:4: get_object_or_404(Case, …)",
        "cases/probe_views.py:5: Case.objects",
    ]


def test_no_surface_looks_up_a_protected_model_without_the_policy():
    for path, reason in ALLOWED.items():
        assert reason.strip(), path
        assert (ROOT / path).is_file(), f"{path} is allow-listed but no longer exists"
    offending = [
        line
        for path in surface_files()
        if str(path.relative_to(ROOT)) not in ALLOWED
        for line in raw_lookups(path)
    ]
    assert offending == [], "\n".join(["Ask sharing.policy instead:", *offending])
