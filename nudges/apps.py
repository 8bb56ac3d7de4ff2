from django.apps import AppConfig


class NudgesConfig(AppConfig):
    name = "nudges"
    verbose_name = "Nudges"

    def ready(self) -> None:
        """Add the app's settings, API, pages, schedules, outbox channels, learner-page panel
        and bulk action to the platform."""
        from engagement.registry import registry
        from nudges.conf import tunables

        registry.add_settings(tunables())
        registry.add_api_urls("nudges.api.urls")

        import nudges.experiments_admin  # noqa: F401  (registers the flag and experiment admins)
        from learners.contracts import activity_listener_add
        from nudges.experiments import re_engagement_record

        activity_listener_add(re_engagement_record)
