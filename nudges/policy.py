"""The one contact policy, applied on every path a nudge leaves by (``nudges.lifecycle``).

For each nudge about to be sent it answers: send now, send later (quiet hours in the
learner's time zone: the next allowed time, not dropped), or suppress, naming the rule. The
rules, in the order they are checked:

``finished``          the learner completed or withdrew (or is no longer known);
``opted_out``         the learner asked for no nudge at all (``Learner.nudge_opt_out``);
``category_opt_out``  the learner asked for none of this category (``ContactOptOut``);
``no_address``        an email nudge for a learner without an email address;
``weekly_limit``      ``NUDGE_MAX_PER_WEEK`` sent in the rolling 7 days already;
``min_gap``           one sent within ``NUDGE_MIN_GAP_HOURS``;
``duplicate``         nearly the same text sent within ``NUDGE_DUPLICATE_DAYS``;
``quiet_hours``       not a suppression: send at the end of the learner's quiet hours.

Set-based: three queries whatever the number of nudges, and nudges of one batch count against
each other (the second of two nudges for one learner meets the gap the first one leaves).
Senders hold :func:`policy_lock` on the learners while they judge and send, so two senders to
one learner (two different nudges) judge one after the other, the second seeing the first's.
"""

import difflib
import hashlib
import re
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db import connection
from django.utils.translation import gettext_lazy

from learners.contracts import LearnerContact, learner_contacts
from nudges.models import Channel, ContactOptOut, Nudge, NudgeStatus

#: Normalised texts at least this similar (difflib ratio) are the same message.
DUPLICATE_SIMILARITY = 0.9
WEEK = timedelta(days=7)


class Rule(StrEnum):
    FINISHED = "finished"
    OPTED_OUT = "opted_out"
    CATEGORY_OPT_OUT = "category_opt_out"
    NO_ADDRESS = "no_address"
    WEEKLY_LIMIT = "weekly_limit"
    MIN_GAP = "min_gap"
    DUPLICATE = "duplicate"
    QUIET_HOURS = "quiet_hours"


#: Each rule as the pages say it: what held the nudge back.
RULE_WORDS = {
    Rule.FINISHED: gettext_lazy("the learner has finished their course"),
    Rule.OPTED_OUT: gettext_lazy("the learner opted out of nudges"),
    Rule.CATEGORY_OPT_OUT: gettext_lazy("the learner opted out of this kind of nudge"),
    Rule.NO_ADDRESS: gettext_lazy("the learner has no address for this channel"),
    Rule.WEEKLY_LIMIT: gettext_lazy("the learner had as many nudges as a week allows"),
    Rule.MIN_GAP: gettext_lazy("the learner was nudged too recently (the minimum gap)"),
    Rule.DUPLICATE: gettext_lazy("the learner recently got a message almost the same"),
    Rule.QUIET_HOURS: gettext_lazy("it is the learner's quiet hours"),
}


def rule_text(rule: str) -> str:
    """A rule in words; a code no rule has (an older one) as it is."""
    try:
        return str(RULE_WORDS[Rule(rule)])
    except ValueError:
        return rule


@dataclass(frozen=True, slots=True)
class Decision:
    """What the policy says of one nudge: ``rule`` empty and ``send_at`` empty: send now;
    ``rule`` ``quiet_hours``: send at ``send_at``; any other rule: suppressed by it."""

    rule: str = ""
    send_at: datetime | None = None

    @property
    def suppressed(self) -> bool:
        return bool(self.rule) and self.rule != Rule.QUIET_HOURS

    @property
    def deferred(self) -> bool:
        return self.rule == Rule.QUIET_HOURS


SEND_NOW = Decision()


@dataclass(frozen=True, slots=True)
class _Sent:
    at: datetime
    text: str


def normalised_text(subject: str, body: str) -> str:
    """Lower case letters and digits separated by single spaces: what two messages are
    compared on (punctuation, case and spacing make no new message)."""
    return " ".join(re.findall(r"\w+", f"{subject} {body}".lower()))


def is_near_duplicate(text: str, other: str) -> bool:
    matcher = difflib.SequenceMatcher(None, text, other, autojunk=False)
    return matcher.real_quick_ratio() >= DUPLICATE_SIMILARITY and (
        matcher.ratio() >= DUPLICATE_SIMILARITY
    )


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def quiet_hours_end(*, now: datetime, zone_name: str) -> datetime | None:
    """When the learner's quiet hours (``NUDGE_QUIET_HOURS_START`` to ``_END`` o'clock, their
    local time) end, in UTC, if ``now`` falls inside them; ``None`` outside them.

    The end is the first instant the learner's clock reads the end hour, found with the zone's
    rules for that date: correct on the days clocks change (a missing hour is skipped, a
    repeated one is taken the first time).
    """
    start, end = settings.NUDGE_QUIET_HOURS_START, settings.NUDGE_QUIET_HOURS_END
    if start == end:
        return None
    zone = _zone(zone_name)
    local = now.astimezone(zone)
    hour = local.hour
    quiet = (start <= hour < end) if start < end else (hour >= start or hour < end)
    if not quiet:
        return None
    day = local.date()
    if hour >= end:  # evening: the quiet hours end tomorrow morning
        day += timedelta(days=1)
    wall = datetime.combine(day, time(end), tzinfo=zone)
    # A wall time in a gap (clocks jumping over it) maps past the gap once normalised.
    return wall.astimezone(UTC)


