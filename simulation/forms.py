"""The dashboard's "New simulation" form, built from a kind's params serializer.

Each field of the serializer becomes a form field of the matching type (numbers keep their
bounds, choices their options, ``cohort``/``cohorts`` offer the caller's cohorts only), so a
kind's new param shows up without a template change; a param no simple input fits is a JSON box.
The what-if ``changes`` list has its own small form (:class:`ChangesForm`). The forms only read
the inputs: the service validates the params (:func:`simulation.services.simulation_request`)
and its field-named errors are put back on the form (:func:`add_service_errors`).
"""

from collections.abc import Mapping
from typing import Any

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.fields import empty

from learners import contracts
from simulation.kinds.base import CohortField, CohortsField, SimulationKind

CHANGES = "changes"
#: ``changes`` inputs: (form field, change kind) for the single-value changes.
VALUE_CHANGES = (
    ("activity_pct", "activity_pct"),
    ("no_activity_days", "no_activity_days"),
    ("assessment_points", "assessment_points"),
)


class ChangesForm(forms.Form):
    """A what-if's ``changes``: each input left empty changes nothing."""

    activity_pct = forms.FloatField(
        label=_("Activity change (%)"),
        required=False,
        help_text=_("For example -50 halves every learner's activity."),
    )
    no_activity_days = forms.IntegerField(
        label=_("No activity for the next (days)"), required=False, min_value=0
    )
    assessment_points = forms.FloatField(
        label=_("Assessment scores change (points)"), required=False
    )
    medium = forms.FloatField(label=_("Medium band from (score)"), required=False)
    high = forms.FloatField(label=_("High band from (score)"), required=False)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if (cleaned.get("medium") is None) != (cleaned.get("high") is None):
            raise forms.ValidationError(gettext("Give both thresholds, or neither."))
        return cleaned

    def add_change_errors(self, reasons: Any) -> None:
        """The service's errors per change (by position in ``changes()``, each naming the
        change's key) on the input that made that change."""
        per_change = dict(enumerate(reasons)) if isinstance(reasons, list) else reasons
        if not isinstance(per_change, Mapping):
            self.add_error(None, _messages(reasons))
            return
        made = self.changes()
        fields = dict((kind, name) for name, kind in VALUE_CHANGES)
        for index, why in per_change.items():
            if not why:
                continue
            position = int(index) if str(index).isdigit() else -1
            kind = made[position]["kind"] if 0 <= position < len(made) else None
            if kind in fields:
                self.add_error(
                    fields[kind], _messages(list(why.values()) if isinstance(why, Mapping) else why)
                )
            elif kind == "thresholds" and isinstance(why, Mapping):
                for key, text in why.items():
                    self.add_error(key if key in ("medium", "high") else None, _messages(text))
            else:
                self.add_error(None, _messages(why))

    def changes(self) -> list[dict[str, Any]]:
        """The cleaned inputs as the what-if's ``changes`` list (the API's shape)."""
        data = self.cleaned_data
        made: list[dict[str, Any]] = [
            {"kind": kind, "value": data[name]}
            for name, kind in VALUE_CHANGES
            if data.get(name) is not None
        ]
        if data.get("medium") is not None and data.get("high") is not None:
            made.append({"kind": "thresholds", "medium": data["medium"], "high": data["high"]})
        return made


def _bounds(field: Any) -> dict[str, Any]:
    return {
        name: getattr(field, name)
        for name in ("min_value", "max_value")
        if getattr(field, name, None) is not None
    }


def _cohort_choices(actor: Any) -> list[tuple[str, str]]:
    return [
        (str(summary.cohort_id), summary.name)
        for summary in contracts.cohort_summaries(actor=actor)
    ]


def form_field(field: serializers.Field, cohorts: list[tuple[str, str]]) -> forms.Field:
    """The form field for one serializer field, its default shown as the input's placeholder
    (left empty, the kind's default applies)."""
    made = _input(field, cohorts)
    default = field.default
    if (
        default is not empty
        and not callable(default)
        and not isinstance(made, forms.ChoiceField | forms.BooleanField)
    ):
        made.widget.attrs.setdefault("placeholder", str(default))
    return made


