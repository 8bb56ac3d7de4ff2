"""LLM calls in the Django admin: read-only, the client records them."""

from django.contrib import admin

from engagement.admin_bases import ReadOnlyAdmin
from nudges.models import LLMCall


@admin.register(LLMCall)
class LLMCallAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "purpose",
        "model",
        "prompt",
        "outcome",
        "cache_hit",
        "attempts",
        "tokens_in",
        "tokens_out",
        "cost",
        "latency_ms",
        "error_class",
    )
    list_select_related = ("prompt",)
    list_filter = ("outcome", "cache_hit", "purpose", "model")
    date_hierarchy = "created_at"
    show_full_result_count = False
