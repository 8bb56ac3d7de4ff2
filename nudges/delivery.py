"""Delivering sent nudges: the outbox channels ``nudge_email`` and ``in_app``, the unsubscribe
links every email carries, and open/click tracking for the cohorts that opted in.

An outbox message holds only the nudge's id: the address and the text are read when it is
delivered, so an erased learner's nudge is never delivered and no personal data waits in the
outbox. Each channel first marks the nudge delivered with a conditional UPDATE: a delivery
retried after a worker died mid-send finds it marked and sends nothing again (at most once);
a channel that raised clears the mark, so a retry does send.

Links are signed (``django.core.signing``), so they cannot be forged or pointed elsewhere.
An unsubscribe link never expires; it records a ``ContactOptOut`` for one category, or the
learner's opt-out of every nudge (``learners.contracts.learner_nudge_opt_out``).
"""

import re
import uuid
from datetime import datetime
from html import escape
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from engagement.audit import Actor, audit_record
from engagement.models import OutboxMessage
from engagement.outbox import email_message_id
from learners.contracts import LearnerContact, learner_contacts, learner_nudge_opt_out
from nudges.models import Category, ContactOptOut, Nudge, NudgeStatus, TrackingCohort

UNSUBSCRIBE_SALT = "nudges.unsubscribe"
OPEN_SALT = "nudges.open"
CLICK_SALT = "nudges.click"
#: ``all``: every nudge; otherwise a :class:`Category` value.
ALL_CATEGORIES = "all"
LINK = re.compile(r"https?://[^\s<>\"')]+")


class BadLink(Exception):
    """A link whose signature does not hold: altered, or not ours."""


# Links ------------------------------------------------------------------------------------------


def _absolute(path: str) -> str:
    return f"{str(settings.SITE_URL).rstrip('/')}{path}"


def unsubscribe_url(learner_id: uuid.UUID, category: str) -> str:
    """The signed link that stops ``category`` (or ``all``) for this learner."""
    token = _signer(UNSUBSCRIBE_SALT).sign_object({"l": str(learner_id), "c": category})
    return _absolute(reverse("nudge-unsubscribe", kwargs={"token": token}))


def open_url(nudge_id: uuid.UUID) -> str:
    token = _signer(OPEN_SALT).sign_object(str(nudge_id))
    return _absolute(reverse("nudge-open", kwargs={"token": token}))


def click_url(nudge_id: uuid.UUID, target: str) -> str:
    token = _signer(CLICK_SALT).sign_object({"n": str(nudge_id), "u": target})
    return _absolute(reverse("nudge-click", kwargs={"token": token}))


def _signer(salt: str) -> signing.Signer:
    """Signatures without a time: a link stays the same, and valid, for ever."""
    return signing.Signer(salt=salt)


def _loads(token: str, salt: str) -> Any:
    try:
        return _signer(salt).unsign_object(token)
    except (signing.BadSignature, ValueError) as exc:
        raise BadLink from exc


def unsubscribe_target(token: str) -> tuple[uuid.UUID, str]:
    """The learner and the category (or ``all``) a link stops; ``BadLink`` if it is not ours."""
    data = _loads(token, UNSUBSCRIBE_SALT)
    try:
        learner_id, category = uuid.UUID(data["l"]), str(data["c"])
    except (KeyError, TypeError, ValueError) as exc:
        raise BadLink from exc
    if category != ALL_CATEGORIES and category not in Category.values:
        raise BadLink
    return learner_id, category


@transaction.atomic
def unsubscribe(token: str) -> str:
    """Apply an unsubscribe link; returns the category (or ``all``) stopped. Applying it again
    changes nothing."""
    learner_id, category = unsubscribe_target(token)
    if not learner_contacts([learner_id]):
        raise BadLink
    if category == ALL_CATEGORIES:
        learner_nudge_opt_out(learner_id=learner_id, actor=None, source="unsubscribe link")
    else:
        ContactOptOut.objects.get_or_create(
            learner_id=learner_id, category=category, defaults={"source": "unsubscribe link"}
        )
    return category


def _mark(nudge_id: str, field: str, now: datetime) -> None:
    """The first open or click only; a nudge erased since is left alone."""
    Nudge.objects.filter(pk=nudge_id, status=NudgeStatus.SENT, **{f"{field}__isnull": True}).update(
        **{field: now}
    )


def nudge_opened(token: str) -> None:
    """Record the first open of a tracked email (its tracking image was fetched)."""
    _mark(str(_loads(token, OPEN_SALT)), "opened_at", timezone.now())


