"""The one place that answers "may this user do or see this?".

Every surface — REST API, HTML views, templates, WebSocket consumers, exports, admin — asks here.
Rules come in three forms (STYLE.md): per object (``can_*``, ``case_access``), as a queryset
(``*_visible_to``) and as an audience (``user_ids_who_can_view``). The forms share their rule
definitions so they cannot drift apart; tests/test_policy_parity.py proves they agree.

Forbidden looks like not-found: ``access_case`` raises Http404 for both.

Results are cached on the user object for the life of one request (``forget(user)`` clears them;
long-lived consumers call it before every re-check).

The package is split by subject; each module imports only those listed before it here, and callers
import every name from ``sharing.policy`` itself:

- ``identity``: who the user is (memberships, agencies, roles, operators);
- ``grants``: the building blocks of the case rule (guardian grant, agreements in force, hard caps);
- ``cases``: one case (``Access``, ``case_access``, ``access_case``);
- ``actions``: roles to actions on one case;
- ``fields``: which fields of a record a viewer receives, and why the rest is withheld;
- ``querysets``: every case a user may see, as SQL;
- ``audiences``: everyone who may see a case now;
- ``shares``: shares of one case and the agreements it may be shared under;
- ``nominals``: perpetrator records used by several cases, and match notices;
- ``lifecycle``: retention, erasure, legal holds, subject access;
- ``oversight``: the audit log, operators, people and single sign-on;
- ``agreements``: sharing agreements;
- ``break_glass``: opening a case not shared with you, and reviewing that use;
- ``meetings``: case reviews, their attendees and agenda items;
- ``notifications``: who receives which notice, and where following one leads.
"""

from __future__ import annotations

from sharing.policy.actions import (
    can_add_note,
    can_approve_disclosure,
    can_chair_review,
    can_disclose_case,
    can_edit_case,
    can_erase_case,
    can_record_decision,
    can_revoke_share,
    can_share_case,
    can_view_disclosures,
    note_agency_id,
)
from sharing.policy.agreements import (
    agreements_visible_to,
    can_activate_agreement,
    can_draft_agreement,
    can_manage_agreement,
    can_sign_for,
    can_suspend_agreement,
    can_terminate_agreement,
    can_view_agreement,
    parties_user_may_sign,
)
from sharing.policy.audiences import (
    user_ids_who_can_view,
)
from sharing.policy.break_glass import (
    break_glass_agency_ids,
    break_glass_agreements,
    break_glass_review_queue,
    break_glass_reviewed_by_my_agencies,
    break_glass_reviewer_agencies,
    can_break_glass,
    can_review_break_glass,
    can_view_break_glass,
)
from sharing.policy.cases import (
    Access,
    Denied,
    access_case,
    can_view_case,
    case_access,
)
from sharing.policy.fields import (
    can_see_record,
    record_level,
    visible_fields,
    withheld_categories,
    withheld_reason,
)
from sharing.policy.grants import (
    NEVER_REASON,
    NEVER_SHARED,
    VIEW_CASE_CODENAME,
    never_shared,
    view_permission_id,
)
from sharing.policy.identity import (
    CONTENT_ROLES,
    Viewer,
    agency_ids,
    content_agencies,
    forget,
    has_role,
    is_operator,
    memberships,
    primary_membership,
)
from sharing.policy.lifecycle import (
    can_handle_sar,
    can_lift_legal_hold,
    can_manage_retention,
    can_set_legal_hold,
    legal_hold_lifting_agency_id,
    legal_holds_visible_to,
    lifecycle_agency_ids,
)
from sharing.policy.meetings import (
    ITEM_CONTENT_KEYS,
    ItemView,
    agenda_item_view,
    agenda_items_visible_to,
    can_chair_meeting,
    can_view_meeting,
    meeting_attendee,
    meeting_chair_memberships,
    meetings_visible_to,
    minute_fields,
    room_event,
)
from sharing.policy.nominals import (
    NOMINAL_CATEGORIES,
    NOMINAL_FIELDS,
    can_decide_match_notice,
    can_edit_nominal,
    can_link_nominal,
    match_notice_agreements,
    match_notice_holder_ids,
    match_notices_visible_to,
    nominal_steward_id,
    nominals_linkable_by,
    sees_nominal_in_full,
)
from sharing.policy.notifications import (
    Audience,
    agreement_audience,
    break_glass_audience,
    case_shared_audience,
    case_viewers_audience,
    dpo_audience,
    legal_hold_audience,
    match_notice_audience,
    meeting_audience,
    notification_target,
    notifications_visible_to,
    share_revoked_audience,
)
from sharing.policy.oversight import (
    administered_agency_ids,
    audit_cases_visible_to,
    audit_events_visible_to,
    audit_scope_agency_ids,
    can_configure_sso,
    can_manage_memberships,
    can_onboard_agencies,
    can_view_audit,
    can_view_operations,
    provider_may_sign_in,
)
from sharing.policy.querysets import (
    LIST_ORDER,
    cases_visible_to,
    cases_with_category_visible_to,
    shared_with_my_agency,
)
from sharing.policy.shares import (
    can_view_shares,
    shareable_agreements,
    shares_visible_to,
)

