"""Django admin for cohorts, learners and events; every write goes through the services.

Saving, deleting one object and "delete selected" call the same services as the API, so they
are validated and audited alike; rows only the application writes (activity, assessments,
alerts, feedback) are read-only here.
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from engagement.admin_bases import ReadOnlyAdmin
from engagement.admin_fields import STRICT_DATE_FORMFIELDS, StoredJSONFormField
from engagement.crypto import EncryptedTextField
from engagement.errors import ApplicationError
from engagement.principals import audit_actor
from learners import selectors, services
from learners.filters import LearnerFilter, studying
from learners.models import (
    ActivityEvent,
    Cohort,
    Learner,
    RiskAlert,
    RiskAlertDelivery,
    RiskAssessment,
    RiskBand,
    RiskFeedback,
    RiskModel,
)
from learners.risk.explanations import assessment_factors
from learners.risk.selectors import learner_assessments_to_current, risk_model_get
from learners.risk.services import risk_model_activate

# Rows that belong to a learner and are deleted with them (``services.learners_delete``).
LEARNER_OWNED = (ActivityEvent, RiskAssessment, RiskAlert, RiskAlertDelivery, RiskFeedback)


@admin.register(Cohort)
class CohortAdmin(admin.ModelAdmin):
    list_display = ("name", "course_code", "starts_on", "ends_on", "timezone", "learner_count")
    search_fields = ("name", "course_code")
    list_filter = ("starts_on",)
    date_hierarchy = "starts_on"
    formfield_overrides = STRICT_DATE_FORMFIELDS

    def get_queryset(self, request: HttpRequest) -> QuerySet[Cohort]:
        return super().get_queryset(request).annotate(learner_count=Count("learners"))

    @admin.display(description="Learners", ordering="learner_count")
    def learner_count(self, cohort: Any) -> int:
        return int(cohort.learner_count)

    def save_model(self, request: HttpRequest, obj: Cohort, form: Any, change: bool) -> None:
        if change:
            stored = selectors.cohort_get(actor=request.user, cohort_id=obj.pk)
            services.cohort_update(
                actor=audit_actor(request),
                cohort=stored,
                data={name: getattr(obj, name) for name in form.changed_data},
            )
        else:
            obj.pk = services.cohort_create(
                actor=audit_actor(request),
                **{name: getattr(obj, name) for name in services.COHORT_FIELDS},
            ).pk

    def delete_model(self, request: HttpRequest, obj: Cohort) -> None:
        services.cohort_delete(actor=audit_actor(request), cohort=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Cohort]) -> None:
        """ "Delete selected" (after its confirmation page) goes through the service too."""
        services.cohorts_delete(actor=audit_actor(request), cohorts=queryset)


class CaseloadRiskBandFilter(admin.SimpleListFilter):
    """Risk bands among learners still studying (unless a status is picked too): finished
    learners keep their final band on their record, but are nobody's caseload."""

    title = "risk band (still studying)"
    parameter_name = "risk_band"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return list(RiskBand.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet[Learner]) -> QuerySet[Learner]:
        if self.value() not in RiskBand.values:
            return queryset
        queryset = queryset.filter(risk_band=self.value())
        return queryset if "status__exact" in request.GET else studying(queryset)


