"""A nudge's lifecycle (interface; the lifecycle area replaces this file)."""

from typing import Any

from nudges.models import Nudge


def nudge_approve(*, nudge: Nudge, actor: Any) -> Nudge:
    raise NotImplementedError


def nudge_send(*, nudge: Nudge, actor: Any) -> Nudge:
    """Approved (or draft, approving it) → suppressed, scheduled or sent, by the policy."""
    raise NotImplementedError


def nudge_cancel(*, nudge: Nudge, actor: Any) -> Nudge:
    raise NotImplementedError
