"""Input and inbox shapes of the nudge endpoints (``nudges.api.nudge_urls``)."""

from rest_framework import serializers

from engagement.api.fields import BoundedDateTimeField, TextField
from nudges.models import Category, Channel, Nudge


class NudgeCreateSerializer(serializers.Serializer):
    """A nudge written by staff: a draft, sent like any other."""

    learner = serializers.UUIDField()
    channel = serializers.ChoiceField(choices=Channel.choices)
    category = serializers.ChoiceField(choices=Category.choices, default=Category.REENGAGEMENT)
    subject = TextField(allow_blank=True, default="", max_length=1000)
    body = TextField(max_length=10000)


class NudgeSendSerializer(serializers.Serializer):
    at = BoundedDateTimeField(
        required=False,
        allow_null=True,
        help_text="Send at this time instead of now (the policy judges it then).",
    )


class InboxMessageSerializer(serializers.ModelSerializer[Nudge]):
    """An in-app message as the learner's platform shows it."""

    class Meta:
        model = Nudge
        fields = ("id", "category", "subject", "body", "sent_at", "read_at")
        read_only_fields = fields
