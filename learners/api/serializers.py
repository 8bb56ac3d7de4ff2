"""Input serializers validate requests; output serializers shape responses. Never both."""

from collections.abc import Iterable, Mapping
from datetime import datetime, tzinfo
from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from engagement.api.fields import (
    BoundedDateField,
    BoundedDateTimeField,
    StrictBooleanField,
    TextField,
)
from engagement.input_bounds import validate_timezone
from learners.ingestion.validation import email_normalise
from learners.models import (
    COACH_NOTE_MAX_LENGTH,
    FINISHED_STATUSES,
    ActivityEvent,
    CoachNote,
    Cohort,
    EventKind,
    Learner,
    LearnerStatus,
    RiskAssessment,
    RiskBand,
    RiskFeedback,
    RiskFeedbackKind,
    RiskModel,
    learner_dates_problems,
)
from learners.risk.dataset import MAX_CUTOFF_DAYS, MIN_CUTOFF_DAYS
from learners.risk.explanations import assessment_factors
from learners.risk.kind_selection import KIND_CHOICES
from learners.risk.metrics_scope import metrics_within_scope


class CohortInputSerializer(serializers.Serializer):
    name = TextField(max_length=200)
    course_code = TextField(max_length=64, required=False, allow_blank=True)
    starts_on = BoundedDateField()
    ends_on = BoundedDateField(
        required=False, allow_null=True, help_text="Empty for self-paced cohorts."
    )
    timezone = serializers.CharField(max_length=64, required=False, validators=[validate_timezone])

    def validate(self, attrs: dict) -> dict:
        starts_on = attrs.get("starts_on", getattr(self.instance, "starts_on", None))
        ends_on = attrs.get("ends_on", getattr(self.instance, "ends_on", None))
        if starts_on and ends_on and ends_on < starts_on:
            raise serializers.ValidationError({"ends_on": ["Must not be before starts_on."]})
        return attrs


class CohortOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Cohort
        fields = [
            "id",
            "name",
            "course_code",
            "starts_on",
            "ends_on",
            "timezone",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


@extend_schema_field(OpenApiTypes.UUID)
class ScopedCohortField(serializers.PrimaryKeyRelatedField):
    """A cohort id, valid only among the cohorts the caller may see (``context["cohorts"]``)."""

    def get_queryset(self) -> QuerySet[Cohort]:
        return self.context.get("cohorts", Cohort.objects.none())


@extend_schema_field(OpenApiTypes.EMAIL)
class LearnerEmailField(serializers.CharField):
    """A learner's email, by the rule the CSV import applies too (``email_normalise``)."""

    def to_internal_value(self, data: Any) -> str:
        try:
            return email_normalise(super().to_internal_value(data))
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from exc


class _LearnerFieldsSerializer(serializers.Serializer):
    cohort = ScopedCohortField()
    name = TextField(max_length=200, required=False, allow_blank=True)
    email = LearnerEmailField(required=False, allow_blank=True)
    status = serializers.ChoiceField(choices=LearnerStatus.choices, required=False)
    enrolled_at = BoundedDateTimeField(help_text="When the learner enrolled: not in the future.")
    finished_at = BoundedDateTimeField(
        required=False,
        allow_null=True,
        help_text="When a completed or withdrawn learner finished (their final risk is taken as "
        "of then): not before enrolled_at, not in the future. Default: the end of the cohort's "
        "last day (in its time zone) if the course closed after the learner enrolled, else now.",
    )
    nudge_opt_out = serializers.BooleanField(required=False)
    locale = serializers.CharField(max_length=16, required=False)
    timezone = serializers.CharField(max_length=64, required=False, validators=[validate_timezone])

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """The enrolment and finish rules on the values the learner will have: those given, else
        the stored ones (``instance``, when updating)."""
        stored = self.instance
        status = attrs.get("status", getattr(stored, "status", LearnerStatus.ACTIVE))
        if "finished_at" in attrs:
            finished_at = attrs["finished_at"]
        else:
            finished_at = (
                getattr(stored, "finished_at", None) if status in FINISHED_STATUSES else None
            )
        problems = learner_dates_problems(
            status=status,
            enrolled_at=attrs.get("enrolled_at", getattr(stored, "enrolled_at", None)),
            finished_at=finished_at,
            now=timezone.now(),
        )
        if problems:
            raise serializers.ValidationError(problems)
        return attrs


class LearnerCreateSerializer(_LearnerFieldsSerializer):
    # A field named "source" shadows a DRF attribute only in the stubs: the metaclass pops fields.
    source = serializers.CharField(  # type: ignore[assignment]
        max_length=64, help_text="The system this learner comes from, e.g. 'moodle'."
    )
    external_id = serializers.CharField(
        max_length=128, help_text="The learner's id in that system."
    )


class LearnerUpdateSerializer(_LearnerFieldsSerializer):
    """Partial updates: every field optional; identity (source, external id) is fixed."""

    cohort = ScopedCohortField(required=False)
    enrolled_at = BoundedDateTimeField(
        required=False, help_text="When the learner enrolled: not in the future."
    )


class RiskBandOutputField(serializers.ChoiceField):
    """The learner's current band, ``null`` until they are first scored (stored as "")."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=RiskBand.choices, allow_null=True, read_only=True, **kwargs)

    def to_representation(self, value: Any) -> Any:
        return super().to_representation(value) if value else None


class LearnerOutputSerializer(serializers.ModelSerializer):
    cohort_name = serializers.CharField(source="cohort.name", read_only=True)
    risk_band = RiskBandOutputField(help_text="Null until the learner is first scored.")

    class Meta:
        model = Learner
        fields = [
            "id",
            "source",
            "external_id",
            "cohort",
            "cohort_name",
            "name",
            "email",
            "status",
            "enrolled_at",
            "finished_at",
            "progress",
            "last_active_at",
            "nudge_opt_out",
            "locale",
            "timezone",
            "risk_score",
            "risk_band",
            "risk_scored_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields
        personal_fields = ("source", "external_id", "name", "email")


_DATETIMES = (
    "enrolled_at",
    "finished_at",
    "last_active_at",
    "risk_scored_at",
    "created_at",
    "updated_at",
)


def learner_row_values(learners: QuerySet[Learner], *, personal: bool) -> QuerySet[Learner]:
    """``learners`` as the ``values()`` rows :func:`learner_rows` renders. Personal columns are
    read only for callers who see personal data, so nothing else is read or decrypted. The
    cohort's name is a subquery rather than a join, so that counting these rows reads the
    learners alone."""
    hidden = () if personal else LearnerOutputSerializer.Meta.personal_fields
    columns = [
        name
        for name in LearnerOutputSerializer.Meta.fields
        if name not in hidden and name != "cohort_name"
    ]
    cohort_name = Cohort.objects.filter(pk=OuterRef("cohort_id")).order_by().values("name")
    return learners.values(*columns, cohort_name=Subquery(cohort_name))


def learner_rows(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """List rows as :class:`LearnerOutputSerializer` renders them, from the rows of
    :func:`learner_row_values`: a page of plain dicts costs a fraction of a serializer's (tests
    hold the two outputs equal)."""
    zone = timezone.get_current_timezone()
    rendered = []
    for row in rows:
        item = dict(row)
        item["id"] = str(item["id"])  # the cohort stays a UUID, as a related field leaves it
        item["risk_band"] = item["risk_band"] or None
        for name in _DATETIMES:
            if item[name] is not None:
                item[name] = _datetime_text(item[name], zone)
        rendered.append(item)
    return rendered


def _datetime_text(value: datetime, zone: tzinfo) -> str:
    """A date-time as DRF's ``DateTimeField`` writes it (ISO 8601 in the current time zone,
    "Z" for UTC) at a quarter of its cost."""
    text = value.astimezone(zone).isoformat()
    return text.removesuffix("+00:00") + "Z" if text.endswith("+00:00") else text


class ActivityEventOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = ActivityEvent
        fields = [
            "id",
            "kind",
            "occurred_at",
            "duration_seconds",
            "score",
            "source",
            "source_event_id",
            "metadata",
            "ingested_at",
        ]
        read_only_fields = fields
        # Source ids often embed the learner's external id or email; metadata is free-form.
        personal_fields = ("source", "source_event_id", "metadata")


class EventInputSerializer(serializers.Serializer):
    """Documents one item of an ingestion batch (validated by the ingestion service, not here)."""

    learner_id = serializers.UUIDField(
        required=False, help_text="The learner's id, or use learner_external_id."
    )
    learner_external_id = serializers.CharField(
        required=False, help_text="The learner's id in its source system."
    )
    learner_source = serializers.CharField(
        required=False, help_text="The learner's source, if not the event's."
    )
    source = serializers.CharField(max_length=64)  # type: ignore[assignment]
    source_event_id = serializers.CharField(
        max_length=128, help_text="Unique per source: the idempotency key."
    )
    kind = serializers.ChoiceField(choices=EventKind.choices)
    occurred_at = serializers.DateTimeField(help_text="ISO 8601; taken as UTC without an offset.")
    duration_seconds = serializers.IntegerField(min_value=0, required=False, allow_null=True)
    score = serializers.FloatField(min_value=0, max_value=1, required=False, allow_null=True)
    metadata = serializers.DictField(required=False)


class RejectedItemSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the item in the request (0-based).")
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))  # type: ignore[assignment]


class IngestReportSerializer(serializers.Serializer):
    accepted = serializers.IntegerField(help_text="New events stored.")
    duplicates = serializers.IntegerField(
        help_text="Events already stored (or repeated in the batch)."
    )
    rejected = RejectedItemSerializer(many=True)


class RiskFactorSerializer(serializers.Serializer):
    factor = serializers.CharField()
    value = serializers.FloatField()
    contribution = serializers.FloatField(
        help_text="Log-odds this factor adds; factors + intercept = logit."
    )
    explanation = serializers.CharField()


class RiskAssessmentOutputSerializer(serializers.ModelSerializer):
    model_version = serializers.IntegerField(source="model.version", read_only=True)
    factors = serializers.SerializerMethodField()

    class Meta:
        model = RiskAssessment
        fields = ["id", "as_of", "score", "band", "model_version", "factors", "computed_at"]
        read_only_fields = fields

    @extend_schema_field(RiskFactorSerializer(many=True))
    def get_factors(self, assessment: RiskAssessment) -> Any:
        """Worded when read (``learners.risk.explanations``), never stored."""
        return RiskFactorSerializer(assessment_factors(assessment), many=True).data


class RiskChangeSerializer(serializers.Serializer):
    factor = serializers.CharField()
    previous_value = serializers.FloatField()
    value = serializers.FloatField()
    contribution_change = serializers.FloatField()


class RiskLeverSerializer(serializers.Serializer):
    factor = serializers.CharField()
    score_after = serializers.FloatField(
        help_text="The score if this factor improved realistically."
    )
    reduction = serializers.FloatField()


class RiskFeedbackSummarySerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=RiskFeedbackKind.choices)
    note = serializers.CharField(help_text="The coach's note (personal data: not for analysts).")
    created_at = serializers.DateTimeField()

    class Meta:
        personal_fields = ("note",)


class RiskDetailSerializer(serializers.Serializer):
    """Documents the risk detail response (built by the risk selectors).

    A learner no model has scored yet has ``scored: false``, ``stale: true``, ``null`` values
    and empty lists: a background rescore is queued when learners are added or change."""

    learner = serializers.UUIDField()
    scored = serializers.BooleanField(help_text="False until a model has scored the learner.")
    stale = serializers.BooleanField(
        help_text="Activity or a change arrived since this assessment, the active model did not "
        "make it, or there is none yet: a background rescore will refresh it."
    )
    score = serializers.FloatField(allow_null=True)
    band = serializers.ChoiceField(choices=RiskBand.choices, allow_null=True)
    model_version = serializers.IntegerField(allow_null=True)
    model_kind = serializers.CharField(allow_null=True)
    as_of = serializers.DateTimeField(allow_null=True)
    little_data = serializers.BooleanField(
        allow_null=True, help_text="Too little history for a confident score."
    )
    factors = RiskFactorSerializer(many=True)
    previous = serializers.DictField(
        allow_null=True,
        help_text="The previous assessment: score, band, as_of and model_version.",
    )
    model_changed = serializers.BooleanField(
        help_text="The previous assessment is by another model version: its factors are not "
        "comparable, so changes is empty."
    )
    changes = RiskChangeSerializer(
        many=True,
        help_text="Factor changes since the previous assessment of the same model version.",
    )
    best_lever = RiskLeverSerializer(allow_null=True)
    feedback = RiskFeedbackSummarySerializer(
        allow_null=True, help_text="The latest coach feedback on this learner."
    )


class RiskFeedbackInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=RiskFeedbackKind.choices)
    note = TextField(required=False, allow_blank=True, max_length=2000)


class RiskFeedbackOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = RiskFeedback
        fields = ["id", "kind", "note", "score_at_feedback", "assessment", "created_at"]
        read_only_fields = fields
        personal_fields = ("note",)


# Needs context["cohorts_in_scope"] (see selectors.cohort_refs_in_scope): the metrics then
# mention no other cohort (None: every cohort may be mentioned). The docstring below is public:
# drf-spectacular shows it as the schema's description.
class RiskModelOutputSerializer(serializers.ModelSerializer):
    """A risk model version: its kind, whether it is the one active version, its band thresholds
    and the evaluation stored when it was trained (a coach sees only the figures of their own
    cohorts)."""

    thresholds = serializers.SerializerMethodField()

    class Meta:
        model = RiskModel
        fields = [
            "id",
            "version",
            "kind",
            "is_active",
            "trained_at",
            "thresholds",
            "metrics",
            "notes",
            "created_at",
        ]
        read_only_fields = fields

    def get_thresholds(self, model: RiskModel) -> dict[str, float]:
        return dict(model.parameters.get("thresholds", {}))

    def to_representation(self, instance: RiskModel) -> dict[str, Any]:
        data = super().to_representation(instance)
        cohorts = self.context["cohorts_in_scope"]
        if cohorts is not None:
            data["metrics"] = metrics_within_scope(data["metrics"], cohorts)
        return data


class RiskModelTrainSerializer(serializers.Serializer):
    cutoff_days = serializers.IntegerField(
        min_value=MIN_CUTOFF_DAYS,
        max_value=MAX_CUTOFF_DAYS,
        default=28,
        help_text="Features as of this many days after enrolment.",
    )
    kind = serializers.ChoiceField(
        choices=KIND_CHOICES,
        default="auto",
        help_text="auto: the trainable kind with the best validation ROC AUC.",
    )
    activate = StrictBooleanField(
        default=False,
        help_text="Activate if at least as good as the active model and better than the best "
        "naive baseline.",
    )
    force = StrictBooleanField(
        default=False,
        help_text="Only with activate (refused otherwise): activate even if worse (recorded in "
        "the audit log).",
    )


class RiskModelActivateSerializer(serializers.Serializer):
    force = StrictBooleanField(
        default=False,
        help_text="Activate even if worse than the active model or the best naive baseline on "
        "its test set (recorded in the audit log with the figures overridden).",
    )


class RescoreInputSerializer(serializers.Serializer):
    cohort_id = serializers.UUIDField(
        required=False, allow_null=True, help_text="Only this cohort."
    )
    as_of = BoundedDateTimeField(
        required=False,
        allow_null=True,
        help_text="Score as of this time (backfill): not in the future, not before the cohort "
        "(without cohort_id, the first cohort) started. Assessments as of a time before a "
        "learner's current one are stored as history only.",
    )
    stale_only = serializers.BooleanField(
        default=False, help_text="Only learners with new activity."
    )


class CoachNoteInputSerializer(serializers.Serializer):
    body = TextField(max_length=COACH_NOTE_MAX_LENGTH)


class CoachNoteOutputSerializer(serializers.ModelSerializer):
    author = serializers.CharField(
        source="author.username",
        allow_null=True,
        default=None,
        help_text="The author's username; null once their account is deleted.",
    )

    class Meta:
        model = CoachNote
        fields = ["id", "body", "author", "created_at"]
        read_only_fields = fields
        personal_fields = ("body",)
