"""The ten data categories of DOMAIN.md §7 and the access levels a share can give to each."""

from __future__ import annotations

from django.db import models


class Category(models.TextChoices):
    C1 = "C1", "Nominal identity"
    C2 = "C2", "Offending and intelligence"
    C3 = "C3", "Risk assessments"
    C4 = "C4", "Orders and breaches"
    C5 = "C5", "Risk management plan and actions"
    C6 = "C6", "Perpetrator health"
    C7 = "C7", "Victim identity and location"
    C8 = "C8", "Safety plan and advocacy notes"
    C9 = "C9", "Prosecution file"
    C10 = "C10", "Minutes"


class Level(models.IntegerChoices):
    """How much of a category a viewer receives. Ordered: a higher level includes a lower one."""

    NONE = 0, "None"
    SUMMARY = 1, "Summary"
    FULL = 2, "Full"


ALL_CATEGORIES: tuple[str, ...] = tuple(Category.values)
FULL_ACCESS: dict[str, int] = {category: Level.FULL for category in ALL_CATEGORIES}


class AgencyType(models.TextChoices):
    POLICE = "police", "Police"
    PROBATION = "probation", "Probation"
    HEALTH = "health", "Health"
    CPS = "cps", "Crown Prosecution Service"
    VICTIM_SUPPORT = "victim_support", "Stalking advocacy (ISAC)"
    OTHER = "other", "Other"


class Classification(models.TextChoices):
    OFFICIAL = "OFFICIAL", "OFFICIAL"
    OFFICIAL_SENSITIVE = "OFFICIAL-SENSITIVE", "OFFICIAL-SENSITIVE"


# DOMAIN.md §7 default visibility, by receiving agency type. ✔ = FULL, S / partial = SUMMARY.
# The lead (owning) agency always sees everything of its own; agreements may narrow or widen this.
DEFAULT_MATRIX: dict[str, dict[str, int]] = {
    AgencyType.POLICE: {
        "C1": 2,
        "C2": 2,
        "C3": 2,
        "C4": 2,
        "C5": 2,
        "C6": 1,
        "C7": 2,
        "C8": 1,
        "C9": 1,
        "C10": 2,
    },
    AgencyType.PROBATION: {
        "C1": 2,
        "C2": 2,
        "C3": 2,
        "C4": 2,
        "C5": 2,
        "C6": 1,
        "C7": 1,
        "C8": 0,
        "C9": 1,
        "C10": 2,
    },
    AgencyType.HEALTH: {
        "C1": 2,
        "C2": 1,
        "C3": 2,
        "C4": 1,
        "C5": 1,
        "C6": 2,
        "C7": 0,
        "C8": 0,
        "C9": 0,
        "C10": 1,
    },
    AgencyType.CPS: {
        "C1": 2,
        "C2": 2,
        "C3": 2,
        "C4": 2,
        "C5": 1,
        "C6": 1,
        "C7": 1,
        "C8": 1,
        "C9": 2,
        "C10": 2,
    },
    AgencyType.VICTIM_SUPPORT: {
        "C1": 1,
        "C2": 1,
        "C3": 1,
        "C4": 2,
        "C5": 1,
        "C6": 0,
        "C7": 2,
        "C8": 2,
        "C9": 1,
        "C10": 1,
    },
    AgencyType.OTHER: {
        "C1": 1,
        "C2": 0,
        "C3": 1,
        "C4": 1,
        "C5": 1,
        "C6": 0,
        "C7": 0,
        "C8": 0,
        "C9": 0,
        "C10": 1,
    },
}


# Issue 16 item 1: the categories each agency type records on a case it works on (beside the ones it
# receives). An agreement's party starts from these; the lead agency contributes to every category
# of its own case. Probation: OASys RoSH (C3), licence conditions, breaches and recall (C4); health
# and clinics: SRP and clinical formulation (C3), treatment engagement (C6); ISAC: the victim's
# views, safety planning and advocacy (C7, C8); CPS: charging, bail and remand, court dates (C4, C9);
# police: as today, plus investigation updates.
DEFAULT_CONTRIBUTE: dict[str, tuple[str, ...]] = {
    AgencyType.POLICE: ("C1", "C2", "C3", "C4", "C5", "C7"),
    AgencyType.PROBATION: ("C3", "C4"),
    AgencyType.HEALTH: ("C3", "C6"),
    AgencyType.CPS: ("C4", "C9"),
    AgencyType.VICTIM_SUPPORT: ("C7", "C8"),
    AgencyType.OTHER: (),
}
