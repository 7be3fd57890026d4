"""Section 2: the case detail page, and the encrypted field against plain Fernet."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from bench.actors import Actors
from bench.case_list import api_client_for
from bench.figures import Figure, interleaved, summarise


def bench_detail(a: Actors, repeat: int) -> list[Figure]:
    from keystore import fields as kf
    from keystore.keyring import dek_cache

    spent = {"decrypt": 0.0, "aes": 0.0, "values": 0}
    real_decrypt = kf.EncryptedField.decrypt
    real_aes = kf.decrypt_value

    def timed_decrypt(self: Any, instance: Any, token: bytes) -> Any:
        start = time.perf_counter()
        try:
            return real_decrypt(self, instance, token)
        finally:
            spent["decrypt"] += time.perf_counter() - start
            spent["values"] += 1

    def timed_aes(*args: Any) -> bytes:
        start = time.perf_counter()
        try:
            return real_aes(*args)
        finally:
            spent["aes"] += time.perf_counter() - start

    cases = a.case_ids or []
    if not cases:
        return [Figure("detail_crypto_share", "Case detail", None, "%", note="SKIPPED: no visible case")]
    totals, crypto, aes = [], [], []
    client, _ = api_client_for(a.practitioner)
    client.get("/api/v1/cases/?page_size=1")  # the token's first use is recorded once, not per request

    def read(case_id: Any) -> None:
        response = client.get(f"/api/v1/cases/{case_id}/")
        assert response.status_code == 200, response.status_code

    kf.EncryptedField.decrypt = timed_decrypt  # type: ignore[method-assign]
    kf.decrypt_value = timed_aes  # type: ignore[assignment]
    try:
        for i in range(repeat + 1):
            case_id = cases[i % len(cases)]
            dek_cache.clear()  # a case page usually needs keys not yet in the cache: count the unwrap
            spent.update(decrypt=0.0, aes=0.0, values=0)
            start = time.perf_counter()
            read(case_id)
            elapsed = time.perf_counter() - start
            if i == 0:
                continue  # warm-up
            totals.append(elapsed)
            crypto.append(spent["decrypt"] / elapsed * 100)
            aes.append(spent["aes"] / elapsed * 100)
    finally:
        kf.EncryptedField.decrypt = real_decrypt  # type: ignore[method-assign]
        kf.decrypt_value = real_aes
    t, t_spread = summarise(totals)
    c, c_spread = summarise(crypto)
    g, _ = summarise(aes)
    figures = [
        Figure(
            "detail_crypto_share",
            "Case detail request (GET /api/v1/cases/<id>/): share of time in decryption "
            "(key unwrap + AES-GCM + decode)",
            c,
            "%",
            c_spread,
            t * 1000,
            "whole request (ms)",
            (t_spread[0] * 1000, t_spread[1] * 1000),
            target="≤ 10%",
            met=c <= 10,
            note=f"AES-GCM alone {g:.1f}%; cold data-key cache each request; {spent['values']} values "
            "decrypted in the last; DRF test client in process with a bearer token (authentication, access "
            "check, every part of the record the viewer may see, the CONSULT event)",
        )
    ]
    figures.append(bench_field_vs_fernet(a, repeat))
    return figures


def fernet_model(field_class: type[Any]) -> type[Any]:
    """An unmanaged model holding a Fernet text field, so the field runs its real model hooks."""
    from django.apps import apps
    from django.db import models

    try:
        # the django-stubs plugin cannot resolve a model this function itself creates at run time
        return apps.get_model("bench", "FernetNote")  # type: ignore[misc]
    except LookupError:
        attrs = {
            "__module__": __name__,
            "body": field_class(),
            "Meta": type("Meta", (), {"app_label": "bench", "managed": False}),
        }
        return type("FernetNote", (models.Model,), attrs)


def bench_field_vs_fernet(a: Actors, repeat: int) -> Figure:
    from django.db import connection
    from encrypted_fields.fields import EncryptedTextField as FernetText

    from cases.models import Note, Victim

    victims = list(Victim.objects.filter(case_id__in=a.case_ids[:40]).select_related("case"))
    notes = list(Note.objects.filter(case_id__in=a.case_ids[:40]).select_related("case"))
    values = [v.name for v in victims] + [v.routines for v in victims] + [n.body for n in notes]
    values = [v for v in values if v]
    note = notes[0]
    ours = Note._meta.get_field("body")
    fernet_note = fernet_model(FernetText)()
    fernet = type(fernet_note)._meta.get_field("body")
    fernet.f  # derive the Fernet key once (PBKDF2, 100k iterations), as a running process would  # noqa: B018

    # Both fields are timed through the same Django hooks a save and a load go through: the
    # attribute set, pre_save, get_db_prep_save (write), from_db_value and the attribute read (load).
    def round_trip(instance: Any, fld: Any) -> Callable[[], None]:
        def run() -> None:
            for value in values:
                setattr(instance, fld.attname, value)
                stored = fld.get_db_prep_save(fld.pre_save(instance, False), connection)
                # what the database hands back: the bytes or text that went in (PostgreSQL's driver
                # wraps bytes for sending, in an adapter holding them as .obj)
                loaded = getattr(stored, "obj", stored)
                instance.__dict__[fld.attname] = fld.from_db_value(loaded, None, connection)
                assert getattr(instance, fld.attname) == value

        return run

    convene, jazzband = round_trip(note, ours), round_trip(fernet_note, fernet)

    samples = interleaved({"convene": convene, "fernet": jazzband}, repeat)
    ours_t, ours_spread = summarise(samples["convene"])
    fern_t, fern_spread = summarise(samples["fernet"])
    per = 1e6 / len(values)
    return Figure(
        "field_vs_fernet",
        "Save+load one value through the field hooks: Convene AES-GCM vs django-fernet-encrypted-fields",
        ours_t * per,
        "µs/value",
        (ours_spread[0] * per, ours_spread[1] * per),
        fern_t * per,
        "encrypted_fields.EncryptedTextField (Fernet)",
        (fern_spread[0] * per, fern_spread[1] * per),
        fern_t / ours_t,
        "Fernet / Convene (times faster)",
        "≥ 5× faster",
        fern_t / ours_t >= 5,
        f"{len(values)} real values (mean {sum(map(len, values)) // len(values)} chars)",
    )
