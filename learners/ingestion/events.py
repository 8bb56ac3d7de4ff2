"""Validation and normalisation of incoming activity events, for the API, xAPI and CSV doors.

Pure functions: no database access. A raw item (a JSON object or a CSV row) becomes an
:class:`EventRecord` or a DRF-style ``{"field": ["why"]}`` mapping of the reasons it was refused.
Hand-written rather than a DRF serializer per item because batches of 5,000 must validate fast.
"""

import json
import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engagement.input_bounds import MAX_INTEGER, check_json, text_problem
from engagement.wording import counted
from learners.ingestion.validation import Errors, parse_timestamp
from learners.models import EventKind

EVENT_KINDS = frozenset(EventKind.values)
MAX_SOURCE_LENGTH = 64
MAX_ID_LENGTH = 128
#: Stored in a PositiveIntegerField; anything longer cannot be a real activity anyway.
MAX_DURATION_SECONDS = MAX_INTEGER
#: Metadata is kept as it comes, so it is bounded: nesting, and size as compact JSON.
MAX_METADATA_DEPTH = 10
MAX_METADATA_BYTES = 16_384


@dataclass(frozen=True, slots=True)
class LearnerRef:
    """A learner named either by primary key or by ``(source, external_id)``."""

    learner_id: uuid.UUID | None = None
    source: str = ""
    external_id: str = ""


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One valid event, ready to be stored once its learner is resolved."""

    learner: LearnerRef
    kind: str
    occurred_at: datetime
    source: str
    source_event_id: str
    duration_seconds: int | None = None
    score: float | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _parse_identifier(value: Any, *, name: str) -> str:
    if _blank(value) or not isinstance(value, str | int):
        raise ValueError(f"A non-empty {name} is required.")
    text = str(value).strip()
    problem = text_problem(text)
    if problem:
        raise ValueError(f"{name} {problem}.")
    limit = MAX_SOURCE_LENGTH if name == "source" else MAX_ID_LENGTH
    if len(text) > limit:
        raise ValueError(f"At most {counted(limit, 'character')}.")
    return text


def _finite_number(value: Any, message: str) -> float | None:
    """A JSON number or numeric CSV text as a float; blank is ``None``; anything else refused."""
    if _blank(value):
        return None
    try:
        number = float(value) if isinstance(value, str) else value
    except ValueError as exc:
        raise ValueError(message) from exc
    if isinstance(number, bool) or not isinstance(number, int | float):
        raise ValueError(message)
    try:
        finite = math.isfinite(number)
    except OverflowError as exc:  # an integer too large for a float
        raise ValueError(message) from exc
    if not finite:
        raise ValueError(message)
    return float(number)


def _parse_duration(value: Any) -> int | None:
    number = _finite_number(value, "Must be a whole number of seconds.")
    if number is not None and (number < 0 or number != int(number)):
        raise ValueError("Must be a whole, non-negative number of seconds.")
    if number is not None and number > MAX_DURATION_SECONDS:
        raise ValueError(f"At most {MAX_DURATION_SECONDS} seconds.")
    return None if number is None else int(number)


def _parse_score(value: Any) -> float | None:
    number = _finite_number(value, "Must be a number between 0 and 1.")
    if number is not None and not 0 <= number <= 1:
        raise ValueError("Must be a number between 0 and 1.")
    return number


def _parse_metadata(value: Any) -> dict[str, Any]:
    """A JSON object storable as it comes: bounded in depth and size, valid text throughout."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError("Must be a JSON object.")
    if not _flat_and_valid(value):  # the usual flat object needs no walk with paths
        check_json(value, name="metadata", max_depth=MAX_METADATA_DEPTH)
    if len(json.dumps(value, separators=(",", ":"))) > MAX_METADATA_BYTES:
        raise ValueError(f"At most {MAX_METADATA_BYTES} bytes as compact JSON.")
    return value


def _flat_and_valid(value: dict[str, Any]) -> bool:
    """Whether ``check_json`` would certainly pass ``value``: one level of valid text keys and
    scalar values (valid text, finite numbers, booleans, null). False means "walk it": the walk
    decides, and words any refusal."""
    for key, child in value.items():
        if not isinstance(key, str) or text_problem(key) or isinstance(child, dict | list):
            return False
        if isinstance(child, str):
            if text_problem(child):
                return False
        elif isinstance(child, float) and not math.isfinite(child):
            return False
    return True


def _parse_learner(item: Mapping[str, Any], source: str | None) -> LearnerRef:
    learner_id = item.get("learner_id")
    if not _blank(learner_id):
        try:
            return LearnerRef(learner_id=uuid.UUID(str(learner_id)))
        except ValueError as exc:
            raise ValueError(f"'{learner_id}' is not a valid learner id.") from exc
    external_id = item.get("learner_external_id")
    if _blank(external_id):
        raise ValueError("Give learner_id, or learner_external_id with source.")
    learner_source = item.get("learner_source") or source
    if not learner_source:
        raise ValueError("learner_external_id needs a source (or learner_source).")
    return LearnerRef(
        source=_parse_identifier(learner_source, name="source"),
        external_id=_parse_identifier(external_id, name="learner_external_id"),
    )


def parse_event(item: Any, *, now: datetime) -> tuple[EventRecord | None, Errors]:
    """Validate one raw event; returns the record, or ``None`` with every reason it failed."""
    if not isinstance(item, Mapping):
        return None, {"non_field_errors": ["Each event must be a JSON object."]}
    errors: Errors = {}
    values: dict[str, Any] = {}

    def check(field_name: str, parse: Any, *args: Any, **kwargs: Any) -> None:
        try:
            values[field_name] = parse(*args, **kwargs)
        except ValueError as exc:
            errors.setdefault(field_name, []).append(str(exc))

    check("source", _parse_identifier, item.get("source"), name="source")
    check("source_event_id", _parse_identifier, item.get("source_event_id"), name="source_event_id")
    check("learner", _parse_learner, item, values.get("source"))
    check("occurred_at", parse_timestamp, item.get("occurred_at"), now=now)
    check("duration_seconds", _parse_duration, item.get("duration_seconds"))
    check("score", _parse_score, item.get("score"))
    kind = str(item.get("kind"))
    if kind not in EVENT_KINDS:
        errors["kind"] = [f"'{kind}' is not one of: {', '.join(sorted(EVENT_KINDS))}."]
    check("metadata", _parse_metadata, item.get("metadata"))
    if errors:
        return None, errors
    return EventRecord(kind=kind, **values), {}