def nudge_clicked(token: str) -> str:
    """Record the first click on a tracked link; returns where the link leads."""
    data = _loads(token, CLICK_SALT)
    try:
        nudge_id, target = str(uuid.UUID(data["n"])), str(data["u"])
    except (KeyError, TypeError, ValueError) as exc:
        raise BadLink from exc
    _mark(nudge_id, "clicked_at", timezone.now())
    return target


# Channels ---------------------------------------------------------------------------------------


def _claim(message: OutboxMessage) -> Nudge | None:
    """The message's nudge, marked delivered now; ``None`` when it was delivered already (a
    retry after a lost worker) or is no longer sent (cancelled, erased)."""
    nudge_id = message.payload.get("nudge")
    claimed = Nudge.objects.filter(
        pk=nudge_id, status=NudgeStatus.SENT, delivered_at__isnull=True
    ).update(delivered_at=timezone.now())
    return Nudge.objects.get(pk=nudge_id) if claimed else None


def _failed(nudge: Nudge, message: OutboxMessage, error: Exception) -> None:
    """Unmark the nudge so a retry sends it; on the outbox's last attempt, it failed."""
    final = message.attempts >= message.max_attempts
    Nudge.objects.filter(pk=nudge.pk).update(
        delivered_at=None,
        **({"status": NudgeStatus.FAILED, "error": type(error).__name__[:200]} if final else {}),
    )


def tracking_cohort_ids(cohort_ids: set[uuid.UUID]) -> set[uuid.UUID]:
    """Those of ``cohort_ids`` whose programme opted in to open and click tracking."""
    return set(
        TrackingCohort.objects.filter(cohort_id__in=cohort_ids).values_list("cohort_id", flat=True)
    )


def nudge_email(nudge: Nudge, contact: LearnerContact, *, tracked: bool) -> EmailMultiAlternatives:
    """The email of a nudge: its text, then the unsubscribe links (this category, everything),
    in the learner's language; with tracking, links go through the click counter and an HTML
    part carries the open image."""
    body = nudge.body
    if tracked:
        body = LINK.sub(lambda match: click_url(nudge.pk, match.group(0)), body)
    stop_category = unsubscribe_url(contact.learner_id, nudge.category)
    stop_all = unsubscribe_url(contact.learner_id, ALL_CATEGORIES)
    with translation.override(contact.locale or settings.LANGUAGE_CODE):
        footer = "\n".join(
            (
                "--",
                _("To receive no more messages like this one: %(url)s") % {"url": stop_category},
                _("To receive no more messages from us at all: %(url)s") % {"url": stop_all},
            )
        )
    text = f"{body}\n\n{footer}\n"
    email = EmailMultiAlternatives(
        # One line: a header holds no line break, and Django refuses the email otherwise.
        subject=" ".join(nudge.subject.split()),
        body=text,
        to=[contact.email],
        headers={
            "Message-ID": email_message_id(f"nudge:{nudge.pk}"),
            "List-Unsubscribe": f"<{stop_all}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    if tracked:
        html = "<br>\n".join(
            LINK.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escape(line, False))
            for line in text.splitlines()
        )
        pixel = f'<img src="{open_url(nudge.pk)}" width="1" height="1" alt="">'
        email.attach_alternative(f"<p>{html}</p>{pixel}", "text/html")
    return email


def nudge_email_send(message: OutboxMessage) -> None:
    """The ``nudge_email`` channel: the nudge by email to the learner's current address."""
    nudge = _claim(message)
    if nudge is None:
        return
    try:
        contact = learner_contacts([nudge.learner_id]).get(nudge.learner_id)
        if contact is None or not contact.email:
            raise LookupError("no address")
        tracked = bool(tracking_cohort_ids({contact.cohort_id}))
        nudge_email(nudge, contact, tracked=tracked).send()
    except Exception as error:
        _failed(nudge, message, error)
        raise


def in_app_deliver(message: OutboxMessage) -> None:
    """The ``in_app`` channel: marked delivered, the nudge appears in the learner's inbox."""
    _claim(message)


def tracking_set(*, cohort_id: uuid.UUID, enabled: bool, actor: Actor) -> bool:
    """Opt a cohort in to (or out of) open and click tracking; audited. Returns whether it
    changed anything."""
    if enabled:
        _, changed = TrackingCohort.objects.get_or_create(cohort_id=cohort_id)
    else:
        changed = bool(TrackingCohort.objects.filter(cohort_id=cohort_id).delete()[0])
    if changed:
        audit_record(
            actor=actor,
            action="nudges.tracking",
            target_type="learners.cohort",
            target_id=str(cohort_id),
            changes={"tracking": enabled},
        )
    return changed
