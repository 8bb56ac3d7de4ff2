"""Admin for the nudges feature flags and experiments (imported by ``NudgesConfig.ready()``).

A flag is switched and limited to cohorts here through ``nudges.flags.flag_update`` (audited);
experiments are shown read-only: they are created and promoted through their services.
"""

import uuid
from typing import Any, cast

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from engagement.admin_bases import ReadOnlyAdmin
from engagement.principals import audit_actor
from learners.contracts import cohort_summaries
from nudges.flags import FLAGS, flag_update
from nudges.models import (
    Experiment,
    ExperimentAssignment,
    ExperimentVariant,
    FeatureCohortLimit,
    FeatureFlag,
)


class FeatureFlagForm(forms.ModelForm):
    cohorts = forms.TypedMultipleChoiceField(
        required=False,
        coerce=uuid.UUID,
        help_text="Limit the flag to these cohorts; none chosen: every cohort.",
    )

    class Meta:
        model = FeatureFlag
        fields = ("active",)

    #: The cohorts offered, set per request by ``FeatureFlagAdmin.get_form``.
    cohort_choices: list[tuple[str, str]] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["cohorts"]).choices = self.cohort_choices
        if self.instance.pk:
            self.initial["cohorts"] = [
                str(pk)
                for pk in FeatureCohortLimit.objects.filter(flag=self.instance.name).values_list(
                    "cohort_id", flat=True
                )
            ]


@admin.register(FeatureFlag)
class FeatureFlagAdmin(admin.ModelAdmin):
    form = FeatureFlagForm
    list_display = ("name", "active", "note")
    readonly_fields = ("name", "note")
    fields = ("name", "note", "active", "cohorts")

    def get_queryset(self, request: HttpRequest) -> QuerySet[FeatureFlag]:
        return super().get_queryset(request).filter(name__in=FLAGS)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        """The form offers the cohorts the admin may see."""
        form = super().get_form(request, obj, change, **kwargs)
        choices = [
            (str(cohort.cohort_id), cohort.name) for cohort in cohort_summaries(actor=request.user)
        ]
        return type(form.__name__, (form,), {"cohort_choices": choices})

    def save_model(self, request: HttpRequest, obj: FeatureFlag, form: Any, change: bool) -> None:
        flag_update(
            name=obj.name,
            active=obj.active,
            cohort_ids=form.cleaned_data["cohorts"],
            actor=audit_actor(request),
        )


class VariantInline(admin.TabularInline):
    model = ExperimentVariant
    fields = ("name", "weight", "prompt")
    extra = 0

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Experiment)
class ExperimentAdmin(ReadOnlyAdmin):
    list_display = ("name", "status", "holdout_share", "attribution_days", "winner", "created_at")
    list_filter = ("status",)
    search_fields = ("name",)
    inlines = (VariantInline,)


@admin.register(ExperimentAssignment)
class ExperimentAssignmentAdmin(ReadOnlyAdmin):
    list_display = (
        "experiment",
        "learner",
        "variant",
        "assigned_at",
        "exposed_at",
        "re_engaged_at",
    )
    list_filter = ("experiment",)
    list_select_related = ("experiment", "variant", "learner")
