from django.apps import AppConfig


class EngagementConfig(AppConfig):
    name = "engagement"
    verbose_name = "Engagement platform"

    def ready(self) -> None:
        from engagement import receivers  # noqa: F401 - connects the login signal receivers
        from engagement.api import schema  # noqa: F401 - registers the OpenAPI auth extensions
        from engagement.outbox import EMAIL_CHANNEL, email_send, outbox_register_channel

        outbox_register_channel(EMAIL_CHANNEL, email_send)
