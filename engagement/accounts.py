"""Staff accounts: create or invite, change role and cohorts, deactivate, delete. Admin-only doors call these."""

import secrets
from collections.abc import Collection, Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from engagement.audit import audit_record, audit_record_many
from engagement.errors import Conflict, ValidationFailed
from engagement.ids import row_by_id
from engagement.input_bounds import check_timezone
from engagement.models import Role, User
from engagement.outbox import EMAIL_CHANNEL, outbox_enqueue
from engagement.user_scopes import user_cohorts_set

ACTIVE_ADMIN = Q(is_active=True) & (Q(role=Role.ADMIN) | Q(is_superuser=True))


def _check_password(password: str, user: User) -> None:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationFailed(detail={"password": list(exc.messages)}) from exc


def user_grant_admin_site(user: User) -> None:
    """Programme admins do everything, Django admin included; no other role reaches it."""
    user.is_staff = user.is_superuser = user.role == Role.ADMIN


def _invite(user: User) -> str:
    """Mail a one-time link to choose a password, through the outbox: the mail leaves once the
    user's creation commits, never for a creation rolled back. Returns the link's path."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    path = f"/accounts/reset/{uid}/{default_token_generator.make_token(user)}/"
    outbox_enqueue(
        channel=EMAIL_CHANNEL,
        payload={
            "to": user.email,
            "subject": "Your Learner Engagement Platform account",
            "body": f"An account was created for you. Choose a password here: {settings.SITE_URL}{path}",
        },
        idempotency_key=f"invite:{user.pk}",
    )
    return path


def _cohorts_audited(cohort_ids: Iterable[Any]) -> list[str]:
    """The cohorts as ``user.create`` and ``user.update`` record them: ids as text, sorted."""
    return sorted(str(cohort_id) for cohort_id in cohort_ids)


@transaction.atomic
def user_create(
    *,
    actor: User | None,
    username: str,
    email: str,
    role: str,
    password: str | None = None,
    cohort_ids: Collection[Any] = (),
    timezone: str | None = None,
) -> User:
    """Create a staff user; without a password they are invited by email to choose one.

    ``timezone`` left out is the site's (``TIME_ZONE``)."""
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationFailed(detail={"username": ["A user with this username already exists."]})
    if password is None and not email:
        raise ValidationFailed(detail={"email": ["An invited user needs an email address."]})
    user = User(username=username, email=email, role=role)
    if timezone:
        user.timezone = timezone
    user_grant_admin_site(user)
    if password is None:
        user.set_unusable_password()
    else:
        _check_password(password, user)
        user.set_password(password)
    user.save()
    user_cohorts_set(user=user, cohort_ids=cohort_ids)
    changes: dict[str, Any] = {"role": role, "invited": password is None}
    if cohort_ids:
        changes["cohorts"] = _cohorts_audited(cohort_ids)
    audit_record(actor=actor, action="user.create", target=user, changes=changes)
    if password is None:
        _invite(user)
    return user


