"""A campaign as the API takes and shows it, and its preview."""

import uuid
from typing import Any

from rest_framework import serializers

from engagement.api.fields import StrictBooleanField, TextField
from nudges.api.serializers import NudgeSerializer
from nudges.campaigns import MAX_CRITERION_DAYS, PREVIEW_MAX, PREVIEW_SAMPLE
from nudges.models import Campaign, Category, Channel, Experiment, Nudge

#: A minimum band admits itself and the bands above it.
BANDS = ("low", "medium", "high")
MAX_CHOSEN_LEARNERS = 10_000
#: A nudge's fields that only a stored one has: a preview's sample leaves them out.
STORED_ONLY = frozenset(
    [
        "approved_at",
        "clicked_at",
        "created_at",
        "error",
        "id",
        "opened_at",
        "re_engaged_at",
        "read_at",
        "scheduled_for",
        "sent_at",
        "status",
        "suppressed_rule",
    ]
)


class CampaignInputSerializer(serializers.Serializer):
    name = TextField(max_length=200)
    cohorts = serializers.ListField(
        child=serializers.UUIDField(),
        required=False,
        default=list,
        max_length=1000,
        help_text="Cohort ids; none: every cohort you may see.",
    )
    learner_ids = serializers.ListField(
        child=serializers.UUIDField(),
        required=False,
        default=list,
        max_length=MAX_CHOSEN_LEARNERS,
        help_text="Only these learners (a selection); none: any who meet the criteria.",
    )
    min_band = serializers.ChoiceField(
        choices=BANDS, required=False, allow_blank=True, default="", help_text="Lowest band."
    )
    inactive_days = serializers.IntegerField(
        min_value=0, max_value=MAX_CRITERION_DAYS, required=False, allow_null=True, default=None
    )
    not_nudged_days = serializers.IntegerField(
        min_value=0,
        max_value=MAX_CRITERION_DAYS,
        required=False,
        allow_null=True,
        default=None,
        help_text="Leave out learners sent a nudge within this many days.",
    )
    exclude_not_applicable = StrictBooleanField(
        required=False,
        default=True,
        help_text='Leave out learners a coach marked "not applicable" lately.',
    )
    channel = serializers.ChoiceField(choices=Channel.choices)
    category = serializers.ChoiceField(
        choices=Category.choices, required=False, default=Category.REENGAGEMENT
    )
    prompt_key = serializers.SlugField(max_length=64, required=False, allow_blank=True, default="")
    experiment = serializers.PrimaryKeyRelatedField(
        queryset=Experiment.objects.all(),
        required=False,
        allow_null=True,
        default=None,
        error_messages={"does_not_exist": "No experiment with this id."},
    )
    approval = serializers.ChoiceField(
        choices=Campaign.Approval.choices, required=False, default=Campaign.Approval.REVIEW
    )
    schedule = serializers.ChoiceField(
        choices=Campaign.Schedule.choices,
        required=False,
        allow_blank=True,
        default=Campaign.Schedule.ONCE,
        help_text="daily or weekly: an automation; blank: once.",
    )

    def to_service(self) -> dict[str, Any]:
        """The validated input as ``nudges.campaigns.campaign_create`` takes it."""
        data = dict(self.validated_data)
        data["cohort_ids"] = data.pop("cohorts")
        return data


class CampaignOutputSerializer(serializers.ModelSerializer[Campaign]):
    cohorts = serializers.SerializerMethodField(help_text="Cohort ids; none: every cohort.")
    learner_ids = serializers.ListField(child=serializers.UUIDField(), read_only=True)
    # Not the model's slug pattern: blank is an answer here (the experiment's or default prompt).
    prompt_key = serializers.CharField(read_only=True)
    nudges = serializers.SerializerMethodField(
        help_text="The campaign's nudges by status (all its runs)."
    )

    class Meta:
        model = Campaign
        fields = (
            "id",
            "name",
            "cohorts",
            "learner_ids",
            "min_band",
            "inactive_days",
            "not_nudged_days",
            "exclude_not_applicable",
            "channel",
            "category",
            "prompt_key",
            "experiment",
            "approval",
            "schedule",
            "is_active",
            "last_run_at",
            "created_at",
            "nudges",
        )
        read_only_fields = fields

    def get_cohorts(self, campaign: Campaign) -> list[uuid.UUID]:
        return [cohort.pk for cohort in campaign.cohorts.all()]

    def get_nudges(self, campaign: Campaign) -> dict[str, int]:
        counts: dict[str, int] = self.context.get("nudge_counts", {}).get(campaign.pk, {})
        return counts


class CampaignPreviewInputSerializer(serializers.Serializer):
    sample = serializers.IntegerField(
        min_value=0,
        max_value=PREVIEW_MAX,
        required=False,
        default=PREVIEW_SAMPLE,
        help_text="How many sample messages to write.",
    )


class SampleNudgeSerializer(NudgeSerializer):
    """A message a run would write, never stored: none of a stored nudge's own fields."""

    class Meta:
        model = Nudge
        fields = tuple(name for name in NudgeSerializer.Meta.fields if name not in STORED_ONLY)
        read_only_fields = fields


class CampaignPreviewSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Learners a run would select now.")
    holdout = serializers.IntegerField(
        help_text="Of those, how many the experiment holds out (they get nothing)."
    )
    sample = SampleNudgeSerializer(many=True)
