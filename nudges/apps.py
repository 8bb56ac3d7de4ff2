from django.apps import AppConfig


class NudgesConfig(AppConfig):
    name = "nudges"
    verbose_name = "Nudges"

    def ready(self) -> None:
        """Add the app's settings, API, admin, delivery, schedules, privacy and activity hooks,
        job kind and dashboard pages to the platform."""
        import nudges.experiments_admin
        import nudges.lifecycle_admin
        import nudges.llm.admin
        import nudges.prompt_admin  # noqa: F401  (the prompt admin)
        from engagement.registry import registry
        from learners.contracts import (
            PrivacyHook,
            activity_listener_add,
            learner_privacy_hook_add,
        )
        from nudges import campaign_tasks
        from nudges.conf import tunables
        from nudges.delivery import in_app_deliver, nudge_email_send
        from nudges.experiments import re_engagement_record
        from nudges.pages.job_links import campaign_run_links
        from nudges.privacy import EXPORT_KEY, nudges_erase, nudges_export
        from nudges.schedules import BEAT_SCHEDULE

        registry.add_settings(tunables())
        # Each preview or draft may wait on the LLM and costs a call: fewer than other requests.
        registry.add_throttle_rate(
            "nudge_generation", variable="THROTTLE_NUDGE_GENERATION", default="30/min"
        )
        registry.add_api_urls("nudges.api.urls")
        # Delivery: the outbox channels, the due-nudge schedule and the email links' pages.
        registry.add_outbox_channel("nudge_email", nudge_email_send)
        registry.add_outbox_channel("in_app", in_app_deliver)
        registry.add_beat_schedule(BEAT_SCHEDULE)
        registry.add_site_urls("nudges/", "nudges.public_urls")
        # A learner's nudges go with their export and erasure; their activity marks re-engagement.
        learner_privacy_hook_add(
            PrivacyHook(key=EXPORT_KEY, export=nudges_export, erase=nudges_erase)
        )
        activity_listener_add(re_engagement_record)
        # Campaign runs and automations.
        registry.add_job_kind(
            campaign_tasks.CAMPAIGN_RUN, campaign_tasks.CAMPAIGN_RUN_LABEL, links=campaign_run_links
        )
        registry.add_beat_schedule(campaign_tasks.BEAT_SCHEDULE)
        registry.add_schema_enum_names(
            {
                "CampaignApprovalEnum": "nudges.models.Campaign.Approval",
                "CampaignScheduleEnum": "nudges.models.Campaign.Schedule",
            }
        )
        self._add_pages()

    @staticmethod
    def _add_pages() -> None:
        """The dashboard pages: routes, navigation, the learner-page panel and the caseload's
        "Start a campaign"."""
        from django.utils.translation import gettext_lazy as _

        from engagement.dashboard import NavEntry
        from engagement.registry import registry
        from engagement.roles import ADMIN_COACH
        from learners.contracts import (
            BulkAction,
            LearnerPanel,
            bulk_action_register,
            learner_panel_add,
        )
        from nudges.pages.campaigns import start_campaign
        from nudges.pages.panel import panel_context

        registry.add_site_urls("dashboard/", "nudges.urls")
        for key, label, url_name, order in (
            ("nudges", _("Nudges"), "dashboard-nudges", 40),
            ("campaigns", _("Campaigns"), "dashboard-campaigns", 42),
            ("experiments", _("Experiments"), "dashboard-experiments", 43),
            ("prompts", _("Prompts"), "dashboard-prompts", 44),
        ):
            registry.add_dashboard_nav(
                NavEntry(key=key, label=label, url_name=url_name, order=order)
            )
        learner_panel_add(
            LearnerPanel(key="nudges", template="nudges/learner_panel.html", context=panel_context)
        )
        bulk_action_register(
            BulkAction(
                name="start-campaign",
                label=_("Start a campaign"),
                roles=ADMIN_COACH,
                handler=start_campaign,
                order=30,
            )
        )
