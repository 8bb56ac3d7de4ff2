"""FilterSets for the audit log, job and outbox lists, and the bounded filters every list uses."""

import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

import django_filters
from django import forms
from django.db.models import Model, QuerySet

from engagement.errors import ValidationFailed
from engagement.input_bounds import DATETIME_RANGE, parse_datetime
from engagement.models import AuditEvent, Job, JobStatus, OutboxMessage, OutboxStatus


class BoundedDateTimeFormField(forms.Field):
    """An ISO 8601 date-time within the platform's bounds (UTC when it has no offset)."""

    def to_python(self, value: Any) -> datetime | None:
        if value in self.empty_values:
            return None
        try:
            return parse_datetime(value)
        except ValueError as exc:
            # The reason may quote the input: a parameter, so a "%" in it is never a format.
            raise forms.ValidationError("%(reason)s", params={"reason": str(exc)}) from exc


class BoundedDateTimeFilter(django_filters.IsoDateTimeFilter):
    """Filters on a date-time given in ISO 8601; out-of-range values are a 400, not a 500."""

    field_class = BoundedDateTimeFormField


ModelT = TypeVar("ModelT", bound=Model)


def filtered(
    filterset_class: type[django_filters.FilterSet],
    queryset: QuerySet[ModelT],
    filters: Mapping[str, Any] | None,
) -> QuerySet[ModelT]:
    """``queryset`` narrowed by a list's query parameters; invalid ones are a 400 naming them."""
    if not filters:
        return queryset
    filterset = filterset_class(data=filters, queryset=queryset)
    if not filterset.is_valid():
        raise ValidationFailed(detail=filterset.errors)
    return filterset.qs


PLAIN_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]+)?")


class PlainDecimalFormField(forms.DecimalField):
    """A number written the plain way: ASCII digits with an optional decimal point, as dates
    are ASCII too (no other scripts' digits, exponents or signs)."""

    def to_python(self, value: Any) -> Decimal | None:  # type: ignore[override]
        if isinstance(value, str) and value and not PLAIN_DECIMAL.fullmatch(value):
            raise forms.ValidationError("Enter a number such as 3 or 0.5.", code="invalid")
        return super().to_python(value)


class PlainNumberFilter(django_filters.NumberFilter):
    """``NumberFilter`` reading only plain ASCII numbers (``PlainDecimalFormField``)."""

    field_class = PlainDecimalFormField


class AuditEventFilter(django_filters.FilterSet):
    action = django_filters.CharFilter(help_text="Exact action, e.g. learner.update.")
    action_prefix = django_filters.CharFilter(
        field_name="action", lookup_expr="startswith", help_text="e.g. auth."
    )
    actor_id = django_filters.CharFilter()
    target_type = django_filters.CharFilter(help_text="e.g. learners.learner.")
    target_id = django_filters.CharFilter()
    since = BoundedDateTimeFilter(
        field_name="occurred_at", lookup_expr="gte", help_text=f"From this time, {DATETIME_RANGE}."
    )
    until = BoundedDateTimeFilter(
        field_name="occurred_at", lookup_expr="lt", help_text=f"Before this time, {DATETIME_RANGE}."
    )

    class Meta:
        model = AuditEvent
        fields: list[str] = []


class JobFilter(django_filters.FilterSet):
    kind = django_filters.CharFilter(help_text="Exact kind, e.g. learners.rescore.")
    status = django_filters.MultipleChoiceFilter(
        choices=JobStatus.choices, help_text="One or more statuses."
    )

    class Meta:
        model = Job
        fields: list[str] = []


class OutboxFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(
        choices=OutboxStatus.choices, help_text="One or more statuses."
    )
    channel = django_filters.CharFilter(help_text="Exact channel, e.g. email.")

    class Meta:
        model = OutboxMessage
        fields: list[str] = []
