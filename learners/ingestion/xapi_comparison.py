"""When two xAPI statements under one id are the same statement: xAPI 1.0.3's comparison rules.

The spec ("Statement Comparison Requirements", with the exceptions listed under "Statement
Immutability") ignores what an LRS sets or may rewrite and what is not part of a statement: the
``stored``, ``authority`` and ``version`` properties, attachments, a verb's ``display``, activity
``definition``\\ s, how a timestamp is written (only the instant counts), the order of a group's
members, and the case of properties that are case-insensitive. We also treat an ``objectType``
left out and the same default written out as equal. Everything else must match.

We keep only a SHA-256 of a statement's comparable form, so a re-sent statement is compared by
hash. Pure functions, no database.
"""

import hashlib
import json
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC
from typing import Any

from engagement.input_bounds import parse_iso_datetime

# Set by the LRS, or not part of the statement itself: never compared.
IGNORED_PROPERTIES = frozenset({"stored", "authority", "version", "attachments"})
# What the rule before xAPI's comparison requirements left out (see ``legacy_statement_digest``).
LEGACY_IGNORED_PROPERTIES = frozenset({"stored", "authority", "version"})


def statement_digest(statement: Mapping[str, Any], statement_id: str) -> str:
    """sha256 of the statement's comparable form: equal exactly when xAPI says they match."""
    return _sha256(comparable_statement(statement, statement_id))


def legacy_statement_digest(statement: Mapping[str, Any], statement_id: str) -> str:
    """The hash stored for statements received before the comparison followed xAPI (the raw
    statement without ``stored``, ``authority`` and ``version``), so their re-sends still match."""
    body = {key: value for key, value in statement.items() if key not in LEGACY_IGNORED_PROPERTIES}
    body["id"] = statement_id
    return _sha256(body)


def comparable_statement(statement: Mapping[str, Any], statement_id: str) -> dict[str, Any]:
    """The statement as compared: what the spec ignores removed or written one way only.

    Applying it again changes nothing, so a comparable form hashes like the statement it came from.
    """
    body = _comparable_core(statement)
    for key in IGNORED_PROPERTIES:
        body.pop(key, None)
    body["id"] = statement_id
    return body


def _sha256(body: Mapping[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _comparable_core(statement: Mapping[str, Any]) -> dict[str, Any]:
    """What a statement and a SubStatement share: actor, verb, object, context, timestamp."""
    body = dict(statement)
    _replace(body, "actor", _comparable_agent)
    _replace(body, "verb", _comparable_verb)
    _replace(body, "object", _comparable_object)
    _replace(body, "context", _comparable_context)
    _replace(body, "timestamp", _instant)
    return body


def _replace(body: dict[str, Any], key: str, transform: Callable[[Any], Any]) -> None:
    if key in body:
        body[key] = transform(body[key])


def _comparable_verb(value: Any) -> Any:
    """A verb is its id: ``display`` is not part of the statement."""
    if not isinstance(value, Mapping):
        return value
    return {key: item for key, item in value.items() if key != "display"}


def _comparable_activity(value: Any) -> Any:
    """An activity without its definition (not part of the statement) or default objectType."""
    if not isinstance(value, Mapping):
        return value
    return {
        key: item
        for key, item in value.items()
        if key != "definition" and (key, item) != ("objectType", "Activity")
    }


def _comparable_agent(value: Any, *, as_object: bool = False) -> Any:
    """An Agent or Group with its case-insensitive identifiers in lower case, members in order.

    ``objectType`` defaults to Agent, except for a statement's object (where it must be written).
    """
    if not isinstance(value, Mapping):
        return value
    agent = dict(value)
    if not as_object and agent.get("objectType") == "Agent":
        del agent["objectType"]
    _replace(agent, "mbox", _mbox)
    _replace(agent, "mbox_sha1sum", _lower)
    if isinstance(agent.get("member"), list):
        members = [_comparable_agent(member) for member in agent["member"]]
        agent["member"] = sorted(members, key=lambda member: json.dumps(member, sort_keys=True))
    return agent


def _comparable_object(value: Any) -> Any:
    if not isinstance(value, Mapping):
        return value
    object_type = value.get("objectType", "Activity")
    if object_type == "Activity":
        return _comparable_activity(value)
    if object_type in {"Agent", "Group"}:
        return _comparable_agent(value, as_object=True)
    if object_type == "SubStatement":
        return _comparable_core(value)
    return _comparable_reference(value)


def _comparable_reference(value: Any) -> Any:
    """A StatementRef: its id is a UUID, whose case does not matter."""
    if not isinstance(value, Mapping):
        return value
    reference = dict(value)
    _replace(reference, "id", _uuid)
    return reference


def _comparable_context(value: Any) -> Any:
    if not isinstance(value, Mapping):
        return value
    context = dict(value)
    _replace(context, "registration", _uuid)
    _replace(context, "instructor", _comparable_agent)
    _replace(context, "team", _comparable_agent)
    _replace(context, "statement", _comparable_reference)
    _replace(context, "language", _lower)
    _replace(context, "contextActivities", _comparable_context_activities)
    return context


def _comparable_context_activities(value: Any) -> Any:
    """Each list of context activities as an array (an LRS returns a single one as an array)."""
    if not isinstance(value, Mapping):
        return value
    return {
        key: [
            _comparable_activity(item) for item in (items if isinstance(items, list) else [items])
        ]
        for key, items in value.items()
    }


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _mbox(value: Any) -> Any:
    """``mailto:`` and an address's domain are case-insensitive; its local part is not."""
    if not isinstance(value, str):
        return value
    head, at, domain = value.rpartition("@")
    if not at:
        return value
    scheme, colon, local = head.partition(":")
    return f"{scheme.lower()}{colon}{local}@{domain.lower()}"


def _uuid(value: Any) -> Any:
    try:
        return str(uuid.UUID(value.strip()))
    except (AttributeError, ValueError):
        return value


def _instant(value: Any) -> Any:
    """An ISO 8601 time as its instant in UTC to the millisecond, the precision an LRS must keep
    (no offset means UTC); anything that is not such a time is compared as written."""
    if not isinstance(value, str):
        return value
    try:
        parsed = parse_iso_datetime(value)
        parsed = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return value
    return parsed.isoformat(timespec="milliseconds")
