"""Simulations in the Django admin: read-only, the services and the run write them (cancel a
run through its job, or the API)."""

from django.contrib import admin

from engagement.admin_bases import ReadOnlyAdmin
from simulation.models import Simulation


@admin.register(Simulation)
class SimulationAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "kind",
        "name",
        "job__status",
        "seed",
        "model_version",
        "requested_by",
    )
    list_filter = ("kind", "job__status")
    list_select_related = ("job", "requested_by")
    search_fields = ("=id", "name")
    date_hierarchy = "created_at"
    show_full_result_count = False
    fields = (
        "id",
        "kind",
        "name",
        "params",
        "seed",
        "model_version",
        "job",
        "requested_by",
        "results",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields
