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
        import nudges.llm.admin  # noqa: F401  (registers LLMCall in the Django admin)
        import nudges.prompt_admin  # noqa: F401  (registers the prompt admin)
