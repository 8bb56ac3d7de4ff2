"""Write helpers shared by every app's services."""

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from django.db import models

ModelT = TypeVar("ModelT", bound=models.Model)


def model_update(
    *,
    instance: ModelT,
    fields: Iterable[str],
    data: Mapping[str, Any],
    derive: Callable[[ModelT, list[str]], Iterable[str]] | None = None,
) -> tuple[ModelT, list[str]]:
    """Apply the allowed ``fields`` present in ``data``, validate, and save only what changed.

    ``derive(instance, changed)`` applies the app's rules for values that follow from the
    changed ones (lookup hashes, defaults) and names the fields it set, which are saved too.
    Returns the instance and the names of the changed fields (empty: nothing was written).
    """
    changed = [name for name in fields if name in data and getattr(instance, name) != data[name]]
    if not changed:
        return instance, []
    for name in changed:
        setattr(instance, name, data[name])
    instance.full_clean(exclude=[f.name for f in instance._meta.fields if f.name not in changed])
    derived = [
        name for name in (derive(instance, changed) if derive else ()) if name not in changed
    ]
    stamp = ["updated_at"] if any(f.name == "updated_at" for f in instance._meta.fields) else []
    instance.save(update_fields=[*changed, *derived, *stamp])
    return instance, changed
