"""The shapes of the analytics API's answers (read-only) and of its query parameters."""

from rest_framework import serializers

from analytics.selectors import TREND_DAYS_DEFAULT, TREND_DAYS_MAX
from learners.contracts import EVENT_KINDS


class TrendQuerySerializer(serializers.Serializer):
    days = serializers.IntegerField(
        min_value=1,
        max_value=TREND_DAYS_MAX,
        default=TREND_DAYS_DEFAULT,
        help_text=f"Days of history, today included (1 to {TREND_DAYS_MAX}).",
    )


class KpiSerializer(serializers.Serializer):
    value = serializers.FloatField(allow_null=True, help_text="The figure now.")
    previous = serializers.FloatField(
        allow_null=True, help_text="The figure 7 days ago, from the snapshots (null without one)."
    )
    change = serializers.FloatField(allow_null=True, help_text="value - previous.")
    available = serializers.BooleanField(
        help_text="False while the app that brings this figure is not installed (value null)."
    )
    note = serializers.CharField()


class OverviewSerializer(serializers.Serializer):
    as_of = serializers.DateTimeField()
    learners_studying = KpiSerializer()
    high_risk = KpiSerializer(help_text="Studying learners in the high band.")
    alerts_waiting = KpiSerializer(help_text="Risk alerts not delivered to coaches yet.")
    nudges_sent = KpiSerializer(help_text="Nudges sent this month (arrives with nudges).")
    re_engagement_rate = KpiSerializer(help_text="Share of nudged learners active again.")
    llm_cost_month = KpiSerializer(help_text="LLM cost this month (arrives with nudges).")


class CohortDistributionSerializer(serializers.Serializer):
    cohort_id = serializers.UUIDField()
    name = serializers.CharField()
    course_code = serializers.CharField()
    learners = serializers.IntegerField()
    studying = serializers.IntegerField()
    completed = serializers.IntegerField()
    withdrawn = serializers.IntegerField()
    high_risk = serializers.IntegerField(help_text="Studying, high band.")
    medium_risk = serializers.IntegerField(help_text="Studying, medium band.")
    low_risk = serializers.IntegerField(help_text="Studying, low band.")
    unscored = serializers.IntegerField(help_text="Studying, not scored yet.")


#: Events of each kind: one integer field per kind of ``learners.contracts.EVENT_KINDS``.
EventCountsSerializer = type(
    "EventCountsSerializer",
    (serializers.Serializer,),
    {kind: serializers.IntegerField() for kind in EVENT_KINDS},
)


class EngagementDaySerializer(serializers.Serializer):
    day = serializers.DateField()
    active_learners = serializers.IntegerField(help_text="Learners with an event that day.")
    events_total = serializers.IntegerField()
    events = EventCountsSerializer()


class RiskDaySerializer(serializers.Serializer):
    day = serializers.DateField()
    studying = serializers.IntegerField(help_text="As of the end of the day (UTC).")
    high = serializers.IntegerField()
    medium = serializers.IntegerField()
    low = serializers.IntegerField()
    unscored = serializers.IntegerField()


class CaseloadSerializer(serializers.Serializer):
    coach_id = serializers.UUIDField()
    coach_name = serializers.CharField()
    cohorts = serializers.IntegerField()
    learners = serializers.IntegerField(help_text="Studying learners of the coach's cohorts.")
    high_risk = serializers.IntegerField()
    high_risk_without_action = serializers.IntegerField(
        help_text="High risk with no coach mark within RISK_FEEDBACK_QUIET_DAYS."
    )


class AttentionSerializer(serializers.Serializer):
    learner_id = serializers.UUIDField()
    label = serializers.CharField(  # type: ignore[assignment]
        help_text="The learner's name, or a pseudonym for callers without personal data."
    )
    cohort_id = serializers.UUIDField()
    cohort_name = serializers.CharField()
    score = serializers.FloatField(allow_null=True)
    top_factor = serializers.CharField(help_text="The factor pushing the risk up most, in words.")
    high_since = serializers.DateTimeField(allow_null=True)


class BandChangeSerializer(serializers.Serializer):
    learner_id = serializers.UUIDField()
    label = serializers.CharField()  # type: ignore[assignment]
    cohort_name = serializers.CharField()
    score = serializers.FloatField(allow_null=True)
    band_before = serializers.CharField(allow_null=True)
    band_now = serializers.CharField()


class BandChangesSerializer(serializers.Serializer):
    since = serializers.DateTimeField()
    now = serializers.DateTimeField()
    became_high = serializers.IntegerField(help_text="Studying learners who entered the high band.")
    recovered = serializers.IntegerField(help_text="Learners who left the high band.")
    became_high_rows = BandChangeSerializer(many=True, help_text="The riskiest of them.")
    recovered_rows = BandChangeSerializer(many=True, help_text="The most improved of them.")
