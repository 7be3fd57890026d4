"""Data keys live in their own database so that no dump of the main database carries a key."""

from __future__ import annotations

from typing import Any

from django.db.models import Model

KEYSTORE_APP = "keystore"
KEYSTORE_DB = "keystore"


class KeystoreRouter:
    def db_for_read(self, model: type[Model], **hints: Any) -> str | None:
        return KEYSTORE_DB if model._meta.app_label == KEYSTORE_APP else None

    def db_for_write(self, model: type[Model], **hints: Any) -> str | None:
        return KEYSTORE_DB if model._meta.app_label == KEYSTORE_APP else None

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        labels = {obj1._meta.app_label, obj2._meta.app_label}
        if KEYSTORE_APP in labels:
            return labels == {KEYSTORE_APP}
        return None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        if app_label == KEYSTORE_APP:
            return db == KEYSTORE_DB
        return db != KEYSTORE_DB
