"""xAPI 1.0.3 statements to activity events: the verb table and the pure validation of a statement.

No database access here. A statement becomes an :class:`XapiStatement` (the event record, who the
actor is, the statement's id and content hash) or a DRF-style ``{"field": ["why"]}`` mapping. Which
learner the actor is gets decided in :mod:`learners.ingestion.xapi_statements`, because that needs the database.
"""

import math
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from engagement.input_bounds import check_json
from engagement.wording import counted
from learners.ingestion.events import MAX_DURATION_SECONDS, EventRecord, LearnerRef
from learners.ingestion.validation import Errors, parse_timestamp
from learners.ingestion.xapi_comparison import legacy_statement_digest, statement_digest
from learners.models import EventKind

XAPI_SOURCE = "xapi"
XAPI_VERSION = "1.0.3"

ADL = "http://adlnet.gov/expapi/verbs/"
VIDEO = "https://w3id.org/xapi/video/verbs/"
ACTIVITY_STREAMS = "http://activitystrea.ms/schema/1.0/"

#: Which of our event kinds each verb IRI counts as. Any other verb (feeds mix hundreds) is stored
#: as ``EventKind.OTHER``, which counts as presence but feeds no kind-specific risk feature; its
#: IRI stays in the event's metadata, so adding it here later can reclassify what was stored.
VERB_KINDS: dict[str, str] = {
    # The learner turned up: a session started or picked up again.
    f"{ADL}launched": EventKind.LOGIN,
    f"{ADL}initialized": EventKind.LOGIN,
    f"{ADL}logged-in": EventKind.LOGIN,
    f"{ADL}resumed": EventKind.LOGIN,
    # The learner went through some content without finishing anything.
    f"{ADL}experienced": EventKind.CONTENT_VIEW,
    f"{ADL}interacted": EventKind.CONTENT_VIEW,
    f"{ADL}progressed": EventKind.CONTENT_VIEW,
    f"{ADL}completed": EventKind.LESSON_COMPLETED,
    # Assessments: starting, answering, and the verdict.
    f"{ADL}attempted": EventKind.ASSESSMENT_STARTED,
    f"{ADL}answered": EventKind.ASSESSMENT_SUBMITTED,
    f"{ADL}scored": EventKind.ASSESSMENT_SUBMITTED,
    f"{ADL}passed": EventKind.ASSESSMENT_PASSED,
    f"{ADL}failed": EventKind.ASSESSMENT_FAILED,
    # Contributions to the course community; sharing counts as a social act like posting.
    f"{ADL}commented": EventKind.FORUM_POST,
    f"{ADL}asked": EventKind.FORUM_POST,
    f"{ADL}responded": EventKind.FORUM_POST,
    f"{ADL}shared": EventKind.FORUM_POST,
    # Video: the xAPI Video Profile's verb and the older Activity Streams one.
    f"{VIDEO}played": EventKind.VIDEO_WATCHED,
    f"{ACTIVITY_STREAMS}watch": EventKind.VIDEO_WATCHED,
}

