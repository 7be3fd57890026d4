"""Build what one attendee receives of a meeting, field by field, from the policy's answers.

Templates only ever see these plain structures: a field the policy does not give the viewer is
never read (so never decrypted) and never reaches a template. Each item whose content is shown
records a CONSULT event with the viewer's justification (DPA 2018 s62), unless the viewer's last
consultation of that item since they signed in showed exactly the same thing: the live room re-fetches
on every event, and a refresh that shows nothing new is not a new read (docs/audit.md). What was shown
is compared by a keyed digest of ids and versions (``detail["shown"]``), never by a value.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Prefetch
from django.utils.crypto import salted_hmac

from audit.services import consult, own_consultations
from cases.models import Action
from core.pdf import Section
from sharing import policy
from sharing.policy import ItemView

from .models import AgendaItem, Dissent, Meeting
from .services import carried_forward_actions

EXCLUDED_TEXT = "Your agency is excluded from this item."
NOT_SHARED_TEXT = "This case is not shared with your agency; its minutes are withheld."


@dataclass
class ItemPresentation:
    item: AgendaItem
    view: ItemView
    is_current: bool
    label: str = ""
    minutes: dict[str, Any] = field(default_factory=dict)
    minutes_version: int = 0
    decisions: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    carried: list[dict[str, Any]] = field(default_factory=list)
    addenda: list[dict[str, Any]] = field(default_factory=list)
    notice: str = ""
    owner_choices: list[tuple[int, str]] = field(default_factory=list)  # the chair's: who may own an action


def _pick(obj: Any, names: frozenset[str], wanted: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in wanted if name in names}


def _action_row(view: ItemView, action: Action) -> dict[str, Any] | None:
    if view.mode != "minutes" or view.access is None or not policy.can_see_record(view.access, action):
        return None
    shown = policy.visible_fields(view.access, action)
    row = _pick(action, shown, ("text", "due_on"))
    row["id"] = action.pk
    if "pillar" in shown:
        row["pillar"] = action.get_pillar_display()
    if "status" in shown:
        row["status"] = action.get_status_display()
    if "owner" in shown:
        row["owner"] = str(action.owner)
    if "agency" in shown:
        row["agency"] = str(action.agency)
    return row


def _case_label(view: ItemView, item: AgendaItem) -> str:
    """The case reference only; the perpetrator's name needs C1 (shown on the case page itself)."""
    return item.case.reference if view.mode in ("minutes", "summary") else f"Item {item.order}"


def present_item(
    user: Any,
    meeting: Meeting,
    item: AgendaItem,
    view: ItemView,
    *,
    audit: bool = True,
    last_shown: dict[str, str] | None = None,
) -> ItemPresentation:
    out = ItemPresentation(item=item, view=view, is_current=meeting.current_item_id == item.pk)
    out.label = _case_label(view, item)
    if view.mode == "unacknowledged":
        out.notice = "Acknowledge the confidentiality statement to see this item."
        return out
    if view.mode == "excluded":
        out.notice = EXCLUDED_TEXT
        return out
    if view.mode == "not_shared":
        out.notice = NOT_SHARED_TEXT
        return out
    shown_categories = {"C10"}
    shown: list[Any] = [view.mode, item.pk, item.version]
    entry = getattr(item, "minutes", None)  # the item's one minutes record, if written
    if entry is not None:
        names = policy.minute_fields(view, entry)
        out.minutes = _pick(entry, names, ("body", "victim_safety_minutes", "executive_summary"))
        out.minutes_version = entry.version
        shown.append(["minutes", entry.pk, entry.version, sorted(out.minutes)])
        if "victim_safety_minutes" in names:
            shown_categories.add("C7")
    if view.mode == "minutes":
        decisions = item.decisions.select_related("item__case").prefetch_related(
            Prefetch("dissents", queryset=Dissent.objects.select_related("agency", "decision__item__case"))
        )
        for decision in decisions:
            names = policy.minute_fields(view, decision)
            row = _pick(
                decision, names, ("text", "rationale", "from_level", "to_level", "review_on", "plan_number")
            )
            row["id"] = decision.pk
            row["kind"] = decision.get_kind_display()
            row["dissents"] = [
                {"agency": str(d.agency), **_pick(d, policy.minute_fields(view, d), ("name", "view"))}
                for d in decision.dissents.all()
            ]
            out.decisions.append(row)
            shown.append(["decision", decision.pk, sorted(row), [d.pk for d in decision.dissents.all()]])
        actions = item.case.actions.filter(meeting=meeting.pk).select_related("owner", "agency")
        out.actions = [r for r in (_action_row(view, a) for a in actions) if r is not None]
        out.carried = [
            r for r in (_action_row(view, a) for a in carried_forward_actions(item)) if r is not None
        ]
        if out.actions or out.carried:
            shown_categories.add("C5")
        shown.append(
            ["actions", [_action_key(r) for r in out.actions], [_action_key(r) for r in out.carried]]
        )
        for addendum in item.addenda.select_related("created_by", "item__case"):
            names = policy.minute_fields(view, addendum)
            if names:
                out.addenda.append(
                    {"text": addendum.text, "by": str(addendum.created_by), "at": addendum.created_at}
                )
                shown_categories.add(addendum.category)
                shown.append(["addendum", addendum.pk])
    digest = _digest([*shown, sorted(shown_categories)])
    if audit and (last_shown is None or last_shown.get(str(item.pk)) != digest):
        access = view.access
        consult(
            user,
            item,
            access.justification if access else "meeting attendee (executive summary)",
            agency=_agency(user, meeting),
            case_id=item.case_id,
            categories=shown_categories,
            grant=access,
            detail={"meeting": str(meeting.pk), "mode": view.mode, "shown": digest},
        )
        if last_shown is not None:
            last_shown[str(item.pk)] = digest
    return out