def _lock_key(learner_id: uuid.UUID) -> int:
    """A learner's advisory lock key: 64 bits of a hash personalised to this lock, so that no
    other lock of the database (another app's, a v7 id's time bits) shares it by accident."""
    digest = hashlib.blake2b(learner_id.bytes, digest_size=8, person=b"nudges.policy").digest()
    return int.from_bytes(digest, "big", signed=True)


def policy_lock(learner_ids: Iterable[uuid.UUID]) -> None:
    """Hold each learner's policy lock until the current transaction ends: a second sender to
    any of them waits here, then reads the history the first one committed.

    PostgreSQL transaction-level advisory locks, in one query, taken in key order so that two
    batches never wait on each other in a circle; other writers of the learner rows (ingestion,
    scoring) are not held up. Nothing on SQLite (the embedded, single-process default), where
    ``select_for_update`` is a no-op as well.
    """
    keys = sorted({_lock_key(learner_id) for learner_id in learner_ids})
    if not keys or connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        # unnest yields the sorted array in order, and each row's lock is taken as it is read.
        cursor.execute("SELECT pg_advisory_xact_lock(key) FROM unnest(%s::bigint[]) AS key", [keys])


def _history(learner_ids: set[uuid.UUID], *, now: datetime) -> dict[uuid.UUID, list[_Sent]]:
    """Nudges sent to these learners within the longest window any rule looks back over."""
    window = max(
        WEEK,
        timedelta(hours=settings.NUDGE_MIN_GAP_HOURS),
        timedelta(days=settings.NUDGE_DUPLICATE_DAYS),
    )
    sent: dict[uuid.UUID, list[_Sent]] = defaultdict(list)
    rows = Nudge.objects.filter(
        learner_id__in=learner_ids, status=NudgeStatus.SENT, sent_at__gte=now - window
    ).only("learner_id", "sent_at", "subject", "body")
    for row in rows:
        if row.sent_at is not None:
            sent[row.learner_id].append(_Sent(row.sent_at, normalised_text(row.subject, row.body)))
    return sent


def _decide(
    nudge: Nudge,
    contact: LearnerContact | None,
    opted_out: set[tuple[uuid.UUID, str]],
    history: list[_Sent],
    now: datetime,
) -> Decision:
    if contact is None or not contact.studying:
        return Decision(Rule.FINISHED)
    if contact.nudge_opt_out:
        return Decision(Rule.OPTED_OUT)
    if (nudge.learner_id, nudge.category) in opted_out:
        return Decision(Rule.CATEGORY_OPT_OUT)
    if nudge.channel == Channel.EMAIL and not contact.email:
        return Decision(Rule.NO_ADDRESS)
    if sum(1 for sent in history if sent.at > now - WEEK) >= settings.NUDGE_MAX_PER_WEEK:
        return Decision(Rule.WEEKLY_LIMIT)
    gap = timedelta(hours=settings.NUDGE_MIN_GAP_HOURS)
    if any(sent.at > now - gap for sent in history):
        return Decision(Rule.MIN_GAP)
    text = normalised_text(nudge.subject, nudge.body)
    since = now - timedelta(days=settings.NUDGE_DUPLICATE_DAYS)
    if any(sent.at > since and is_near_duplicate(text, sent.text) for sent in history):
        return Decision(Rule.DUPLICATE)
    send_at = quiet_hours_end(now=now, zone_name=contact.timezone)
    if send_at is not None:
        return Decision(Rule.QUIET_HOURS, send_at)
    return SEND_NOW


def policy_decide(nudges: Sequence[Nudge], *, now: datetime) -> dict[uuid.UUID, Decision]:
    """The decision for each nudge (by id) if it were sent at ``now``, in three queries.

    Nudges are judged in the order given; one the policy lets through now counts against the
    same learner's next ones, as if it had been sent.
    """
    learner_ids = {nudge.learner_id for nudge in nudges}
    contacts = learner_contacts(learner_ids)
    opted_out = set(
        ContactOptOut.objects.filter(learner_id__in=learner_ids).values_list(
            "learner_id", "category"
        )
    )
    history = _history(learner_ids, now=now)
    decisions: dict[uuid.UUID, Decision] = {}
    for nudge in nudges:
        learner_history = history[nudge.learner_id]
        decision = _decide(nudge, contacts.get(nudge.learner_id), opted_out, learner_history, now)
        decisions[nudge.pk] = decision
        if decision == SEND_NOW:
            learner_history.append(_Sent(now, normalised_text(nudge.subject, nudge.body)))
    return decisions
