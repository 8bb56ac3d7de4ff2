"""The audit log: one service that records sensitive acts, one selector that lists them."""

from collections.abc import Iterable, Mapping
from typing import Any

from django.db.models import Model, QuerySet

from engagement import request_context
from engagement.models import ApiKey, AuditEvent, User

Actor = User | ApiKey | None
AUDIT_BATCH_SIZE = 1000


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


def _event(
    *,
    actor: Actor,
    action: str,
    target: Model | None = None,
    target_type: str = "",
    target_id: str = "",
    changes: Mapping[str, Any] | None = None,
) -> AuditEvent:
    context = request_context.current()
    if target is not None:
        target_type = target_type or target._meta.label_lower
        target_id = target_id or str(target.pk)
    return AuditEvent(
        **_actor_fields(actor),
        action=action,
        target_type=target_type,
        target_id=target_id,
        ip=context.ip if context else None,
        request_id=context.request_id if context else "",
        changes=dict(changes or {}),
    )


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
    event = _event(
        actor=actor,
        action=action,
        target=target,
        target_type=target_type,
        target_id=target_id,
        changes=changes,
    )
    event.save()
    return event


def audit_record_many(
    *, actor: Actor, events: Iterable[tuple[str, Model, Mapping[str, Any]]]
) -> int:
    """Append one event per ``(action, target, changes)`` in a single INSERT: bulk writes
    (imports) are audited object by object like single ones, without a query per object."""
    rows = [
        _event(actor=actor, action=action, target=target, changes=changes)
        for action, target, changes in events
    ]
    return len(AuditEvent.objects.bulk_create(rows, batch_size=AUDIT_BATCH_SIZE))


def audit_list() -> QuerySet[AuditEvent]:
    return AuditEvent.objects.order_by("-occurred_at", "-id")