# Calendar units have no fixed length; these conventional lengths are documented in docs/xapi.md.
DURATION_UNIT_SECONDS = {
    "Y": 365 * 86400,
    "MO": 30 * 86400,
    "W": 7 * 86400,
    "D": 86400,
    "H": 3600,
    "MI": 60,
    "S": 1,
}
_NUMBER = r"(\d+(?:[.,]\d+)?)"
DURATION_PATTERN = re.compile(
    rf"P(?:{_NUMBER}Y)?(?:{_NUMBER}M)?(?:{_NUMBER}W)?(?:{_NUMBER}D)?"
    rf"(?:T(?:{_NUMBER}H)?(?:{_NUMBER}M)?(?:{_NUMBER}S)?)?"
)
VERSION_PATTERN = re.compile(r"1\.0(?:\.\d+)?")
# An absolute IRI (RFC 3987): a scheme, a colon, then no spaces, controls or characters IRIs exclude.
IRI_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|\\^`\x00-\x1f\x7f]+")
# xAPI's inverse functional identifiers: an Agent carries exactly one.
AGENT_IDENTIFIERS = ("account", "mbox", "mbox_sha1sum", "openid")


@dataclass(frozen=True, slots=True)
class Actor:
    """The agent a statement names: an LMS account (home page + name) or an email address."""

    home_page: str = ""
    account_name: str = ""
    email: str = ""
    #: Learner ``source`` values that may hold the account: the home page, then its host.
    sources: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class XapiStatement:
    """A valid statement. ``record.learner`` is provisional until the actor has been resolved.

    ``digest`` identifies the statement as xAPI compares statements; ``legacy_digest`` is what was
    stored for it before (see :mod:`learners.ingestion.xapi_comparison`).
    """

    id: str
    actor: Actor
    digest: str
    legacy_digest: str
    record: EventRecord

    def for_learner(self, learner_id: uuid.UUID) -> EventRecord:
        return replace(self.record, learner=LearnerRef(learner_id=learner_id))


def version_supported(value: str | None) -> bool:
    """Whether an ``X-Experience-API-Version`` value (or a statement's ``version``) is 1.0.x."""
    return bool(value) and VERSION_PATTERN.fullmatch(str(value).strip()) is not None


def parse_statement_id(value: Any) -> str:
    """A statement id in canonical form (lower-case, hyphenated), so that re-sends compare equal."""
    if not isinstance(value, str):
        raise ValueError("Must be a UUID string.")
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError as exc:
        raise ValueError(f"'{value}' is not a UUID.") from exc


def parse_duration(value: Any) -> int | None:
    """An ISO 8601 duration (``PT1H2M3.5S``, ``P1DT2H``) in whole seconds, rounded half up."""
    if value is None:
        return None
    match = DURATION_PATTERN.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None or not any(match.groups()) or value.strip().endswith("T"):
        raise ValueError(f"'{value}' is not an ISO 8601 duration such as PT1H2M3.5S.")
    total = sum(
        Decimal(number.replace(",", ".")) * DURATION_UNIT_SECONDS[unit]
        for number, unit in zip(match.groups(), DURATION_UNIT_SECONDS, strict=True)
        if number is not None
    )
    seconds = int(total + Decimal("0.5"))
    if seconds > MAX_DURATION_SECONDS:
        raise ValueError(f"Longer than {counted(MAX_DURATION_SECONDS, 'second')}.")
    return seconds


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number.")
    try:
        number = float(value)
    except OverflowError as exc:
        raise ValueError(f"{name} is out of range.") from exc
    if not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number.")
    return number


def parse_score(score: Any) -> float | None:
    """``result.score`` as 0..1: ``scaled`` (negative counts as 0), else ``(raw-min)/(max-min)``.

    xAPI scales scores to -1..1, but our scores are 0..1 and a negative result is, for engagement,
    simply a zero. Without ``scaled`` and without all of raw, min and max there is no score.
    """
    if score is None:
        return None
    if not isinstance(score, Mapping):
        raise ValueError("Must be a JSON object.")
    if score.get("scaled") is not None:
        scaled = _number(score["scaled"], "scaled")
        if not -1 <= scaled <= 1:
            raise ValueError("scaled must be between -1 and 1.")
        return max(scaled, 0.0)
    if any(score.get(key) is None for key in ("raw", "min", "max")):
        return None
    raw, low, high = (_number(score[key], key) for key in ("raw", "min", "max"))
    if not low < high:
        raise ValueError("min must be less than max.")
    if not low <= raw <= high:
        raise ValueError("raw must lie between min and max.")
    scaled = (raw - low) / (high - low)
    if not math.isfinite(scaled):
        raise ValueError("raw, min and max are out of range.")
    return scaled


def _text(value: Any, name: str) -> str:
    """A non-empty string, trimmed (its characters are checked with the whole statement's)."""
    return _iri_text(value, name).strip()


def _iri_text(value: Any, name: str) -> str:
    """A non-blank string kept exactly as sent: verb and activity ids are compared as strings,
    so a trimmed one would be stored as what the client never sent."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"A non-empty {name} string is required.")
    return value


def _parse_account(account: Any) -> Actor:
    if not isinstance(account, Mapping):
        raise ValueError("account must be a JSON object with homePage and name.")
    home_page = _text(account.get("homePage"), "account.homePage")
    try:
        host = urlsplit(home_page).hostname or ""
    except ValueError as exc:
        raise ValueError(f"account.homePage '{home_page}' is not a valid URL.") from exc
    return Actor(
        home_page=home_page,
        account_name=_text(account.get("name"), "account.name"),
        sources=tuple(dict.fromkeys(source for source in (home_page, host) if source)),
    )


def _parse_mbox(mbox: Any) -> Actor:
    address = mbox.strip() if isinstance(mbox, str) else ""
    if not address.lower().startswith("mailto:") or "@" not in address:
        raise ValueError("mbox must be a 'mailto:' IRI with an email address.")
    return Actor(email=address[len("mailto:") :].lower())


def parse_actor(actor: Any) -> Actor:
    """The actor as an :class:`Actor`; only single agents identified by account or mbox qualify."""
    if not isinstance(actor, Mapping):
        raise ValueError("Must be a JSON object (an Agent).")
    if actor.get("objectType", "Agent") != "Agent":
        raise ValueError("Must be an Agent: a group is not one learner.")
    identifiers = [key for key in AGENT_IDENTIFIERS if actor.get(key) is not None]
    if len(identifiers) != 1:
        raise ValueError(f"An Agent needs exactly one of: {', '.join(AGENT_IDENTIFIERS)}.")
    if identifiers == ["account"]:
        return _parse_account(actor["account"])
    if identifiers == ["mbox"]:
        return _parse_mbox(actor["mbox"])
    raise ValueError(f"{identifiers[0]} cannot be matched to a learner; use account or mbox.")


def parse_verb(verb: Any) -> tuple[str, str]:
    """The verb IRI and the event kind it maps to."""
    if not isinstance(verb, Mapping):
        raise ValueError("Must be a JSON object with an id.")
    verb_id = _iri_text(verb.get("id"), "verb id")
    if IRI_PATTERN.fullmatch(verb_id) is None:
        raise ValueError(
            f"'{verb_id}' is not an IRI: a verb id is absolute, such as {ADL}completed."
        )
    return verb_id, VERB_KINDS.get(verb_id, EventKind.OTHER)


def parse_object(target: Any) -> str | None:
    """The object's id, which activities and statement references must have."""
    if not isinstance(target, Mapping):
        raise ValueError("Must be a JSON object.")
    if target.get("objectType", "Activity") in {"Activity", "StatementRef"}:
        return _iri_text(target.get("id"), "object id")
    object_id = target.get("id")
    return None if object_id is None else _iri_text(object_id, "object id")


def _parse_version(value: Any) -> None:
    if value is not None and not version_supported(value if isinstance(value, str) else None):
        raise ValueError(f"'{value}' is not a 1.0.x xAPI version.")


class _Checker:
    """Runs field parsers, keeping each value and collecting every failure under its field name."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.errors: Errors = {}

    def __call__(self, name: str, parse: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        try:
            self.values[name] = parse(*args, **kwargs)
        except ValueError as exc:
            self.errors.setdefault(name, []).append(str(exc))


def _resolve_id(statement: Mapping[str, Any], statement_id: str | None) -> str:
    """The body's id, the one named by ``statementId`` (which it must equal), or a new uuid4."""
    body_id = statement.get("id")
    if body_id is None:
        return statement_id or str(uuid.uuid4())
    parsed = parse_statement_id(body_id)
    if statement_id is not None and parsed != statement_id:
        raise ValueError(f"Does not match statementId '{statement_id}'.")
    return parsed


def _check_result(check: _Checker, result: Any) -> None:
    if result is None:
        return
    if not isinstance(result, Mapping):
        check.errors["result"] = ["Must be a JSON object."]
        return
    check("result.duration", parse_duration, result.get("duration"))
    check("result.score", parse_score, result.get("score"))


def _occurred_at(value: Any, *, now: datetime) -> datetime:
    """The statement's timestamp, or the time we store it (as an LRS does) when it has none."""
    return now if value is None else parse_timestamp(value, now=now)


def _check_storable(check: _Checker, statement: Mapping[str, Any]) -> None:
    """Refuse, under each property's name, text that cannot be stored (NUL, lone surrogates).

    Parts of a statement are kept as JSON and its actor is looked up by keyed hashes, and
    PostgreSQL refuses NUL characters in JSON while unpaired surrogates cannot be encoded at all.
    """
    for key, value in statement.items():
        try:
            check_json(value, name=str(key))
        except ValueError as exc:
            check.errors.setdefault(str(key), []).append(str(exc))


def parse_statement(
    statement: Any, *, now: datetime, statement_id: str | None = None
) -> tuple[XapiStatement | None, Errors]:
    """Validate one statement; returns it, or ``None`` with every reason it was refused.

    ``statement_id`` is the canonical ``statementId`` of a PUT; the body's id must then match it.
    """
    if not isinstance(statement, Mapping):
        return None, {"non_field_errors": ["Each statement must be a JSON object."]}
    check = _Checker()
    check("id", _resolve_id, statement, statement_id)
    check("actor", parse_actor, statement.get("actor"))
    check("verb", parse_verb, statement.get("verb"))
    check("object", parse_object, statement.get("object"))
    check("timestamp", _occurred_at, statement.get("timestamp"), now=now)
    check("version", _parse_version, statement.get("version"))
    _check_result(check, statement.get("result"))
    _check_storable(check, statement)
    if check.errors:
        return None, check.errors
    return _build(statement, check.values), {}


def _build(statement: Mapping[str, Any], values: dict[str, Any]) -> XapiStatement:
    actor: Actor = values["actor"]
    verb_id, kind = values["verb"]
    digest = statement_digest(statement, values["id"])
    record = EventRecord(
        learner=LearnerRef(source=actor.home_page, external_id=actor.account_name),
        kind=kind,
        occurred_at=values["timestamp"],
        source=XAPI_SOURCE,
        source_event_id=values["id"],
        duration_seconds=values.get("result.duration"),
        score=values.get("result.score"),
        metadata={"xapi": {"verb": verb_id, "object": values["object"], "hash": digest}},
    )
    return XapiStatement(
        id=values["id"],
        actor=actor,
        digest=digest,
        legacy_digest=legacy_statement_digest(statement, values["id"]),
        record=record,
    )
