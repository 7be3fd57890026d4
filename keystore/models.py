"""Wrapped data keys. Stored in the separate "keystore" database (see keystore.routers)."""

from __future__ import annotations

import uuid

from django.db import models


class DataKey(models.Model):
    """A per-case (or per-nominal) AES-256 data key, wrapped by a master key.

    Destroying it (``wrapped_dek`` emptied, ``destroyed_at`` set) makes every value encrypted
    under it unrecoverable: that is how Convene erases.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    scope = models.CharField(max_length=80, help_text="What the key protects, e.g. 'case' or 'nominal'.")
    wrapped_dek = models.BinaryField(null=True)
    kek_id = models.CharField(max_length=40)
    created_at = models.DateTimeField(auto_now_add=True)
    rewrapped_at = models.DateTimeField(null=True, blank=True)
    destroyed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["kek_id"], name="datakey_kek_idx")]

    def __str__(self) -> str:
        state = "destroyed" if self.destroyed_at else f"wrapped by {self.kek_id}"
        return f"{self.scope} key {self.id} ({state})"


class KeyCanary(models.Model):
    """A known value wrapped by each master key, checked at start so a wrong key refuses to start."""

    kek_id = models.CharField(max_length=40, primary_key=True)
    wrapped = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"canary for {self.kek_id}"
