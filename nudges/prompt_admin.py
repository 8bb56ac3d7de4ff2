"""Admin for prompt versions: read-only (a version is never edited), activated through the
service so activation and rollback are audited as from the API."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from engagement.admin_bases import ReadOnlyAdmin
from engagement.principals import audit_actor
from nudges.models import PromptTemplate
from nudges.prompts import prompt_activate


@admin.register(PromptTemplate)
class PromptTemplateAdmin(ReadOnlyAdmin):
    list_display = ("key", "locale", "version", "is_active", "model", "created_at", "created_by")
    list_filter = ("key", "locale", "is_active")
    list_select_related = ("created_by",)
    actions = ("activate",)

    @admin.action(description="Activate the selected version (rollback = an older one)")
    def activate(self, request: HttpRequest, queryset: QuerySet[PromptTemplate]) -> None:
        if queryset.count() != 1:
            messages.error(request, "Select exactly one version to activate.")
            return
        prompt = prompt_activate(prompt=queryset.get(), actor=audit_actor(request))
        messages.success(request, f"{prompt} is active.")
