"""The audit log: one service that records sensitive acts, one selector that lists them."""

from collections.abc import Iterable, Mapping
from typing import Any

from django.db.models import Model, QuerySet

from engagement import request_context
from engagement.models import ApiKey, AuditEvent, User

Actor = User | ApiKey | None


def _actor_fields(actor: Actor) -> dict[str, str]:
    if isinstance(actor, User):
        return {
            "actor_type": "user",
            "actor_id": str(actor.pk),
            "actor_label": actor.get_username(),
        }
    if isinstance(actor, ApiKey):
        return {"actor_type": "api_key", "actor_id": str(actor.pk), "actor_label": actor.prefix}
    return {"actor_type": "system", "actor_id": "", "actor_label": ""}


def audit_changes(data: Mapping[str, Any], *, personal: Iterable[str] = ()) -> dict[str, Any]:
    """A small diff for the log: values of ordinary fields, only the names of personal ones."""
    hidden = set(personal)
    changes: dict[str, Any] = {}
    for name, value in data.items():
        if name in hidden:
            changes[name] = "(changed)"
        elif isinstance(value, Model):
            changes[name] = str(value.pk)
        elif isinstance(value, str | int | float | bool) or value is None:
            changes[name] = value
        else:
            changes[name] = str(value)
    return changes


def audit_record(
    *,
    actor: Actor,
    action: str,
    target: Model | None = None,
    target_type: str = "",
    target_id: str = "",
    changes: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Append one event; request id and client IP come from the current request, if any."""
    context = request_context.current()
    if target is not None:
        target_type = target_type or target._meta.label_lower
        target_id = target_id or str(target.pk)
    return AuditEvent.objects.create(
        **_actor_fields(actor),
        action=action,
        target_type=target_type,
        target_id=target_id,
        ip=context.ip if context else None,
        request_id=context.request_id if context else "",
        changes=dict(changes or {}),
    )


def audit_list() -> QuerySet[AuditEvent]:
    return AuditEvent.objects.order_by("-occurred_at", "-id")
