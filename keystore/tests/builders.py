"""Build one saved instance of any model, for the encryption acceptance tests.

``build(model, world)`` uses a registered factory if there is one, otherwise builds the row
generically: required foreign keys reuse a row of the related model (building one if there is
none), choices take their first value, other required fields get a plain value, and every
encrypted field receives a unique plaintext marker so the tests can look for it in raw storage.

**Adding a model.** Most models need nothing: the generic builder copes. If yours has rules the
generic builder cannot satisfy (a check constraint, a field that must match another row), register
a factory here::

    @register("myapp.MyModel")
    def _my_model(world, markers):
        return MyModel.objects.create(..., secret=markers["secret"])

The factory must save the row and put ``markers[field_name]`` into each encrypted field (text
fields take the string, JSON fields ``{"marker": …}``, binary fields its UTF-8 bytes).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import models
from django.utils import timezone

from keystore.fields import EncryptedBinaryField, EncryptedField, EncryptedJSONField, encrypted_fields

Factory = Callable[[Any, dict[str, str]], models.Model]
FACTORIES: dict[str, Factory] = {}


def register(label: str) -> Callable[[Factory], Factory]:
    def wrap(fn: Factory) -> Factory:
        FACTORIES[label] = fn
        return fn

    return wrap


def markers_for(model: type[models.Model]) -> dict[str, str]:
    tag = uuid.uuid4().hex[:10]
    return {f.attname: f"PLAINTEXT-{model._meta.label}-{f.attname}-{tag}" for f in encrypted_fields(model)}


def encrypted_value(field: EncryptedField, marker: str) -> Any:
    if isinstance(field, EncryptedJSONField):
        return {"marker": marker}
    if isinstance(field, EncryptedBinaryField):
        return marker.encode()
    return marker


def _plain_value(field: models.Field) -> Any:
    if field.choices:
        return field.choices[0][0]
    if isinstance(field, models.BooleanField):
        return False
    if isinstance(field, models.DateTimeField):
        return timezone.now()
    if isinstance(field, models.DateField):
        return timezone.localdate() - timedelta(days=1)
    if isinstance(field, models.UUIDField):
        return uuid.uuid4()
    if isinstance(field, models.IntegerField | models.DecimalField | models.FloatField):
        return 1
    if isinstance(field, models.JSONField):
        return {}
    if isinstance(field, models.BinaryField):
        return b"x"
    if isinstance(field, models.CharField | models.TextField):
        return f"x{uuid.uuid4().hex[:8]}"[: field.max_length or 100]
    return None


def _related(model: type[models.Model], world: Any, depth: int, fresh: bool = False) -> models.Model:
    if model._meta.label == "cases.Case":
        if fresh:
            from tests.world import make_case

            return make_case(world, family=f"Build{uuid.uuid4().hex[:6]}")
        return world.case
    if fresh:
        return build(model, world, depth=depth + 1, fresh=True)
    existing = model._default_manager.order_by("?").first()
    if existing is not None:
        return existing
    return build(model, world, depth=depth + 1)


def build(
    model: type[models.Model],
    world: Any,
    markers: dict[str, str] | None = None,
    depth: int = 0,
    fresh: bool = False,
) -> models.Model:
    """A saved instance of ``model`` whose encrypted fields hold ``markers``."""
    markers = markers if markers is not None else markers_for(model)
    factory = FACTORIES.get(model._meta.label)
    if factory is not None:
        return factory(world, markers)
    if depth > 6:
        raise RuntimeError(f"Cannot build {model._meta.label} generically: register a factory in {__name__}.")
    values: dict[str, Any] = {}
    for field in model._meta.concrete_fields:
        if field.primary_key or getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            continue
        if isinstance(field, EncryptedField):
            values[field.attname] = encrypted_value(field, markers[field.attname])
            continue
        if field.is_relation:
            if field.null and field.related_model is not model:
                continue
            assert field.related_model is not None
            if field.related_model._meta.label == "agencies.User":
                values[field.name] = world.police_practitioner
            elif field.related_model._meta.label == "agencies.Agency":
                values[field.name] = world.agencies["police"]
            else:
                related = field.related_model
                # a one-to-one (or unique) link, or anything under one, gets rows of its own
                unique = fresh or field.unique
                values[field.name] = _related(related, world, depth, fresh=unique)  # type: ignore[arg-type]
            continue
        if field.has_default() or field.null or field.blank:
            if not field.has_default() and field.name.endswith("data_key_id"):
                pass
            else:
                continue
        values[field.attname] = _plain_value(field)
    if "data_key_id" in {f.attname for f in model._meta.concrete_fields}:
        values["data_key_id"] = world.case.data_key_id
    instance = model(**values)
    instance.save()
    return instance


# --- factories for models the generic builder cannot fill ----------------------------------
@register("cases.Referral")
def _referral(world: Any, markers: dict[str, str]) -> models.Model:
    from cases.models import Referral
    from tests.world import make_case

    case = make_case(world, family=f"Ref{uuid.uuid4().hex[:6]}")
    referral = Referral.objects.get(case=case)
    referral.reason = markers["reason"]
    referral.advice_given = markers["advice_given"]
    referral.save()
    return referral


@register("cases.RiskManagementPlan")
def _plan(world: Any, markers: dict[str, str]) -> models.Model:
    from cases.models import RiskManagementPlan

    case = world.case
    number = (RiskManagementPlan.objects.filter(case=case).count() or 0) + 1
    return RiskManagementPlan.objects.create(
        case=case,
        owner_agency=world.agencies["police"],
        created_by=world.police_practitioner,
        number=number,
        items={"marker": markers["items"]},
        contingency=markers["contingency"],
    )
