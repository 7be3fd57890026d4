from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString

from cases import timeline

register = template.Library()


@register.filter
def get_pillar(items: Any, key: str) -> list[Any]:
    """The plan items under one pillar."""
    if not isinstance(items, dict):
        return []
    value = items.get(key) or []
    return value if isinstance(value, list) else []


@register.simple_tag
def case_timeline(case: Any, access: Any) -> SafeString:
    """``{% case_timeline case access %}``: the case's referral, assessments, orders, breaches, reviews
    and decisions that ``access`` may see."""
    if case is None or access is None:
        return SafeString("")
    return timeline.case_timeline(access, case)
