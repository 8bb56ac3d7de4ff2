"""Hooks through which the nudges app takes part in a learner's export and erasure
(``learners.privacy``): what it holds on the learner goes into the export document under its
section's name, and is erased with the learner in the same transaction.

Registered from ``AppConfig.ready()`` through ``learners.contracts.learner_privacy_hook_add``.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True, slots=True)
class PrivacyHook:
    """``export(learner_id)`` returns the JSON-ready section ``key`` of the export document;
    ``erase(learner_id)`` removes the personal data the app holds on that learner."""

    key: str
    export: Callable[[uuid.UUID], Any]
    erase: Callable[[uuid.UUID], None]


_hooks: dict[str, PrivacyHook] = {}


def learner_privacy_hook_add(hook: PrivacyHook) -> None:
    """Join exports and erasures (once per key: a second registration is a mistake)."""
    if hook.key in _hooks:
        raise ImproperlyConfigured(f"Privacy hook {hook.key!r} is registered twice.")
    _hooks[hook.key] = hook


def privacy_hooks() -> tuple[PrivacyHook, ...]:
    """The registered hooks, in registration order."""
    return tuple(_hooks.values())