__all__ = [
    "Access",
    "Audience",
    "CONTENT_ROLES",
    "Denied",
    "ITEM_CONTENT_KEYS",
    "ItemView",
    "LIST_ORDER",
    "NEVER_REASON",
    "NEVER_SHARED",
    "NOMINAL_CATEGORIES",
    "NOMINAL_FIELDS",
    "VIEW_CASE_CODENAME",
    "Viewer",
    "access_case",
    "administered_agency_ids",
    "agency_ids",
    "agenda_item_view",
    "agenda_items_visible_to",
    "agreement_audience",
    "agreements_visible_to",
    "audit_cases_visible_to",
    "audit_events_visible_to",
    "audit_scope_agency_ids",
    "break_glass_agency_ids",
    "break_glass_agreements",
    "break_glass_audience",
    "break_glass_review_queue",
    "break_glass_reviewed_by_my_agencies",
    "break_glass_reviewer_agencies",
    "can_activate_agreement",
    "can_add_note",
    "can_approve_disclosure",
    "can_break_glass",
    "can_chair_meeting",
    "can_chair_review",
    "can_configure_sso",
    "can_decide_match_notice",
    "can_disclose_case",
    "can_draft_agreement",
    "can_edit_case",
    "can_edit_nominal",
    "can_erase_case",
    "can_handle_sar",
    "can_lift_legal_hold",
    "can_link_nominal",
    "can_manage_agreement",
    "can_manage_memberships",
    "can_manage_retention",
    "can_onboard_agencies",
    "can_record_decision",
    "can_review_break_glass",
    "can_revoke_share",
    "can_see_record",
    "can_set_legal_hold",
    "can_share_case",
    "can_sign_for",
    "can_suspend_agreement",
    "can_terminate_agreement",
    "can_view_agreement",
    "can_view_audit",
    "can_view_break_glass",
    "can_view_case",
    "can_view_disclosures",
    "can_view_meeting",
    "can_view_operations",
    "can_view_shares",
    "case_access",
    "case_shared_audience",
    "case_viewers_audience",
    "cases_visible_to",
    "cases_with_category_visible_to",
    "content_agencies",
    "dpo_audience",
    "forget",
    "has_role",
    "is_operator",
    "legal_hold_audience",
    "legal_hold_lifting_agency_id",
    "legal_holds_visible_to",
    "lifecycle_agency_ids",
    "match_notice_agreements",
    "match_notice_audience",
    "match_notice_holder_ids",
    "match_notices_visible_to",
    "meeting_attendee",
    "meeting_audience",
    "meeting_chair_memberships",
    "meetings_visible_to",
    "memberships",
    "minute_fields",
    "never_shared",
    "nominal_steward_id",
    "nominals_linkable_by",
    "note_agency_id",
    "notification_target",
    "notifications_visible_to",
    "parties_user_may_sign",
    "primary_membership",
    "provider_may_sign_in",
    "record_level",
    "room_event",
    "sees_nominal_in_full",
    "share_revoked_audience",
    "shareable_agreements",
    "shared_with_my_agency",
    "shares_visible_to",
    "user_ids_who_can_view",
    "view_permission_id",
    "visible_fields",
    "withheld_categories",
    "withheld_reason",
]
