"""Admin form fields that keep any stored row viewable and read input as every door does."""

import json
from datetime import date, time
from typing import Any

from django import forms
from django.db import models

from engagement.input_bounds import parse_date, parse_time, text_problem


class StoredJSONFormField(forms.JSONField):
    """Shows stored JSON, escaping what a page cannot carry (unpaired surrogates) as ``\\u`` codes.

    Input is refused such text now, but rows stored before must still open in the admin.
    """

    def prepare_value(self, value: Any) -> Any:
        text = super().prepare_value(value)
        if isinstance(value, forms.fields.InvalidJSONInput) or text_problem(text) is None:
            return text
        return json.dumps(value, ensure_ascii=True, cls=self.encoder)


class StrictDateFormField(forms.DateField):
    """A date typed in the admin, read by the parser every other door uses (ASCII ISO 8601)."""

    def to_python(self, value: Any) -> date | None:
        if value in self.empty_values:
            return None
        if isinstance(value, date):
            return value
        try:
            return parse_date(value)
        except ValueError as exc:
            raise forms.ValidationError(str(exc), code="invalid") from exc


class StrictTimeFormField(forms.TimeField):
    """The time half of an admin date-time, ASCII ISO 8601 like the date half."""

    def to_python(self, value: Any) -> time | None:
        if value in self.empty_values:
            return None
        if isinstance(value, time):
            return value
        try:
            return parse_time(value)
        except ValueError as exc:
            raise forms.ValidationError(str(exc), code="invalid") from exc


class StrictSplitDateTimeFormField(forms.SplitDateTimeField):
    """The admin's date and time inputs, each read strictly (Django's parsing takes any digits)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        date_field, time_field = self.fields
        self.fields = (
            StrictDateFormField(error_messages=date_field.error_messages),
            StrictTimeFormField(error_messages=time_field.error_messages),
        )


#: ``formfield_overrides`` for admins that edit dates: the same rule as the API, CSV and xAPI.
STRICT_DATE_FORMFIELDS: dict[type[models.Field], dict[str, Any]] = {
    models.DateField: {"form_class": StrictDateFormField},
    models.DateTimeField: {"form_class": StrictSplitDateTimeFormField},
}
