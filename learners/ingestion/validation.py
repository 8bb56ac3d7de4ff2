"""Validation shared by the doors that bring learners and activity in (API, CSV, xAPI).

Pure functions, no database access: a value becomes its stored form or a ``ValueError`` whose
message is the reason shown to the sender; a row becomes values or a DRF-style
``{"field": ["why"]}`` mapping (``Errors``). One rule per field wherever the field comes in: the
learners API's serializer and the CSV import both take an email through ``email_normalise``.
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError

from engagement.input_bounds import FUTURE_TOLERANCE, check_text, parse_datetime
from engagement.wording import counted
from learners.models import (
    INVALID_EMAIL,
    LearnerStatus,
    learner_dates_problems,
    validate_learner_email,
)

Errors = dict[str, list[str]]


def parse_timestamp(value: Any, *, now: datetime) -> datetime:
    """ISO 8601 to an aware UTC datetime within the platform's bounds, not in the future.

    A value without offset is taken as UTC.
    """
    parsed = parse_datetime(value)
    if parsed > now + FUTURE_TOLERANCE:
        raise ValueError("Lies in the future.")
    return parsed


def email_normalise(value: str) -> str:
    """A learner's email as stored: trimmed and lower-cased; blank means none.

    Valid is what Django's ``EmailValidator`` accepts (the API's rule from the start): a
    dot-atom or quoted local part, a domain with a dot (IDN allowed) or an address literal, at
    most 320 characters. NUL characters and unpaired surrogates never pass it.
    """
    text = value.strip()
    if not text:
        return ""
    try:
        validate_learner_email(text)
    except ValidationError as exc:
        raise ValueError(INVALID_EMAIL) from exc
    return text.lower()


def learner_row(row: Mapping[str, str], *, now: datetime) -> tuple[dict[str, Any] | None, Errors]:
    """One learner row of a CSV import: its values ready to upsert, or every reason it failed."""
    errors: Errors = {}
    values: dict[str, Any] = {}
    for name, limit in (("external_id", 128), ("source", 64), ("cohort", 200)):
        text = (row.get(name) or "").strip()
        if not text or len(text) > limit:
            errors[name] = [f"Required, at most {counted(limit, 'character')}."]
        values[name] = text
    values["name"] = (row.get("name") or "").strip()[:200]
    try:
        values["email"] = email_normalise(row.get("email") or "")
    except ValueError as exc:
        errors["email"] = [str(exc)]
    for name in ("external_id", "source", "cohort", "name"):
        try:
            check_text(values[name])
        except ValueError as exc:
            errors[name] = [str(exc)]
    status = (row.get("status") or LearnerStatus.ACTIVE).strip()
    if status not in LearnerStatus.values:
        errors["status"] = [f"'{status}' is not one of: {', '.join(LearnerStatus.values)}."]
    values["status"] = status
    try:
        values["enrolled_at"] = parse_timestamp(row.get("enrolled_at"), now=now)
    except ValueError as exc:
        errors["enrolled_at"] = [str(exc)]
    finished = (row.get("finished_at") or "").strip()
    try:
        values["finished_at"] = parse_timestamp(finished, now=now) if finished else None
    except ValueError as exc:
        errors["finished_at"] = [str(exc)]
    if not errors:
        errors = learner_dates_problems(
            status=status,
            enrolled_at=values["enrolled_at"],
            finished_at=values["finished_at"],
            now=now,
        )
    return (None, errors) if errors else (values, {})
