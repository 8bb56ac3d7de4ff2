"""Write helpers shared by every app's services."""

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from django.db import models

ModelT = TypeVar("ModelT", bound=models.Model)


def model_update(
    *, instance: ModelT, fields: Iterable[str], data: Mapping[str, Any]
) -> tuple[ModelT, list[str]]:
    """Apply the allowed ``fields`` present in ``data``, validate, and save only what changed.

    Returns the instance and the names of the changed fields (empty: nothing was written).
    """
    changed = [name for name in fields if name in data and getattr(instance, name) != data[name]]
    if not changed:
        return instance, []
    for name in changed:
        setattr(instance, name, data[name])
    instance.full_clean(exclude=[f.name for f in instance._meta.fields if f.name not in changed])
    stamp = ["updated_at"] if any(f.name == "updated_at" for f in instance._meta.fields) else []
    instance.save(update_fields=[*changed, *stamp])
    return instance, changed
