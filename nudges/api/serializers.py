"""The nudge as the API shows it (shared by every nudges endpoint that answers with one)."""

from typing import Any

from rest_framework import serializers

from engagement.roles import sees_personal_data
from nudges.models import Nudge

#: Message text: personal data (it names the learner), never shown to analysts.
TEXT_FIELDS = ("subject", "body")


class NudgeSerializer(serializers.ModelSerializer[Nudge]):
    """The contract fields (issue 13) and where a nudge is in its lifecycle."""

    prompt_version = serializers.IntegerField(
        source="prompt.version", allow_null=True, read_only=True
    )
    variant = serializers.CharField(source="variant.name", allow_null=True, read_only=True)
    # Null for analysts (see ``to_representation``), so the schema says so.
    subject = serializers.CharField(allow_null=True, read_only=True)
    body = serializers.CharField(allow_null=True, read_only=True)
    # Email tracking (opt-in per cohort): null when untracked, or not opened / clicked yet.
    opened_at = serializers.DateTimeField(
        allow_null=True,
        read_only=True,
        help_text="First open of the email (tracked cohorts only; null otherwise or not yet).",
    )
    clicked_at = serializers.DateTimeField(
        allow_null=True,
        read_only=True,
        help_text="First click on a link of the email (tracked cohorts only; null otherwise).",
    )

    class Meta:
        model = Nudge
        fields = (
            "id",
            "learner",
            "channel",
            "category",
            "status",
            "source",
            "fallback_reason",
            "guardrail_failures",
            "subject",
            "body",
            "prompt_version",
            "campaign",
            "experiment",
            "variant",
            "suppressed_rule",
            "scheduled_for",
            "approved_at",
            "created_at",
            "sent_at",
            "read_at",
            "opened_at",
            "clicked_at",
            "re_engaged_at",
            "error",
        )
        read_only_fields = fields

    def to_representation(self, instance: Nudge) -> dict[str, Any]:
        data = super().to_representation(instance)
        request = self.context.get("request")
        if request is not None and not sees_personal_data(request.user):
            for field in TEXT_FIELDS:
                data[field] = None
        return data
