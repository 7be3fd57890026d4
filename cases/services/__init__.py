"""Every change to a case record: validate, write, audit in the same transaction, broadcast on commit.

``do_*`` functions do no permission checks (the caller asked sharing.policy first); they take the
acting user and the agency the user acts for, for the audit record.

One module per kind of record, along the sections of the old single module:

- ``plumbing``: the case version, the audit row, the broadcast, version checks (used by all others)
- ``nominals``: a nominal's identity details, duplicates, creating one
- ``records``: opening a case with its referral; adding victims and notes
- ``header``: the case header and status
- ``subjects``: editing the nominal, a victim, the referral's screening
- ``assessments``: risk assessments
- ``orders``: orders, order events, conditions and breaches
- ``plans``: the risk management plan and actions
- ``opening``: opening a case from a referral, with the duplicate check

Callers import from ``cases.services``; the submodules are its layout, not its interface.
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import Any

# replaceable on the package (tests, the benchmark): see _Services
from audit.services import record_event as record_event
from core.events import send_on_commit as send_on_commit

from . import assessments, header, nominals, opening, orders, plans, plumbing, records, subjects
from .assessments import (
    OASYS_LEVELS,
    SASH_RISK,
    SDASH_RISK,
    SRP_RISK,
    AssessmentInput,
    do_record_assessment,
    grade_assessment,
)
from .header import CASE_HEADER_FIELDS, do_change_case_status, do_update_case
from .nominals import NominalInput, do_create_nominal, find_duplicate_nominals, validate_nominal
from .opening import (
    MATCH_COLUMNS,
    DuplicateCheck,
    DuplicateNominal,
    HiddenMatch,
    do_open_case,
    duplicate_check,
    duplicate_matches,
)
from .orders import (
    ORDER_FIELDS,
    SPO_MINIMUM_DAYS,
    SPO_NOTIFY_DAYS,
    SPO_TYPES,
    do_add_condition,
    do_add_order,
    do_add_order_event,
    do_record_breach,
    do_update_order,
    validate_order,
)
from .plans import (
    current_plan,
    do_add_action,
    do_add_action_update,
    do_save_plan,
    do_update_action,
    validate_plan_items,
)
from .plumbing import _bump_case as _bump_case
from .plumbing import broadcast_case_changed, bump_case_version, last_changed_by, new_reference
from .records import (
    ReferralInput,
    do_add_note,
    do_add_victim,
    do_create_case,
    validate_case_fields,
    validate_referral,
)
from .subjects import VICTIM_FIELDS, do_record_screening, do_update_nominal, do_update_victim

__all__ = [
    "broadcast_case_changed",
    "bump_case_version",
    "new_reference",
    "last_changed_by",
    "NominalInput",
    "validate_nominal",
    "find_duplicate_nominals",
    "do_create_nominal",
    "ReferralInput",
    "validate_case_fields",
    "validate_referral",
    "do_create_case",
    "do_add_victim",
    "do_add_note",
    "CASE_HEADER_FIELDS",
    "do_update_case",
    "do_change_case_status",
    "do_update_nominal",
    "VICTIM_FIELDS",
    "do_update_victim",
    "do_record_screening",
    "SDASH_RISK",
    "SASH_RISK",
    "SRP_RISK",
    "OASYS_LEVELS",
    "AssessmentInput",
    "grade_assessment",
    "do_record_assessment",
    "SPO_TYPES",
    "SPO_MINIMUM_DAYS",
    "SPO_NOTIFY_DAYS",
    "ORDER_FIELDS",
    "validate_order",
    "do_add_order",
    "do_update_order",
    "do_add_order_event",
    "do_add_condition",
    "do_record_breach",
    "validate_plan_items",
    "current_plan",
    "do_save_plan",
    "do_add_action",
    "do_update_action",
    "do_add_action_update",
    "MATCH_COLUMNS",
    "DuplicateNominal",
    "HiddenMatch",
    "DuplicateCheck",
    "duplicate_check",
    "duplicate_matches",
    "do_open_case",
]

_SUBMODULES = (plumbing, nominals, records, header, subjects, assessments, orders, plans, opening)


class _Services(ModuleType):
    """Setting a name on ``cases.services`` sets it wherever a submodule bound that name.

    Tests and the benchmark replace a collaborator on the package (``send_on_commit``,
    ``record_event``, ``_bump_case``) as they did when it was one module; the services that call it
    live in the submodules, so the replacement (and its undo) is passed on to each of them.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        for module in _SUBMODULES:
            if name in vars(module):
                setattr(module, name, value)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Services
