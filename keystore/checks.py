from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register

from .crypto import MasterKeyError, parse_master_keys


@register(Tags.security, deploy=True)
def check_master_keys(app_configs: Any, **kwargs: Any) -> list[Error]:
    """Production must get its master and index keys from the environment, never a key file."""
    errors: list[Error] = []
    if settings.CONVENE_CREATE_KEY_FILES:
        return errors
    if not settings.CONVENE_MASTER_KEYS:
        errors.append(Error("CONVENE_MASTER_KEYS is not set.", id="convene.E001"))
    else:
        try:
            parse_master_keys(settings.CONVENE_MASTER_KEYS)
        except MasterKeyError as exc:
            errors.append(Error(str(exc), id="convene.E002"))
    if not settings.CONVENE_INDEX_KEY:
        errors.append(Error("CONVENE_INDEX_KEY is not set.", id="convene.E003"))
    if not settings.CONVENE_AUDIT_SIGNING_KEY:
        errors.append(Error("CONVENE_AUDIT_SIGNING_KEY is not set.", id="convene.E004"))
    return errors
