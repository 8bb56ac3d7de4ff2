"""The shapes of the analytics API's answers (read-only) and of its query parameters.

Times are given in UTC whoever asks (a signed-in browser session activates the viewer's zone,
which must not change the figures or their CSV), and days are UTC days (docs/analytics.md).
"""

from datetime import UTC
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from analytics.selectors import TREND_DAYS_DEFAULT, TREND_DAYS_MAX, CohortCard
from learners.contracts import EVENT_KINDS


class TrendQuerySerializer(serializers.Serializer):
    days = serializers.IntegerField(
        min_value=1,
        max_value=TREND_DAYS_MAX,
        default=TREND_DAYS_DEFAULT,
        help_text=f"Days of history, today included (1 to {TREND_DAYS_MAX}).",
    )


class UTCDateTimeField(serializers.DateTimeField):
    """An instant written in UTC, not in the zone the request activated."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(default_timezone=UTC, **kwargs)  # type: ignore[arg-type]


class KpiSerializer(serializers.Serializer):
    value = serializers.FloatField(allow_null=True, help_text="The figure now (live).")
    previous = serializers.FloatField(
        allow_null=True,
        help_text="The snapshot of reference_day, over the cohorts with a snapshot both then "
        "and today (null when there is none).",
    )
    change = serializers.FloatField(
        allow_null=True,
        help_text="Today's snapshot minus previous, over the same cohorts (null without them).",
    )
    reference_day = serializers.DateField(
        allow_null=True, help_text="The UTC day compared with: 7 days before today."
    )
    available = serializers.BooleanField(
        help_text="False while the app that brings this figure is not installed (value null)."
    )
    period_start = serializers.DateField(
        allow_null=True,
        help_text="The nudge figures: the UTC day their month began (they have no 7-day change).",
    )
    note = serializers.CharField()


class OverviewSerializer(serializers.Serializer):
    as_of = UTCDateTimeField()
    learners_studying = KpiSerializer()
    high_risk = KpiSerializer(help_text="Studying learners in the high band.")
    alerts_waiting = KpiSerializer(help_text="Risk alerts not delivered to coaches yet.")
    nudges_sent = KpiSerializer(help_text="Nudges sent this UTC month so far.")
    re_engagement_rate = KpiSerializer(
        help_text="Share of this month's sent nudges whose learner came back within the "
        "attribution window (null when none was sent)."
    )
    llm_cost_month = KpiSerializer(help_text="LLM cost this UTC month so far, in US dollars.")


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
    {kind: serializers.IntegerField(allow_null=True) for kind in EVENT_KINDS},
)


class EngagementDaySerializer(serializers.Serializer):
    day = serializers.DateField(help_text="The UTC day; counts are null without its snapshot.")
    active_learners = serializers.IntegerField(
        allow_null=True, help_text="Learners with an event that day."
    )
    events_total = serializers.IntegerField(allow_null=True)
    events = EventCountsSerializer()


class RiskDaySerializer(serializers.Serializer):
    day = serializers.DateField(help_text="The UTC day; counts are null without its snapshot.")
    studying = serializers.IntegerField(
        allow_null=True, help_text="As of the end of the day (UTC)."
    )
    high = serializers.IntegerField(allow_null=True)
    medium = serializers.IntegerField(allow_null=True)
    low = serializers.IntegerField(allow_null=True)
    unscored = serializers.IntegerField(allow_null=True)


class HighRiskDaySerializer(serializers.Serializer):
    day = serializers.DateField(help_text="The UTC day.")
    high = serializers.IntegerField(
        allow_null=True, help_text="Studying, high band, as of the day's end (null: no snapshot)."
    )


class CohortCardSerializer(serializers.Serializer):
    """A card of the cohorts page: the cohort's counts, its coaches and its high-risk trend."""

    cohort_id = serializers.UUIDField(source="summary.cohort_id")
    name = serializers.CharField(source="summary.name")
    course_code = serializers.CharField(source="summary.course_code")
    starts_on = serializers.DateField(source="summary.starts_on")
    ends_on = serializers.DateField(source="summary.ends_on", allow_null=True)
    learners = serializers.IntegerField(source="summary.learners")
    studying = serializers.IntegerField(source="summary.studying")
    high_risk = serializers.IntegerField(source="summary.high_risk")
    medium_risk = serializers.IntegerField(source="summary.medium_risk")
    coaches = serializers.ListField(
        child=serializers.CharField(), help_text="The names of the cohort's coaches."
    )
    high_risk_trend = serializers.SerializerMethodField()

    @extend_schema_field(HighRiskDaySerializer(many=True))
    def get_high_risk_trend(self, card: CohortCard) -> list[dict[str, Any]]:
        return [{"day": day, "high": high} for day, high in card.high_risk_trend]


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
    high_since = UTCDateTimeField(allow_null=True)


class BandChangeSerializer(serializers.Serializer):
    learner_id = serializers.UUIDField()
    label = serializers.CharField()  # type: ignore[assignment]
    cohort_name = serializers.CharField()
    score = serializers.FloatField(allow_null=True)
    band_before = serializers.CharField(allow_null=True)
    band_now = serializers.CharField()


class BandChangesSerializer(serializers.Serializer):
    since = UTCDateTimeField()
    now = UTCDateTimeField()
    became_high = serializers.IntegerField(help_text="Studying learners who entered the high band.")
    recovered = serializers.IntegerField(help_text="Learners who left the high band.")
    became_high_rows = BandChangeSerializer(many=True, help_text="The riskiest of them.")
    recovered_rows = BandChangeSerializer(many=True, help_text="The most improved of them.")
