"""Admin of nudges (read-only: approve, send and cancel go through ``nudges.lifecycle``) and of
the cohorts opted in to email tracking (through ``nudges.delivery.tracking_set``)."""

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from engagement.admin_bases import ReadOnlyAdmin
from engagement.errors import ApplicationError
from engagement.principals import audit_actor
from nudges.delivery import tracking_set
from nudges.lifecycle import nudge_approve, nudge_cancel, nudge_send
from nudges.models import Nudge, TrackingCohort


@admin.register(Nudge)
class NudgeAdmin(ReadOnlyAdmin):
    list_display = ("id", "learner_id", "channel", "status", "source", "created_at", "sent_at")
    list_filter = ("status", "channel", "source", "category")
    list_select_related = False
    exclude = ("subject", "body", "rejected_text")
    readonly_fields = ("suppressed_rule", "fallback_reason", "error")
    actions = ("approve", "send", "cancel")
    ordering = ("-created_at",)

    def _each(
        self, request: HttpRequest, queryset: QuerySet[Nudge], act: Callable[..., Any], done: str
    ) -> None:
        moved = 0
        for nudge in queryset:
            try:
                act(nudge=nudge, actor=audit_actor(request))
                moved += 1
            except ApplicationError as exc:
                messages.error(request, f"{nudge.pk}: {exc.message}")
        if moved:
            messages.success(request, f"{moved} nudge(s) {done}.")

    @admin.action(description="Approve the selected drafts")
    def approve(self, request: HttpRequest, queryset: QuerySet[Nudge]) -> None:
        self._each(request, queryset, nudge_approve, "approved")

    @admin.action(description="Send the selected nudges (within the contact policy)")
    def send(self, request: HttpRequest, queryset: QuerySet[Nudge]) -> None:
        self._each(request, queryset, nudge_send, "sent, scheduled or suppressed")

    @admin.action(description="Cancel the selected nudges not sent yet")
    def cancel(self, request: HttpRequest, queryset: QuerySet[Nudge]) -> None:
        self._each(request, queryset, nudge_cancel, "cancelled")


@admin.register(TrackingCohort)
class TrackingCohortAdmin(admin.ModelAdmin):
    list_display = ("cohort", "created_at")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: TrackingCohort, form: Any, change: bool
    ) -> None:
        tracking_set(cohort_id=obj.cohort_id, enabled=True, actor=audit_actor(request))

    def delete_model(self, request: HttpRequest, obj: TrackingCohort) -> None:
        tracking_set(cohort_id=obj.cohort_id, enabled=False, actor=audit_actor(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[TrackingCohort]) -> None:
        for row in queryset:
            self.delete_model(request, row)