def _action_key(row: dict[str, Any]) -> list[Any]:
    """An action as shown, by id and the state of its shown fields (it has no version); only the
    keyed digest of it is stored, never these values."""
    return [row["id"], sorted((k, str(v)) for k, v in row.items() if k != "id")]


def _digest(shown: list[Any]) -> str:
    """What an item presentation showed, as a keyed digest (HMAC under a key derived from the secret
    key) of ids, versions, field names and an action's shown state: it tells two showings apart and
    cannot be checked against a guessed value by anyone reading the audit log."""
    payload = json.dumps(shown, default=str, sort_keys=True)
    return salted_hmac("convene.meetings.shown", payload, algorithm="sha256").hexdigest()[:32]


def last_consulted(user: Any, items: list[AgendaItem]) -> dict[str, str]:
    """The digest of what each item showed this user at their last consultation of it since they
    signed in (one query). An item without one is recorded at its next showing."""
    since = getattr(user, "last_login", None)
    if since is None or not items:
        return {}
    rows = own_consultations(user, AgendaItem, [i.pk for i in items], since=since, limit=20 * len(items))
    out: dict[str, str] = {}
    for object_id, detail in rows:
        if object_id not in out:
            out[object_id] = str((detail or {}).get("shown", ""))
    return out


def _agency(user: Any, meeting: Meeting) -> Any:
    attendee = policy.meeting_attendee(user, meeting)
    return attendee.agency if attendee is not None else None


def present_agenda(user: Any, meeting: Meeting, *, audit: bool = True) -> list[ItemPresentation]:
    visible = list(policy.agenda_items_visible_to(user, meeting))
    last_shown = last_consulted(user, [item for item, _ in visible]) if audit else None
    return [
        present_item(user, meeting, item, view, audit=audit, last_shown=last_shown) for item, view in visible
    ]


def executive_summaries(user: Any, meeting: Meeting) -> list[tuple[ItemPresentation, str]]:
    rows = []
    for item, view in policy.agenda_items_visible_to(user, meeting):
        if not view.sees_content:
            continue
        out = present_item(user, meeting, item, view)
        rows.append((out, out.minutes.get("executive_summary") or ""))
    return rows


def minutes_sections(items: list[ItemPresentation]) -> list[Section]:
    """The attendee's copy of the minutes as PDF sections: the same fields the .txt copy gives."""
    sections = []
    for p in items:
        lines: list[str] = []
        if p.notice:
            lines.append(p.notice)
        else:
            for key, label in (
                ("body", "Minutes"),
                ("victim_safety_minutes", "Victim safety"),
                ("executive_summary", "Executive summary"),
            ):
                if p.minutes.get(key):
                    lines.append(f"{label}: {p.minutes[key]}")
            for d in p.decisions:
                text = f"Decision ({d['kind']}): {d.get('text', '')}"
                if d.get("rationale"):
                    text += f" Rationale: {d['rationale']}"
                lines.append(text)
                lines += [
                    f"    Dissent: {x.get('name', '')} ({x['agency']}): {x.get('view', '')}"
                    for x in d["dissents"]
                ]
            lines += [
                f"Action: {a.get('text', '')} — {a.get('owner', '')}, due {a.get('due_on', '')}"
                for a in p.actions
            ]
            lines += [f"Addendum: {x['text']} ({x['by']})" for x in p.addenda]
        sections.append(Section(f"{p.item.order}. {p.label}", lines))
    return sections