@transaction.atomic
def admin_removal_refusal(*, actor: User | None, users: Iterable[User]) -> str | None:
    """Why ``users`` may not lose admin access (demotion, deactivation, deletion), or ``None``.

    Nobody removes their own admin access (another admin must), and at least one active admin
    always remains, or every caller would be locked out. Active admins are locked in one order
    until the caller's transaction ends, so two concurrent removals cannot both pass.
    """
    admins = set(
        User.objects.select_for_update()
        .filter(ACTIVE_ADMIN)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    losing = {user.pk for user in users} & admins
    if not losing:
        return None
    if actor is not None and actor.pk in losing:
        return "You cannot demote, deactivate or delete your own admin account; ask another admin."
    if not admins - losing:
        return "This would leave no active admin; make another user an admin first."
    return None


def _refuse_admin_removal(*, actor: User | None, user: User, data: dict[str, Any]) -> None:
    role, is_active = data.get("role", user.role), data.get("is_active", user.is_active)
    if role == Role.ADMIN and is_active:
        return
    refusal = admin_removal_refusal(actor=actor, users=[user])
    if refusal:
        raise ValidationFailed(detail={"role" if is_active else "is_active": [refusal]})


#: Fields ``user_update`` changes (the API offers the last four; the admin form all of them),
#: and those audited as ``(changed)`` rather than by value because they identify a person.
USER_FIELDS = ("username", "first_name", "last_name", "email", "role", "is_active", "timezone")
PERSONAL_FIELDS = frozenset({"username", "first_name", "last_name", "email"})


@transaction.atomic
def user_update(*, actor: User | None, user: User, data: dict[str, Any]) -> User:
    """Change the fields of ``USER_FIELDS`` in ``data`` and, when given, the assigned cohorts.

    Refused (400) when it would take admin access from the actor or from the last active admin.
    """
    _refuse_admin_removal(actor=actor, user=user, data=data)
    changes: dict[str, Any] = {}
    for name in USER_FIELDS:
        if name in data and getattr(user, name) != data[name]:
            setattr(user, name, data[name])
            changes[name] = "(changed)" if name in PERSONAL_FIELDS else data[name]
    if changes:
        user_grant_admin_site(user)
        user.save()
    if "cohort_ids" in data:
        user_cohorts_set(user=user, cohort_ids=data["cohort_ids"])
        changes["cohorts"] = _cohorts_audited(data["cohort_ids"])
    if changes:
        audit_record(actor=actor, action="user.update", target=user, changes=changes)
    return user


@transaction.atomic
def user_timezone_set(*, user: User, timezone: str) -> User:
    """A staff user's own choice of time zone (the account page): a preference, so none of the
    role rules of :func:`user_update` apply; audited as ``user.update`` all the same."""
    try:
        check_timezone(timezone)
    except ValueError as exc:
        raise ValidationFailed(detail={"timezone": [str(exc)]}) from exc
    if user.timezone != timezone:
        user.timezone = timezone
        user.save(update_fields=["timezone"])
        audit_record(actor=user, action="user.update", target=user, changes={"timezone": timezone})
    return user


@transaction.atomic
def users_delete(*, actor: User | None, users: Iterable[User]) -> None:
    """Delete staff users, each audited as ``user.delete``; refused like a demotion when it
    would take admin access from the actor or from the last active admin."""
    users = list(users)
    refusal = admin_removal_refusal(actor=actor, users=users)
    if refusal:
        raise Conflict(refusal)
    audit_record_many(actor=actor, events=(("user.delete", user, {}) for user in users))
    User.objects.filter(pk__in=[user.pk for user in users]).delete()


def user_password_changed(*, actor: User | None, user: User) -> None:
    """Record that ``user``'s password was set or disabled (by Django's admin password page,
    which saves it itself); the password never reaches the log."""
    state = "(changed)" if user.has_usable_password() else "(disabled)"
    audit_record(actor=actor, action="user.password", target=user, changes={"password": state})


def user_deactivate(*, actor: User | None, user: User) -> User:
    return user_update(actor=actor, user=user, data={"is_active": False})


def users_anonymise() -> int:
    """Strip staff identities for a development copy: neutral usernames, no emails, no passwords."""
    users = list(User.objects.all())
    for user in users:
        user.username = f"user-{str(user.pk)[-8:]}"
        user.email = ""
        user.first_name = user.last_name = ""
        user.set_unusable_password()
    User.objects.bulk_update(users, ["username", "email", "first_name", "last_name", "password"])
    return len(users)


def user_list() -> QuerySet[User]:
    return User.objects.order_by("username")


def user_get(*, user_id: Any) -> User:
    return row_by_id(User.objects.all(), user_id, missing="No user with this id.")


DEMO_ROLES = (
    ("demo-admin", Role.ADMIN),
    ("demo-coach", Role.COACH),
    ("demo-analyst", Role.ANALYST),
)


def demo_accounts_ensure(*, coach_cohort_ids: Collection[Any] = ()) -> list[tuple[str, str, str]]:
    """Create or reset one demo user per role with fresh random passwords, for local trials.

    The coach works with exactly ``coach_cohort_ids``. Returns ``(username, role, password)``
    rows to print.
    """
    rows = []
    for username, role in DEMO_ROLES:
        password = secrets.token_urlsafe(12)
        user = User.objects.filter(username=username).first()
        if user is None:
            user = user_create(
                actor=None, username=username, email="", role=role, password=password
            )
        else:
            user.set_password(password)
            user.save(update_fields=["password"])
            user_update(actor=None, user=user, data={"role": role, "is_active": True})
        if role == Role.COACH:
            user_cohorts_set(user=user, cohort_ids=coach_cohort_ids)
        rows.append((username, str(role), password))
    return rows
