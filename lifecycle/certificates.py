"""Erasure certificates as signed documents (Ed25519, the audit log's signing key).

The document is canonical JSON (sorted keys, no spaces); the signature covers exactly those bytes.
Anyone holding the audit public key (published with the checkpoints) can check it with
:func:`verify_document`.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.exceptions import InvalidSignature

from audit.chain import key_id_for
from audit.services import known_keys, public_key_b64, signing_key

from .models import ErasureCertificate
from .services import certificate_seq

DOCUMENT_TYPE = "convene.erasure-certificate/v1"


def certificate_payload(certificate: ErasureCertificate) -> dict[str, Any]:
    return {
        "type": DOCUMENT_TYPE,
        "certificate_id": str(certificate.pk),
        "agency": {"id": certificate.agency_id, "name": str(certificate.agency)},
        "case_reference": certificate.case_reference,
        "case_id": str(certificate.case_id),
        "scope": certificate.scope,
        "object_id": str(certificate.object_id),
        "erased": dict(sorted(certificate.erased.items())),
        "data_keys_destroyed": list(certificate.keys_destroyed),
        "shares_ended": certificate.shares_ended,
        "rule": certificate.rule_description,
        "reason": certificate.reason,
        "erased_by": {"id": certificate.erased_by_id, "username": certificate.erased_by.get_username()},
        "erased_at": certificate.erased_at.isoformat(),
        "audit_event_id": certificate.audit_event_id,
        "audit_seq": certificate_seq(certificate),
        "statement": (
            "The data keys listed were destroyed in the key store and the plaintext-bearing rows listed were "
            "deleted or blanked. Audit events, which hold no values, were kept; the erasure is the audit "
            "event at the sequence number given."
        ),
    }


def canonical_bytes(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def signed_document(certificate: ErasureCertificate) -> dict[str, Any]:
    payload = certificate_payload(certificate)
    key = signing_key()
    signature = key.sign(canonical_bytes(payload))
    return {
        "certificate": payload,
        "signature": {
            "algorithm": "Ed25519",
            "key_id": key_id_for(key.public_key()),
            "public_key": public_key_b64(),
            "value": base64.b64encode(signature).decode(),
        },
    }


def verify_document(document: dict[str, Any]) -> bool:
    """True if the document's signature matches its certificate under the audit key it names (the
    current key or an earlier one kept in the register of signing keys)."""
    try:
        keys = {key.key_id: key.public_key for key in known_keys()}
        key = keys[document["signature"]["key_id"]]
        signature = base64.b64decode(document["signature"]["value"])
        key.verify(signature, canonical_bytes(document["certificate"]))
    except (InvalidSignature, KeyError, ValueError, TypeError):
        return False
    return True
