"""Free-text reasons and justifications, as a length rule should see them.

``"\u200b" * 12`` is twelve characters that show as nothing; a soft hyphen, a word joiner or a
direction mark is the same. Before any rule on a reason's length, the text is normalised (NFKC),
stripped of Unicode format characters (category Cf) and trimmed, and the cleaned text is what is stored
and audited.
"""

from __future__ import annotations

import unicodedata

from core.errors import DomainError


def clean_text(value: object) -> str:
    """``value`` as NFKC text without format characters (Cf), trimmed; None is ``""``."""
    text = unicodedata.normalize("NFKC", "" if value is None else str(value))
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf").strip()


def require_reason(value: object, *, field: str, message: str, min_length: int = 1) -> str:
    """The cleaned reason, or a DomainError naming ``field`` if it has fewer than ``min_length``
    visible characters."""
    text = clean_text(value)
    if len(text) < min_length:
        raise DomainError(message, field=field)
    return text