def _input(field: serializers.Field, cohorts: list[tuple[str, str]]) -> forms.Field:
    """The input that fits the serializer field (a JSON box for a structure none fits)."""
    common: dict[str, Any] = {
        "label": field.label or str(field.field_name).replace("_", " ").capitalize(),
        "required": False,
        "help_text": field.help_text or "",
    }
    if isinstance(field, CohortField):
        return forms.ChoiceField(choices=[("", gettext("Choose a cohort")), *cohorts], **common)
    if isinstance(field, CohortsField):
        return forms.MultipleChoiceField(
            choices=cohorts, widget=forms.CheckboxSelectMultiple, **common
        )
    if isinstance(field, serializers.BooleanField):
        return forms.BooleanField(**common)
    if isinstance(field, serializers.IntegerField):
        return forms.IntegerField(**_bounds(field), **common)
    if isinstance(field, serializers.FloatField | serializers.DecimalField):
        return forms.FloatField(**_bounds(field), **common)
    choices = _list_choices(field)
    if choices is not None:
        return forms.MultipleChoiceField(
            choices=[(str(value), label) for value, label in choices.items()],
            widget=forms.CheckboxSelectMultiple,
            **common,
        )
    if isinstance(field, serializers.ChoiceField):
        options = [(str(value), label) for value, label in field.choices.items()]
        return forms.ChoiceField(choices=[("", "—"), *options], **common)
    if isinstance(field, serializers.CharField | serializers.UUIDField | serializers.DateField):
        return forms.CharField(**common)
    return forms.JSONField(**common)


def _list_choices(field: serializers.Field) -> dict[Any, Any] | None:
    """The options of a field that takes several of them (a multiple choice, or a list of
    choices such as targeting rules), else ``None``."""
    if isinstance(field, serializers.MultipleChoiceField):
        return dict(field.choices)
    child = getattr(field, "child", None)
    if isinstance(field, serializers.ListField) and isinstance(child, serializers.ChoiceField):
        return dict(child.choices)
    return None


class SimulationForm(forms.Form):
    """A run's name and its kind's params, one input per serializer field."""

    name = forms.CharField(label=_("Name"), max_length=200, required=False)

    def __init__(self, *args: Any, kind: SimulationKind, actor: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        params = kind.params(context={"actor": actor}).fields
        cohorts = (
            _cohort_choices(actor)
            if any(isinstance(field, CohortField | CohortsField) for field in params.values())
            else []
        )
        self.param_names = [name for name, field in params.items() if not field.read_only]
        for name in self.param_names:
            if name != CHANGES:
                self.fields[name] = form_field(params[name], cohorts)
        self.changes_form = (
            ChangesForm(self.data if self.is_bound else None, prefix=CHANGES)
            if CHANGES in self.param_names
            else None
        )

    def is_valid(self) -> bool:
        own = super().is_valid()
        return own and (self.changes_form is None or self.changes_form.is_valid())

    def params(self) -> dict[str, Any]:
        """The filled-in params (empty inputs left out, so the kind's defaults apply)."""
        given: dict[str, Any] = {
            name: self.cleaned_data[name]
            for name in self.param_names
            if name in self.fields and self.cleaned_data.get(name) not in (None, "", [])
        }
        if self.changes_form is not None:
            given[CHANGES] = self.changes_form.changes()
        return given

    def add_service_errors(self, detail: Any) -> None:
        """Put the service's ``{"params": {"field": ["why"]}}`` errors on the fields they name
        (the rest above the form)."""
        params = detail.get("params", detail) if isinstance(detail, Mapping) else detail
        if not isinstance(params, Mapping):
            self.add_error(None, _messages(params))
            return
        for name, reasons in params.items():
            if name == CHANGES and self.changes_form is not None:
                self.changes_form.add_change_errors(reasons)
            elif name in self.fields:
                self.add_error(name, _messages(reasons))
            else:
                self.add_error(None, f"{name}: {_messages(reasons)}")


def _messages(reasons: Any) -> str:
    """A serializer error (sentences, or nested per item or key) as one line of sentences."""
    if isinstance(reasons, Mapping):
        return " ".join(f"{key}: {_messages(value)}" for key, value in reasons.items())
    if isinstance(reasons, list | tuple):
        return " ".join(_messages(reason) for reason in reasons if reason)
    return str(reasons)
