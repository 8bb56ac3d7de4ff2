"""Experiments as the API takes and shows them, and their results per arm."""

from rest_framework import serializers

from engagement.api.fields import TextField
from nudges.experiments import MAX_ATTRIBUTION_DAYS
from nudges.models import Experiment, ExperimentVariant

#: Arms an experiment may have (its variants; the holdout is not one of them).
MAX_VARIANTS = 20


class VariantInputSerializer(serializers.Serializer):
    name = TextField(max_length=64)
    weight = serializers.IntegerField(min_value=1, max_value=1000, default=1)
    prompt = serializers.UUIDField(
        allow_null=True, default=None, help_text="A prompt version's id; null: the template."
    )


class ExperimentInputSerializer(serializers.Serializer):
    name = TextField(max_length=200)
    holdout_share = serializers.FloatField(
        min_value=0, max_value=0.95, default=0.2, help_text="Share of learners who get nothing."
    )
    attribution_days = serializers.IntegerField(
        min_value=1,
        max_value=MAX_ATTRIBUTION_DAYS,
        required=False,
        help_text="Window after the send for re-engagement (default NUDGE_ATTRIBUTION_DAYS).",
    )
    variants = serializers.ListField(
        child=VariantInputSerializer(), min_length=1, max_length=MAX_VARIANTS
    )


class PromoteInputSerializer(serializers.Serializer):
    variant = TextField(max_length=64, help_text="The winning variant's name.")


class VariantOutputSerializer(serializers.ModelSerializer[ExperimentVariant]):
    prompt_version = serializers.IntegerField(
        source="prompt.version", allow_null=True, read_only=True
    )

    class Meta:
        model = ExperimentVariant
        fields = ("id", "name", "weight", "prompt", "prompt_version")
        read_only_fields = fields


class ExperimentOutputSerializer(serializers.ModelSerializer[Experiment]):
    variants = VariantOutputSerializer(many=True, read_only=True)
    winner = serializers.CharField(source="winner.name", allow_null=True, read_only=True)

    class Meta:
        model = Experiment
        fields = (
            "id",
            "name",
            "status",
            "holdout_share",
            "attribution_days",
            "variants",
            "winner",
            "created_at",
        )
        read_only_fields = fields


class ArmResultSerializer(serializers.Serializer):
    arm = serializers.CharField(help_text="The variant's name, or 'holdout'.")
    variant_id = serializers.UUIDField(allow_null=True)
    prompt_id = serializers.UUIDField(allow_null=True)
    prompt_version = serializers.IntegerField(allow_null=True)
    assigned = serializers.IntegerField()
    n = serializers.IntegerField(help_text="Exposed: sent the arm's nudge (the holdout: all).")
    re_engaged = serializers.IntegerField()
    rate = serializers.FloatField(allow_null=True)
    difference = serializers.FloatField(allow_null=True, help_text="Rate minus the holdout's.")
    ci_low = serializers.FloatField(
        allow_null=True,
        help_text="95 % interval of the difference (Newcombe's hybrid score interval), low end.",
    )
    ci_high = serializers.FloatField(allow_null=True, help_text="Its high end.")
    p_value = serializers.FloatField(allow_null=True, help_text="Two-proportion z-test.")


class ExperimentResultsSerializer(serializers.Serializer):
    experiment_id = serializers.UUIDField()
    status = serializers.CharField()
    winner = serializers.CharField(allow_null=True)
    attribution_days = serializers.IntegerField()
    arms = ArmResultSerializer(many=True)
