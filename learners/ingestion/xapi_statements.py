"""Storing xAPI statements: resolve each actor to a learner, then store the batch all or nothing.

The xAPI door differs from ``events_ingest`` in two ways the protocol demands: a batch with any
bad statement is refused whole (each bad statement reported by its index), and a statement id may
only ever stand for one statement, so a re-send must match it (by xAPI's comparison rules, see
:mod:`learners.ingestion.xapi_comparison`) or it is a conflict.
"""

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from engagement.crypto import keyed_hash
from engagement.errors import Conflict, ValidationFailed
from engagement.wording import counted
from learners.ingestion.validation import Errors
from learners.ingestion.xapi import (
    XAPI_SOURCE,
    Actor,
    XapiStatement,
    parse_statement,
    parse_statement_id,
)
from learners.models import ActivityEvent, Learner
from learners.monitoring import ingestion_count
from learners.services import events_store, ingest_limit

Parsed = list[tuple[int, XapiStatement]]


def statements_in_body(data: Any) -> list[Any]:
    """The statements of a POST body: one statement (an object) or an array of them."""
    if isinstance(data, dict):
        return [data]
    if isinstance(data, list):
        return data
    raise ValidationFailed(
        detail={"non_field_errors": ["Expected a statement or an array of statements."]}
    )


def xapi_statements_ingest(
    *, statements: Sequence[Any], statement_id: str | None = None, now: datetime | None = None
) -> list[str]:
    """Validate and store statements as activity events; returns their ids, in order.

    ``statement_id`` is the ``statementId`` of a PUT, which carries exactly one statement. Raises
    ``ValidationFailed`` (nothing stored) when any statement is invalid or names an unknown
    learner, and ``Conflict`` when an id is already stored for a different statement. Sending a
    stored statement again changes nothing.
    """
    now = now or timezone.now()
    canonical_id = _check_request(statements, statement_id)
    parsed, rejected = _parse_batch(statements, statement_id=canonical_id, now=now)
    _reject_reused_ids(parsed, rejected)
    learner_ids = _resolve_actors(parsed, rejected)
    if rejected:
        ingestion_count("xapi", rejected=len(rejected))
        rows = [{"index": index, "errors": rejected[index]} for index in sorted(rejected)]
        raise ValidationFailed(detail={"rejected": rows})
    records = [(index, statement.for_learner(learner_ids[index])) for index, statement in parsed]
    with transaction.atomic():
        report = events_store(records=records)
        # Checked after the insert, in the same transaction, so that a concurrent writer (of the
        # same id, or deleting a learner) cannot slip in between; raising rolls it all back.
        if report.rejected:
            ingestion_count("xapi", rejected=len(report.rejected))
            raise ValidationFailed(detail={"rejected": report.rejected})
        _refuse_conflicts(parsed)
    ingestion_count("xapi", accepted=report.accepted, duplicates=report.duplicates)
    return [statement.id for _, statement in parsed]


def _check_request(statements: Sequence[Any], statement_id: str | None) -> str | None:
    """Refuse empty or oversized batches and a bad ``statementId``; returns it canonical."""
    limit = ingest_limit()
    if not statements:
        raise ValidationFailed(detail={"non_field_errors": ["Send at least one statement."]})
    if len(statements) > limit:
        raise ValidationFailed(
            detail={
                "non_field_errors": [
                    f"At most {counted(limit, 'statement')} per request; this one has {len(statements)}."
                ]
            }
        )
    if statement_id is None:
        return None
    if len(statements) != 1:
        raise ValidationFailed(detail={"non_field_errors": ["PUT stores exactly one statement."]})
    if not statement_id.strip():
        raise ValidationFailed(detail={"statementId": ["Required: the statement's UUID."]})
    try:
        return parse_statement_id(statement_id)
    except ValueError as exc:
        raise ValidationFailed(detail={"statementId": [str(exc)]}) from exc


def _parse_batch(
    statements: Sequence[Any], *, statement_id: str | None, now: datetime
) -> tuple[Parsed, dict[int, Errors]]:
    parsed: Parsed = []
    rejected: dict[int, Errors] = {}
    for index, item in enumerate(statements):
        statement, errors = parse_statement(item, now=now, statement_id=statement_id)
        if statement is None:
            rejected[index] = errors
        else:
            parsed.append((index, statement))
    return parsed, rejected


