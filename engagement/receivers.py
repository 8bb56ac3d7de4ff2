"""Receivers for Django's login signals and users' saves: they only call the audit, lockout and
token services."""

from functools import partial
from typing import Any

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from engagement.audit import audit_record
from engagement.auth_tokens import token_user_forget
from engagement.login_guard import login_failure_register, login_failures_clear
from engagement.models import User


@receiver(user_logged_in)
def _audit_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    login_failures_clear(username=user.get_username())
    audit_record(actor=user, action="auth.login", target=user)


@receiver(user_login_failed)
def _audit_failed_login(
    sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any
) -> None:
    username = str(credentials.get("username", ""))
    attempts = login_failure_register(username=username) if username else 0
    audit_record(
        actor=None,
        action="auth.login_failed",
        target_type="username",
        changes={"attempts": attempts},
    )


@receiver(post_save, sender=User)
@receiver(post_delete, sender=User)
def _forget_token_user(sender: Any, instance: User, **kwargs: Any) -> None:
    """A changed or deleted user is read afresh by the next request its tokens make: dropped
    now, and again once the change commits, in case a request cached the old row meanwhile."""
    token_user_forget(instance.pk)
    transaction.on_commit(partial(token_user_forget, instance.pk))
