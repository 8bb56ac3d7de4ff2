"""Django admin for cohorts, learners and events; writes go through the services."""

from typing import Any

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from engagement.api.permissions import audit_actor
from learners import selectors, services
from learners.filters import LearnerFilter
from learners.models import ActivityEvent, Cohort, Learner


@admin.register(Cohort)
class CohortAdmin(admin.ModelAdmin):
    list_display = ("name", "course_code", "starts_on", "ends_on", "timezone", "learner_count")
    search_fields = ("name", "course_code")
    list_filter = ("starts_on",)
    date_hierarchy = "starts_on"

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
        "risk_score",
    )
    list_select_related = ("cohort",)
    list_filter = ("status", "risk_band", "cohort", "nudge_opt_out")
    search_fields = ("=external_id",)
    search_help_text = "Exact external id, exact email, or whole words of the name."
    raw_id_fields = ("cohort",)
    readonly_fields = (
        "last_active_at",
        "risk_score",
        "risk_band",
        "risk_scored_at",
        "created_at",
        "updated_at",
    )
    ordering = ("external_id",)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Learner], search_term: str
    ) -> tuple[QuerySet[Learner], bool]:
        """Names and emails are encrypted: search their keyed hashes through the list filters."""
        if not search_term.strip():
            return queryset, False
        key = "email" if "@" in search_term else "search"
        return LearnerFilter(data={key: search_term}, queryset=queryset).qs, False

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


@admin.register(ActivityEvent)
class ActivityEventAdmin(admin.ModelAdmin):
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
    readonly_fields = ("ingested_at",)
