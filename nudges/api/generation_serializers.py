"""Input and output of the generation endpoints: a nudge requested, prompt versions, previews."""

from rest_framework import serializers

from engagement.api.fields import StrictBooleanField, TextField
from nudges.models import Channel, PromptTemplate
from nudges.prompts import prompt_key_exists


class _PromptKeySerializer(serializers.Serializer):
    """An optional ``prompt_key`` that an active prompt has (else the default prompt)."""

    prompt_key = serializers.SlugField(max_length=64, required=False)

    def validate_prompt_key(self, value: str) -> str:
        if not prompt_key_exists(value):
            raise serializers.ValidationError("No active prompt has this key.")
        return value


class NudgeRequestSerializer(_PromptKeySerializer):
    """``POST /learners/{id}/nudges/``: a draft for this learner on this channel."""

    channel = serializers.ChoiceField(choices=Channel.choices)


class NudgePreviewQuerySerializer(_PromptKeySerializer):
    """``GET /nudges/stream/?learner=&prompt_key=``."""

    learner = serializers.UUIDField()


class PromptOutputSerializer(serializers.ModelSerializer[PromptTemplate]):
    created_by = serializers.CharField(
        source="created_by.username", default=None, allow_null=True, read_only=True
    )

    class Meta:
        model = PromptTemplate
        fields = (
            "id",
            "key",
            "version",
            "locale",
            "system_text",
            "user_text",
            "model",
            "temperature",
            "max_tokens",
            "is_active",
            "notes",
            "created_by",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields


class PromptCreateSerializer(serializers.Serializer):
    """A new version of a prompt (the next number for its key and locale)."""

    key = serializers.SlugField(max_length=64)
    locale = serializers.RegexField(
        r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$", max_length=16, default="en"
    )
    system_text = TextField(max_length=20_000)
    user_text = TextField(max_length=20_000)
    model = TextField(max_length=100, required=False, default="", allow_blank=True)
    temperature = serializers.FloatField(min_value=0, max_value=2, default=0.4)
    max_tokens = serializers.IntegerField(min_value=1, max_value=4000, default=400)
    notes = TextField(max_length=2000, required=False, default="", allow_blank=True)
    activate = StrictBooleanField(default=False)
