"""The policy's field rules (record_level, visible_fields, can_see_record, withheld_reason) on
hand-made accesses and records: each branch on its own, without a database.

Written for the mutants ``make mutate`` found alive: the world-based tests met these rules only
through the default matrix, where a record's own category, an agency's own record below summary, a
summary-level listing, several agreements and break-glass wording never decide the answer.
"""

from __future__ import annotations

import uuid
from typing import Any

from core.categories import AgencyType, Level
from sharing import policy

OWN_AGENCY = 7
OTHER_AGENCY = 99


def access(
    levels: dict[str, int],
    *,
    via: str = "share",
    refs: tuple[str, ...] = ("ISA-NS-2026-01",),
    agency_type: str = AgencyType.PROBATION,
) -> policy.Access:
    return policy.Access(
        case_id=uuid.uuid4(),
        via=via,
        agency_id=OWN_AGENCY,
        role="practitioner",
        levels=levels,
        own_agency_ids=frozenset({OWN_AGENCY}),
        agreement_refs=refs,
        agency_type=agency_type,
    )


class Record:
    """A case record as the policy sees one: a class category, a visibility map, an owning agency,
    and (like a note) perhaps a category of its own."""

    CATEGORY = "C2"
    VISIBILITY = {
        "summary": ("*", Level.SUMMARY),
        "body": ("*", Level.FULL),
        "victim_detail": ("C7", Level.FULL),
    }

    def __init__(self, owner: int | None, category: Any = None) -> None:
        self.owner_agency_id = owner
        if category is not None:
            self.category = category


def test_a_record_with_a_category_of_its_own_is_judged_by_it_not_by_its_class():
    # given a viewer with all of C2 and nothing of C8
    viewer = access({"C2": Level.FULL})
    # then another agency's record filed under C8 is neither listed nor shown
    filed_in_c8 = Record(OTHER_AGENCY, category="C8")
    assert not policy.can_see_record(viewer, filed_in_c8)
    assert policy.visible_fields(viewer, filed_in_c8) == frozenset()
    # while one with no category of its own takes its class's (C2) and is shown in full
    plain = Record(OTHER_AGENCY)
    assert policy.can_see_record(viewer, plain)
    assert policy.visible_fields(viewer, plain) == {"summary", "body"}
    # and a category that is not one of the categories (or not a string) falls back to the class's
    for odd in ("C99", 8):
        assert policy.can_see_record(viewer, Record(OTHER_AGENCY, category=odd)), odd


def test_a_summary_of_the_category_lists_the_record_with_its_summary_fields_only():
    # given a viewer with a summary of C2, and another agency's C2 record
    viewer = access({"C2": Level.SUMMARY})
    record = Record(OTHER_AGENCY)
    # then it is listed, with the summary-level fields only
    assert policy.can_see_record(viewer, record)
    assert policy.visible_fields(viewer, record) == {"summary"}
    # and with nothing of C2 it is not listed at all
    assert not policy.can_see_record(access({}), record)


def test_an_agency_sees_its_own_records_in_full_whatever_the_share_gives_it():
    # given a viewer whose share gives nothing of C8 or C7
    viewer = access({"C2": Level.SUMMARY})
    # then its own agency's record filed under C8 is listed and shown in full, every field
    own = Record(OWN_AGENCY, category="C8")
    assert policy.record_level(viewer, own, "C8") == Level.FULL
    assert policy.can_see_record(viewer, own)
    assert policy.visible_fields(viewer, own) == {"summary", "body", "victim_detail"}
    # while the same record of another agency, or of none, gets the share's level
    assert policy.record_level(viewer, Record(OTHER_AGENCY, category="C8"), "C8") == Level.NONE
    assert policy.record_level(viewer, Record(None), "C2") == Level.SUMMARY


def test_withheld_reasons_word_each_case():
    # a category given in full has no reason
    assert policy.withheld_reason(access({"C2": Level.FULL}), "C2") is None
    # a summary and nothing, each naming every agreement the access rests on
    two = access({"C2": Level.SUMMARY}, refs=("ISA-NS-2026-01", "ISA-NS-2026-07"))
    assert policy.withheld_reason(two, "C2") == (
        "Summary only: not shared in full with your agency under agreement ISA-NS-2026-01, ISA-NS-2026-07."
    )
    assert policy.withheld_reason(two, "C8") == (
        "Not shared with your agency under agreement ISA-NS-2026-01, ISA-NS-2026-07."
    )
    # break-glass access says so
    glass = access({"C2": Level.SUMMARY}, via="break_glass")
    assert policy.withheld_reason(glass, "C8") == (
        "Not shared with your agency under agreement ISA-NS-2026-01 (break-glass access)."
    )
    # an access resting on no agreement says that
    assert "no agreement" in (policy.withheld_reason(access({}, refs=()), "C8") or "")
    # a category the agency type may never receive gives the rule, not an agreement
    health = access({}, agency_type=AgencyType.HEALTH)
    assert policy.withheld_reason(health, "C7") == policy.NEVER_REASON["C7"]


def test_a_never_shared_category_without_its_own_wording_gets_the_general_one(monkeypatch):
    # given a rule that probation never receives C8, with no wording of its own
    monkeypatch.setitem(policy.NEVER_SHARED, AgencyType.PROBATION, frozenset({"C8"}))
    # then the reason is the general one, not an agreement's
    assert policy.withheld_reason(access({}), "C8") == "Never shared with your agency."


def test_the_cap_keeps_real_categories_above_none_and_never_a_banned_one():
    from sharing.policy.grants import _cap

    # given levels as an agreement or a share row might hold them, one wrong in every way
    levels = {"C1": 1, "C2": 0, "C7": 2, "C8": 5, "C99": 2}
    # then a health agency keeps the real categories above none, at most full, and never C7
    assert _cap(levels, AgencyType.HEALTH) == {"C1": Level.SUMMARY, "C8": Level.FULL}
    # while probation, for which nothing is banned, keeps C7
    assert _cap(levels, AgencyType.PROBATION) == {"C1": Level.SUMMARY, "C7": Level.FULL, "C8": Level.FULL}


def test_a_record_without_a_visibility_map_or_an_owner_shows_nothing_and_takes_the_access_level():
    class Bare:
        CATEGORY = "C2"

    viewer = access({"C2": Level.FULL})
    assert policy.visible_fields(viewer, Bare()) == frozenset()
    assert policy.record_level(viewer, Bare(), "C2") == Level.FULL
    assert policy.record_level(viewer, Bare(), "C8") == Level.NONE
