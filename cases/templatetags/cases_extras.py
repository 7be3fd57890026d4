from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def get_pillar(items: Any, key: str) -> list[Any]:
    """The plan items under one pillar."""
    if not isinstance(items, dict):
        return []
    value = items.get(key) or []
    return value if isinstance(value, list) else []
