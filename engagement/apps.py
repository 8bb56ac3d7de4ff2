from django.apps import AppConfig


class EngagementConfig(AppConfig):
    name = "engagement"
    verbose_name = "Engagement platform"

    def ready(self) -> None:
        from engagement import (
            receivers,  # noqa: F401 - connects the login signal receivers
            task_context,  # noqa: F401 - carries request ids into tasks
        )
        from engagement.api import schema  # noqa: F401 - registers the OpenAPI auth extensions
        from engagement.dashboard import NavEntry
        from engagement.outbox import BEAT_SCHEDULE, EMAIL_CHANNEL, email_send
        from engagement.registry import registry

        registry.add_throttle_rate("principal", variable="THROTTLE_PRINCIPAL", default="1200/min")
        registry.add_throttle_rate("anonymous", variable="THROTTLE_ANONYMOUS", default="60/min")
        registry.add_throttle_rate("login", variable="THROTTLE_LOGIN", default="20/min")
        registry.add_schema_enum_names(
            {
                "JobStatusEnum": "engagement.models.JobStatus",
                "OutboxStatusEnum": "engagement.models.OutboxStatus",
            }
        )
        registry.add_beat_schedule(BEAT_SCHEDULE)
        registry.add_outbox_channel(EMAIL_CHANNEL, email_send)
        registry.add_dashboard_nav(
            NavEntry(key="jobs", label="Jobs", url_name="dashboard-jobs", order=80)
        )