@admin.register(Learner)
class LearnerAdmin(admin.ModelAdmin):
    list_display = (
        "external_id",
        "name",
        "cohort",
        "status",
        "progress",
        "last_active_at",
        "risk_band",
        "risk",
    )
    list_select_related = ("cohort",)
    list_filter = ("status", CaseloadRiskBandFilter, "cohort", "nudge_opt_out")
    search_fields = ("=external_id",)
    search_help_text = "Exact external id, exact email, or whole words of the name."
    raw_id_fields = ("cohort",)
    readonly_fields = (
        "progress",
        "last_active_at",
        "risk",
        "risk_band",
        "risk_scored_at",
        "risk_factors",
        "created_at",
        "updated_at",
    )
    fieldsets = (
        (None, {"fields": ("source", "external_id", "cohort", "name", "email", "status")}),
        ("Risk", {"fields": ("risk_band", "risk", "risk_scored_at", "risk_factors")}),
        (
            "Enrolment and preferences",
            {
                "fields": (
                    "enrolled_at",
                    "finished_at",
                    "progress",
                    "nudge_opt_out",
                    "locale",
                    "timezone",
                )
            },
        ),
        ("Record", {"fields": ("last_active_at", "created_at", "updated_at")}),
    )
    # Names and emails are one line each, whatever their encrypted storage type.
    formfield_overrides = {
        **STRICT_DATE_FORMFIELDS,
        EncryptedTextField: {"widget": forms.TextInput(attrs={"size": 60})},
    }
    ordering = ("external_id",)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Learner], search_term: str
    ) -> tuple[QuerySet[Learner], bool]:
        """Names and emails are encrypted: search their keyed hashes through the list filters."""
        if not search_term.strip():
            return queryset, False
        key = "email" if "@" in search_term else "search"
        return LearnerFilter(data={key: search_term}, queryset=queryset).qs, False

    @admin.display(description="Risk score", ordering="risk_score")
    def risk(self, learner: Learner) -> str | None:
        return None if learner.risk_score is None else f"{learner.risk_score:.2f}"

    @admin.display(description="Why (current assessment)")
    def risk_factors(self, learner: Learner) -> str:
        latest = learner_assessments_to_current(learner=learner).first()
        if latest is None:
            return "Not scored yet."
        return format_html_join(
            "",
            "<p>{} <small>({})</small></p>",
            (
                (f["explanation"], f"{f['contribution']:+.2f}")
                for f in assessment_factors(latest)[:5]
            ),
        )

    def save_model(self, request: HttpRequest, obj: Learner, form: Any, change: bool) -> None:
        if change:
            stored = selectors.learner_get(actor=request.user, learner_id=obj.pk)
            services.learner_update(
                actor=audit_actor(request),
                learner=stored,
                data={name: getattr(obj, name) for name in form.changed_data},
            )
        else:
            fields = {name: getattr(obj, name) for name in services.LEARNER_FIELDS}
            obj.pk = services.learner_create(actor=audit_actor(request), **fields).pk

    def delete_model(self, request: HttpRequest, obj: Learner) -> None:
        services.learner_delete(actor=audit_actor(request), learner=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Learner]) -> None:
        """ "Delete selected" (after its confirmation page) goes through the service too."""
        services.learners_delete(actor=audit_actor(request), learners=queryset)

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> Any:
        """A learner's activity and risk rows go with them through the service, although they
        cannot be deleted on their own here."""
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        owned = {str(model._meta.verbose_name) for model in LEARNER_OWNED}
        return deleted, counts, set(perms_needed) - owned, protected


@admin.register(ActivityEvent)
class ActivityEventAdmin(ReadOnlyAdmin):
    """Read-only: activity comes in through ingestion, which also moves ``last_active_at`` and
    marks the learner for rescoring."""

    list_display = (
        "occurred_at",
        "kind",
        "learner",
        "score",
        "duration_seconds",
        "source",
        "source_event_id",
    )
    list_select_related = ("learner",)
    list_filter = ("kind", "source")
    search_fields = ("=source_event_id", "=learner__external_id")
    raw_id_fields = ("learner",)
    date_hierarchy = "occurred_at"
    show_full_result_count = False
    exclude = ("metadata",)  # shown as stored_metadata
    readonly_fields = ("stored_metadata", "ingested_at")

    @admin.display(description="Metadata")
    def stored_metadata(self, event: ActivityEvent) -> Any:
        """The stored JSON, text a page cannot carry escaped: old rows must still open."""
        return StoredJSONFormField().prepare_value(event.metadata)