def _add_error(rejected: dict[int, Errors], index: int, field: str, message: str) -> None:
    rejected.setdefault(index, {}).setdefault(field, []).append(message)


def _reject_reused_ids(parsed: Parsed, rejected: dict[int, Errors]) -> None:
    """An id may appear once per batch (xAPI: such a batch is a 400), even for an exact repeat."""
    first: dict[str, int] = {}
    for index, statement in parsed:
        earlier = first.setdefault(statement.id, index)
        if earlier != index:
            _add_error(
                rejected,
                index,
                "id",
                f"Statement id '{statement.id}' appears more than once in this batch (first at "
                f"index {earlier}); send each statement once.",
            )


def _resolve_actors(parsed: Parsed, rejected: dict[int, Errors]) -> dict[int, uuid.UUID]:
    """Each statement's learner id, in at most two queries; unresolved actors go to ``rejected``."""
    actors = [statement.actor for _, statement in parsed]
    by_account = _learners_by_account([actor for actor in actors if actor.account_name])
    by_email = _learners_by_email({actor.email for actor in actors if actor.email})
    found: dict[int, uuid.UUID] = {}
    for index, statement in parsed:
        actor = statement.actor
        if actor.account_name:
            learner_id, problem = _account_learner(actor, by_account)
        else:
            learner_id, problem = _email_learner(actor, by_email)
        if learner_id is None:
            _add_error(rejected, index, "actor", problem)
        else:
            found[index] = learner_id
    return found


def _account_learner(
    actor: Actor, by_account: dict[tuple[str, str], uuid.UUID]
) -> tuple[uuid.UUID | None, str]:
    """The learner under the account's home page as source, failing that under its host."""
    for source in actor.sources:
        learner_id = by_account.get((source, actor.account_name))
        if learner_id is not None:
            return learner_id, ""
    sources = " or ".join(f"'{source}'" for source in actor.sources)
    return None, f"No learner with external id '{actor.account_name}' and source {sources}."


def _email_learner(
    actor: Actor, by_email: dict[str, list[uuid.UUID]]
) -> tuple[uuid.UUID | None, str]:
    """The one learner with this address; none, or several, cannot be told apart."""
    matches = by_email.get(actor.email, [])
    if len(matches) == 1:
        return matches[0], ""
    # The address is personal data: the caller knows it, so the message need not repeat it.
    if not matches:
        return None, "No learner has the mbox's email address."
    return (
        None,
        f"{counted(len(matches), 'learner')} share the mbox's email address; use an account.",
    )


def _learners_by_account(actors: Iterable[Actor]) -> dict[tuple[str, str], uuid.UUID]:
    """Learners keyed by ``(source, external_id)`` for every source an account may live under."""
    accounts = list(actors)
    if not accounts:
        return {}
    rows = Learner.objects.filter(
        external_id__in={actor.account_name for actor in accounts},
        source__in={source for actor in accounts for source in actor.sources},
    ).values_list("source", "external_id", "id")
    return {(source, external_id): learner_id for source, external_id, learner_id in rows}


def _learners_by_email(emails: set[str]) -> dict[str, list[uuid.UUID]]:
    """Learner ids per lower-cased email address; more than one id means the address is shared."""
    if not emails:
        return {}
    by_hash = {keyed_hash(email): email for email in emails}
    found: dict[str, list[uuid.UUID]] = {}
    rows = Learner.objects.filter(email_hash__in=by_hash).values_list("email_hash", "id")
    for email_hash, learner_id in rows:
        found.setdefault(by_hash[email_hash], []).append(learner_id)
    return found


def _refuse_conflicts(parsed: Parsed) -> None:
    """Raise ``Conflict`` if any of these ids is stored for a statement that does not match.

    A hash stored before comparison followed xAPI matches the statement's legacy digest.
    """
    digests = {statement.id: {statement.digest, statement.legacy_digest} for _, statement in parsed}
    stored = ActivityEvent.objects.filter(
        source=XAPI_SOURCE, source_event_id__in=digests
    ).values_list("source_event_id", "metadata__xapi__hash")
    clashes = sorted(
        event_id for event_id, stored_digest in stored if stored_digest not in digests[event_id]
    )
    if clashes:
        raise Conflict(
            detail={
                "detail": "These statement ids are already stored for different statements.",
                "ids": clashes,
            }
        )
