"""Serializer fields that apply the platform's input bounds (see ``engagement.input_bounds``)."""

from datetime import date, datetime
from typing import Any

from rest_framework import serializers

from engagement.input_bounds import (
    DATETIME_RANGE,
    check_date,
    check_datetime,
    parse_date,
    parse_datetime,
)


def _with_range(help_text: str | None, what: str) -> str:
    return " ".join(filter(None, [help_text, f"{what}, {DATETIME_RANGE}."]))


class BoundedDateTimeField(serializers.DateTimeField):
    """An ASCII ISO 8601 date-time between 1970 and 2099 (UTC without an offset).

    Text goes through the shared parser, so this door accepts exactly what the others do.
    """

    default_error_messages = {"overflow": f"Must lie {DATETIME_RANGE}."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs["help_text"] = _with_range(kwargs.get("help_text"), "ISO 8601")
        super().__init__(**kwargs)

    def to_internal_value(self, value: Any) -> datetime:
        try:
            if isinstance(value, datetime):
                return check_datetime(super().to_internal_value(value))
            return parse_datetime(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from exc


class BoundedDateField(serializers.DateField):
    """An ASCII ISO 8601 date (``YYYY-MM-DD``) between 1970 and 2099."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["help_text"] = _with_range(kwargs.get("help_text"), "ISO 8601 date")
        super().__init__(**kwargs)

    def to_internal_value(self, value: Any) -> date:
        try:
            if isinstance(value, date) and not isinstance(value, datetime):
                return check_date(value)
            return parse_date(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from exc


class TextField(serializers.CharField):
    """Free text written by a person (a name, a note): a JSON string only.

    DRF's ``CharField`` turns numbers into text, so ``1e309`` became the note "inf"; a number
    where a person writes text is a client error, not something to store.
    """

    default_error_messages = {"not_text": "Must be text (a JSON string), not a number or boolean."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("not_text")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """A JSON ``true`` or ``false`` only.

    DRF's ``BooleanField`` also reads "on", "yes", "1" and the like as true: for a switch with
    consequences (force an activation past its refusal) a malformed value must be refused, not
    guessed.
    """

    default_error_messages = {"not_boolean": "Must be a JSON boolean (true or false)."}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("not_boolean")
        return data