@admin.register(RiskModel)
class RiskModelAdmin(admin.ModelAdmin):
    list_display = (
        "version",
        "kind",
        "is_active",
        "trained_at",
        "test_roc_auc",
        "beats_best_baseline",
    )
    readonly_fields = (
        "version",
        "kind",
        "is_active",
        "trained_at",
        "comparison",
        "parameters",
        "metrics",
        "created_at",
    )
    fields = ("notes", *readonly_fields)
    actions = ["activate", "activate_forced"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Versions are history (rollback = activate an older one); training adds them."""
        return False

    def save_model(self, request: HttpRequest, obj: RiskModel, form: Any, change: bool) -> None:
        stored = risk_model_get(version=obj.version)  # ``obj`` holds the form's values already
        services.risk_model_notes_set(actor=audit_actor(request), model=stored, notes=obj.notes)

    @admin.display(description="Test ROC AUC")
    def test_roc_auc(self, model: RiskModel) -> Any:
        return model.metrics.get("test", {}).get("roc_auc")

    @admin.display(description="Beats best baseline", boolean=True)
    def beats_best_baseline(self, model: RiskModel) -> bool | None:
        return model.metrics.get("beats_best_baseline")

    @admin.display(description="Model vs baselines (test set at training)")
    def comparison(self, model: RiskModel) -> str:
        """The stored evaluation side by side: this version, the model active when it was
        trained, and the naive baselines, on the same test learners."""
        stored = model.metrics
        if "baselines" not in stored:
            return "No evaluation with baselines is stored for this version."
        active = stored.get("active_on_same_test") or {}
        rows = [
            (f"v{model.version} (this version)", stored["test"]),
            (f"v{active.get('version')} {active.get('kind')} (active then)", active),
            *((figures["description"], figures) for figures in stored["baselines"].values()),
        ]
        best = stored["best_baseline"] or {}
        return format_html(
            "<table><tr><th></th><th>ROC AUC</th><th>PR AUC</th></tr>{}</table>"
            "<p>Best baseline: {} ({}). Beats it: {}.</p>",
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                ((label, figures.get("roc_auc"), figures.get("pr_auc")) for label, figures in rows),
            ),
            best.get("name"),
            best.get("roc_auc"),
            stored.get("beats_best_baseline"),
        )

    @admin.action(description="Activate the selected version (rollback = an older one)")
    def activate(self, request: HttpRequest, queryset: QuerySet[RiskModel]) -> None:
        self._activate(request, queryset, force=False)

    @admin.action(
        description="Activate even if worse than the active version or a baseline (audited)"
    )
    def activate_forced(self, request: HttpRequest, queryset: QuerySet[RiskModel]) -> None:
        self._activate(request, queryset, force=True)

    def _activate(self, request: HttpRequest, queryset: QuerySet[RiskModel], force: bool) -> None:
        if queryset.count() != 1:
            messages.error(request, "Select exactly one version to activate.")
            return
        try:
            model = risk_model_activate(
                model=queryset.get(), actor=audit_actor(request), force=force
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return
        messages.success(request, f"Risk model v{model.version} is active.")


@admin.register(RiskAssessment)
class RiskAssessmentAdmin(ReadOnlyAdmin):
    list_display = ("as_of", "learner", "score", "band", "model")
    list_select_related = ("learner", "model")
    list_filter = ("band", "model")
    search_fields = ("=learner__external_id",)
    raw_id_fields = ("learner",)
    date_hierarchy = "as_of"
    show_full_result_count = False


@admin.register(RiskFeedback)
class RiskFeedbackAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "learner", "kind", "score_at_feedback", "created_by")
    list_select_related = ("learner", "created_by")
    list_filter = ("kind",)


class RiskAlertDeliveryInline(admin.TabularInline):
    model = RiskAlertDelivery
    fields = ("recipient", "delivered_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(RiskAlert)
class RiskAlertAdmin(ReadOnlyAdmin):
    """Pending alerts show why they were not delivered (no recipient, mail failure)."""

    list_display = ("as_of", "learner", "score", "status", "reason", "digested_at")
    list_select_related = ("learner",)
    list_filter = ("status", "reason", "digested_at")
    inlines = (RiskAlertDeliveryInline,)
