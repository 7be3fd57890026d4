from __future__ import annotations

from django.db import models


class Forum(models.TextChoices):
    MAPPA = "mappa", "MAPPA"
    CLINIC = "clinic", "Stalking clinic / MASIP panel"


class CaseStatus(models.TextChoices):
    REFERRED = "referred", "Referred"
    SCREENING = "screening", "Screening"
    ACTIVE = "active", "Active"
    CLOSED = "closed", "Closed"


# Allowed status transitions (DOMAIN.md §8). A closed case can be reopened by a chaired decision.
STATUS_TRANSITIONS: dict[str, frozenset[str]] = {
    CaseStatus.REFERRED: frozenset({CaseStatus.SCREENING, CaseStatus.CLOSED}),
    CaseStatus.SCREENING: frozenset({CaseStatus.ACTIVE, CaseStatus.CLOSED}),
    CaseStatus.ACTIVE: frozenset({CaseStatus.CLOSED}),
    CaseStatus.CLOSED: frozenset({CaseStatus.ACTIVE}),
}


class MappaCategory(models.IntegerChoices):
    CAT1 = 1, "Category 1 — registered sexual offender"
    CAT2 = 2, "Category 2 — violent offender"
    CAT3 = 3, "Category 3 — other dangerous offender"
    CAT4 = 4, "Category 4 — terrorist or terrorist-risk offender"


class MappaLevel(models.IntegerChoices):
    L1 = 1, "Level 1 — ordinary agency management"
    L2 = 2, "Level 2 — multi-agency meetings"
    L3 = 3, "Level 3 — senior multi-agency management"


class ClosureReason(models.TextChoices):
    RISK_REDUCED = "risk_reduced", "Risk reduced"
    COMPLETED = "completed", "Intervention completed"
    ESCALATED = "escalated", "Escalated to MAPPA"
    MOVED = "moved", "Moved out of area"
    CUSTODY = "custody", "In custody"
    ADVICE_ONLY = "advice_only", "Advice only given"
    NOT_ELIGIBLE = "not_eligible", "Not eligible"
    DECEASED = "deceased", "Deceased"


class RiskLevel(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    VERY_HIGH = "very_high", "Very high"


RISK_ORDER = {RiskLevel.LOW: 1, RiskLevel.MEDIUM: 2, RiskLevel.HIGH: 3, RiskLevel.VERY_HIGH: 4}


class Relationship(models.TextChoices):
    EX_PARTNER = "ex_partner", "Ex-intimate partner"
    ACQUAINTANCE = "acquaintance", "Acquaintance"
    STRANGER = "stranger", "Stranger"
    FAMILY = "family", "Family member"
    WORKPLACE = "workplace", "Workplace contact"
    PROFESSIONAL = "professional", "Professional contact"
    ONLINE = "online", "Online contact only"


class Consent(models.TextChoices):
    GIVEN = "given", "Consent given"
    REFUSED = "refused", "Consent refused"
    NOT_SOUGHT = "not_sought", "Not yet sought"
    OVERRIDDEN = "overridden", "Shared without consent (overriding safety reason)"


class Urgency(models.TextChoices):
    ROUTINE = "routine", "Routine"
    PRIORITY = "priority", "Priority"
    URGENT = "urgent", "Urgent"


class ScreeningOutcome(models.TextChoices):
    PENDING = "pending", "Awaiting screening"
    ACCEPTED = "accepted", "Accepted for risk management"
    ADVICE_ONLY = "advice_only", "Advice only"
    REFERRED_TO_MAPPA = "referred_to_mappa", "Referred to MAPPA"
    DECLINED = "declined", "Declined"


class Tool(models.TextChoices):
    SDASH = "sdash", "S-DASH / Stalking Screening Tool"
    SASH = "sash", "SASH"
    SRP = "srp", "Stalking Risk Profile"
    OASYS = "oasys", "OASys risk of serious harm"


SDASH_QUESTIONS: tuple[tuple[str, str], ...] = (
    ("q1_frightened", "Is the victim very frightened?"),
    ("q2_prior_harassment", "Previous stalking or harassment by the suspect?"),
    ("q3_property_damage", "Has the suspect vandalised or destroyed property?"),
    ("q4_visits", "Does the suspect turn up unannounced more than three times a week?"),
    ("q5_loitering", "Does the suspect follow the victim or loiter near their home or work?"),
    ("q6_threats", "Has the suspect made threats of physical or sexual violence?"),
    ("q7_third_parties", "Has the suspect harassed family, friends or other third parties?"),
    ("q8_violence_others", "Has the suspect acted violently to anyone else in this episode?"),
    ("q9_recruiting", "Has the suspect engaged others to help?"),
    ("q10_substances", "Does the suspect misuse drugs or alcohol?"),
    ("q11_past_violence", "Is the suspect violent in the past?"),
)


class SdashGrade(models.TextChoices):
    STANDARD = "standard", "Standard"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class SashConcern(models.TextChoices):
    LOW = "low", "Low concern"
    MODERATE = "moderate", "Moderate concern"
    HIGH = "high", "High concern"


class SrpType(models.TextChoices):
    REJECTED = "rejected", "Rejected"
    RESENTFUL = "resentful", "Resentful"
    INTIMACY_SEEKING = "intimacy_seeking", "Intimacy-seeking"
    INCOMPETENT_SUITOR = "incompetent_suitor", "Incompetent suitor"
    PREDATORY = "predatory", "Predatory"


SRP_DOMAINS = ("violence", "persistence", "recurrence", "psychosocial_damage")
SRP_DOMAIN_LEVELS = ("low", "moderate", "high")


class Basis(models.TextChoices):
    FACT = "fact", "Fact"
    OPINION = "opinion", "Professional opinion"


class OrderType(models.TextChoices):
    SPO = "spo", "Stalking Protection Order"
    INTERIM_SPO = "interim_spo", "Interim Stalking Protection Order"
    RESTRAINING = "restraining", "Restraining order"
    BAIL = "bail", "Pre-charge bail conditions"
    LICENCE = "licence", "Licence conditions"


class OrderStatus(models.TextChoices):
    APPLIED = "applied", "Applied for"
    IN_FORCE = "in_force", "In force"
    VARIED = "varied", "Varied"
    EXPIRED = "expired", "Expired"
    DISCHARGED = "discharged", "Discharged"


class OrderEventKind(models.TextChoices):
    VARIATION = "variation", "Variation"
    RENEWAL = "renewal", "Renewal"
    DISCHARGE = "discharge", "Discharge"


class ConditionKind(models.TextChoices):
    PROHIBITION = "prohibition", "Prohibition"
    REQUIREMENT = "requirement", "Positive requirement"


class Pillar(models.TextChoices):
    SUPERVISION = "supervision", "Supervision"
    MONITORING = "monitoring", "Monitoring and control"
    INTERVENTIONS = "interventions", "Interventions and treatment"
    VICTIM_SAFETY = "victim_safety", "Victim safety"


class ActionStatus(models.TextChoices):
    OPEN = "open", "Open"
    IN_PROGRESS = "in_progress", "In progress"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


OPEN_ACTION_STATUSES = (ActionStatus.OPEN, ActionStatus.IN_PROGRESS)
