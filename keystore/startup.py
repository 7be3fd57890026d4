"""Refuse to start with a missing or wrong master key, before serving anything."""

from __future__ import annotations

import sys

from django.db import DatabaseError

from .crypto import MasterKeyError
from .keyring import ensure_canaries, master_keys, verify_master_keys


def refuse_to_start_without_keys() -> None:
    try:
        master_keys()
        verify_master_keys()
        ensure_canaries()
    except MasterKeyError as exc:
        sys.stderr.write(f"Convene cannot start: {exc}\n")
        raise SystemExit(3) from exc
    except DatabaseError:
        # The key store is unreachable or not migrated yet; /readyz reports it, and decryption
        # fails closed until it is back.
        return
