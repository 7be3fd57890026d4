"""Chart template tags: ``{% load convene_charts %}{% case_timeline case access %}``."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString

from core import charts

register = template.Library()


@register.simple_tag
def case_timeline(case: Any, access: Any) -> SafeString:
    """The case's referral, assessments, orders, breaches, reviews and decisions that ``access`` may see."""
    if case is None or access is None:
        return SafeString("")
    return charts.case_timeline(access, case)
