"""Admin pages of the nudges app: each area's admin, writes through its services only."""

import waffle.admin  # noqa: F401  (registers waffle's models, unregistered below)
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from waffle import get_waffle_flag_model, get_waffle_sample_model, get_waffle_switch_model

from engagement.admin_bases import ReadOnlyAdmin
from engagement.errors import ApplicationError
from engagement.principals import acting_user
from nudges.campaigns import campaign_run_request, campaign_set_active
from nudges.models import Campaign

# Waffle's own admin would switch flags past ``nudges.flags.flag_update`` and its audit: the
# nudges admin's feature flags are the one way (waffle's admin is imported first, so it is
# registered whatever the order autodiscovery takes).
for _waffle_model in (
    get_waffle_flag_model(),
    get_waffle_switch_model(),
    get_waffle_sample_model(),
):
    if admin.site.is_registered(_waffle_model):
        admin.site.unregister(_waffle_model)


@admin.register(Campaign)
class CampaignAdmin(ReadOnlyAdmin):
    """Campaigns are created through the API or the dashboard; here they are read and run."""

    list_display = ("name", "channel", "approval", "schedule", "is_active", "last_run_at")
    list_filter = ("approval", "schedule", "is_active", "channel")
    search_fields = ("name",)
    actions = ["run", "deactivate", "activate"]

    @admin.action(description="Run the selected campaigns now (background jobs)")
    def run(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        for campaign in queryset:
            try:
                job = campaign_run_request(campaign=campaign, requested_by=acting_user(request))
            except ApplicationError as exc:
                messages.error(request, f"{campaign.name}: {exc.message}")
            else:
                messages.success(request, f"{campaign.name}: job {job.pk} ({job.status}).")

    @admin.action(description="Stop the selected campaigns (automations no longer run)")
    def deactivate(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        self._set_active(request, queryset, active=False)

    @admin.action(description="Start the selected campaigns again")
    def activate(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        self._set_active(request, queryset, active=True)

    def _set_active(
        self, request: HttpRequest, queryset: QuerySet[Campaign], *, active: bool
    ) -> None:
        for campaign in queryset:
            campaign_set_active(campaign=campaign, active=active, actor=acting_user(request))
        verb = "started" if active else "stopped"
        messages.success(request, f"{len(queryset)} campaign(s) {verb}.")
