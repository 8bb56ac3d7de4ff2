from django.apps import AppConfig


class NudgesConfig(AppConfig):
    name = "nudges"
    verbose_name = "Nudges"

    def ready(self) -> None:
        """Add the app's settings, API, pages, schedules, outbox channels, learner-page panel
        and bulk action to the platform."""
        from engagement.registry import registry
        from nudges import campaign_tasks
        from nudges.conf import tunables

        registry.add_settings(tunables())
        registry.add_api_urls("nudges.api.urls")
        registry.add_job_kind(campaign_tasks.CAMPAIGN_RUN, campaign_tasks.CAMPAIGN_RUN_LABEL)
        registry.add_beat_schedule(campaign_tasks.BEAT_SCHEDULE)
        registry.add_schema_enum_names(
            {
                "CampaignApprovalEnum": "nudges.models.Campaign.Approval",
                "CampaignScheduleEnum": "nudges.models.Campaign.Schedule",
            }
        )
