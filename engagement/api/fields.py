"""Serializer fields that apply the platform's input bounds (see ``engagement.input_bounds``)."""

from datetime import date, datetime
from typing import Any

from rest_framework import serializers

from engagement.input_bounds import DATETIME_RANGE, check_date, check_datetime


def _with_range(help_text: str | None, what: str) -> str:
    return " ".join(filter(None, [help_text, f"{what}, {DATETIME_RANGE}."]))


class BoundedDateTimeField(serializers.DateTimeField):
    """An ISO 8601 date-time between 1970 and 2099 (UTC): no overflow, no absurd years."""

    default_error_messages = {"overflow": f"Must lie {DATETIME_RANGE}."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs["help_text"] = _with_range(kwargs.get("help_text"), "ISO 8601")
        super().__init__(**kwargs)

    def to_internal_value(self, value: Any) -> datetime:
        parsed = super().to_internal_value(value)
        try:
            check_datetime(parsed)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from exc
        return parsed


class BoundedDateField(serializers.DateField):
    """An ISO 8601 date between 1970 and 2099."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["help_text"] = _with_range(kwargs.get("help_text"), "ISO 8601 date")
        super().__init__(**kwargs)

    def to_internal_value(self, value: Any) -> date:
        parsed = super().to_internal_value(value)
        try:
            return check_date(parsed)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from exc
