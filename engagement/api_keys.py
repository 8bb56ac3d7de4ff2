"""API keys for machines: create (secret shown once), update, authenticate, revoke.

A key reads ``lep_<prefix>_<secret>``. The prefix finds the row; only a SHA-256 of the secret is
stored (the secret has 256 bits of entropy, so a slow password hash would add nothing).
"""

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from engagement.audit import audit_record
from engagement.errors import ValidationFailed
from engagement.ids import row_by_id
from engagement.models import ApiKey, User
from engagement.registry import registry

KEY_PREFIX = "lep"
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class IssuedKey:
    api_key: ApiKey
    secret: str


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def scopes_help() -> str:
    """The one message that tells a caller which scopes exist."""
    return f"Choose one or more of: {', '.join(registry.api_key_scopes())}."


def api_key_scopes_check(scopes: Any) -> list[str]:
    """The scopes, sorted and unique; ``ValidationFailed`` unless they are known and not none."""
    if not isinstance(scopes, list | tuple | set | frozenset) or not all(
        isinstance(scope, str) for scope in scopes
    ):
        raise ValidationFailed(detail={"scopes": [scopes_help()]})
    scope_list = sorted(set(scopes))
    known = registry.api_key_scopes()
    unknown = [scope for scope in scope_list if scope not in known]
    if unknown or not scope_list:
        raise ValidationFailed(detail={"scopes": [scopes_help()]})
    return scope_list


def api_key_expiry_check(expires_at: datetime | None) -> None:
    """A key given an expiry must not be expired already."""
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationFailed(detail={"expires_at": ["Must lie in the future."]})


def api_key_create(
    *, name: str, scopes: Iterable[str], created_by: User | None, expires_at: datetime | None = None
) -> IssuedKey:
    """Issue a key; the returned secret is never retrievable again."""
    scope_list = api_key_scopes_check(scopes)
    api_key_expiry_check(expires_at)
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    api_key = ApiKey.objects.create(
        name=name,
        prefix=prefix,
        secret_hash=_hash(secret),
        scopes=scope_list,
        expires_at=expires_at,
        created_by=created_by,
    )
    audit_record(
        actor=created_by,
        action="api_key.create",
        target=api_key,
        changes={"name": name, "scopes": ",".join(scope_list)},
    )
    return IssuedKey(api_key=api_key, secret=f"{KEY_PREFIX}_{prefix}_{secret}")


def api_key_update(
    *,
    api_key: ApiKey,
    actor: User | None,
    name: str,
    scopes: Iterable[str],
    expires_at: datetime | None,
) -> ApiKey:
    """Rename a key, change its scopes or expiry (the secret stays), audited like its creation."""
    scope_list = api_key_scopes_check(scopes)
    changes: dict[str, Any] = {}
    if expires_at != api_key.expires_at:
        api_key_expiry_check(expires_at)
        changes["expires_at"] = expires_at.isoformat() if expires_at else None
    if name != api_key.name:
        changes["name"] = name
    if scope_list != sorted(api_key.scopes):
        changes["scopes"] = ",".join(scope_list)
    if changes:
        api_key.name, api_key.scopes, api_key.expires_at = name, scope_list, expires_at
        api_key.save(update_fields=["name", "scopes", "expires_at", "updated_at"])
        audit_record(actor=actor, action="api_key.update", target=api_key, changes=changes)
    return api_key


def api_key_revoke(*, api_key: ApiKey, actor: User | None) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at", "updated_at"])
        audit_record(actor=actor, action="api_key.revoke", target=api_key)
    return api_key


def api_key_authenticate(*, raw_key: str) -> ApiKey | None:
    """The active key matching ``raw_key``, or ``None``; refreshes ``last_used_at`` (coarsely)."""
    parts = raw_key.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        return None
    api_key = ApiKey.objects.filter(prefix=parts[1]).first()
    if api_key is None or not hmac.compare_digest(api_key.secret_hash, _hash(parts[2])):
        return None
    now = timezone.now()
    if api_key.revoked_at is not None or (
        api_key.expires_at is not None and api_key.expires_at <= now
    ):
        return None
    if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key


def api_key_list() -> QuerySet[ApiKey]:
    return ApiKey.objects.select_related("created_by").order_by("-created_at")


def api_key_get(*, key_id: str) -> ApiKey:
    return row_by_id(api_key_list(), key_id, missing="No API key with this id.")
