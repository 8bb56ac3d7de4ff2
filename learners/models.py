"""Cohorts, learners and their activity events: the data every other feature reads."""

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models
from django.db.models import Q
from django.utils import timezone

from engagement.crypto import EncryptedTextField
from engagement.ids import uuid7
from engagement.input_bounds import (
    future_problem,
    validate_date,
    validate_datetime,
    validate_json,
    validate_timezone,
)
from engagement.models import BaseModel


class Cohort(BaseModel):
    """A group of learners taking a course together; ``ends_on`` is empty for self-paced cohorts."""

    name = models.CharField(max_length=200, unique=True)
    course_code = models.CharField(max_length=64, blank=True)
    starts_on = models.DateField(validators=[validate_date])
    ends_on = models.DateField(null=True, blank=True, validators=[validate_date])
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])

    class Meta:
        ordering = ["-starts_on", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=models.F("starts_on")),
                name="cohort_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CohortAssignment(models.Model):
    """A coach works with the learners of a cohort: the one row coach scoping joins on.

    The unique (user, cohort) index leads with the user, so a coach's cohort ids are read from
    the index alone; the cohort foreign key's index finds a cohort's coaches.
    """

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    user = models.ForeignKey(
        "engagement.User", on_delete=models.CASCADE, related_name="cohort_assignments"
    )
    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="assignments")
    assigned_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "cohort"], name="cohort_assigned_once_per_user")
        ]

    def __str__(self) -> str:
        return f"assigned {self.assigned_at:%Y-%m-%d}"


class LearnerStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"
    COMPLETED = "completed", "Completed"
    WITHDRAWN = "withdrawn", "Withdrawn"


STUDYING_STATUSES = (LearnerStatus.ACTIVE, LearnerStatus.PAUSED)
FINISHED_STATUSES = (LearnerStatus.COMPLETED, LearnerStatus.WITHDRAWN)


#: The API's wording since the first version (DRF's ``EmailField``): a contract.
INVALID_EMAIL = "Enter a valid email address."


def validate_learner_email(value: str) -> None:
    """The one learner email rule: what Django's ``EmailValidator`` accepts, blank meaning none.

    On the model field, so every form (the admin's included) refuses what the API and the CSV
    import refuse; ``learners.ingestion.validation.email_normalise`` applies it to each door.
    """
    text = (value or "").strip()
    if text:
        try:
            validate_email(text)
        except ValidationError:
            raise ValidationError(INVALID_EMAIL, code="invalid") from None


def day_start(day: date, timezone_name: str) -> datetime:
    """When ``day`` begins in a cohort's time zone (an unknown zone counts as UTC), in UTC."""
    try:
        zone: Any = ZoneInfo(timezone_name)
    except (ZoneInfoNotFoundError, ValueError):
        zone = UTC
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def course_closed_at(
    ends_on: date | None,
    now: datetime,
    *,
    timezone_name: str = "UTC",
    enrolled_at: datetime | None = None,
) -> datetime:
    """When a course is over for a learner who finished it: the end of the cohort's last day in
    the cohort's time zone; ``now`` if that is later, the course is self-paced (no end date), or
    it closed before the learner enrolled. Never before ``enrolled_at``."""
    closed = now
    if ends_on is not None and ends_on <= now.date():
        # Also keeps an absurd end date stored long ago (9999-12-31) from overflowing.
        closed = min(day_start(ends_on + timedelta(days=1), timezone_name), now)
    if enrolled_at is not None and closed < enrolled_at:
        return max(now, enrolled_at)
    return closed


def learner_dates_problems(
    *,
    status: str,
    enrolled_at: datetime | None,
    finished_at: datetime | None,
    now: datetime,
) -> dict[str, list[str]]:
    """Why a learner's enrolment and finish times cannot be stored, as ``{"field": ["why"]}``.

    One rule for every door (API, CSV import, admin): nobody enrols or finishes in the future
    (``FUTURE_TOLERANCE`` of clock skew allowed), only completed or withdrawn learners have
    finished, and not before they enrolled (their final risk is taken as of then). Pass the
    ``finished_at`` given or kept, ``None`` when the default (``course_closed_at``) applies.
    """
    problems: dict[str, list[str]] = {}
    enrolled_problem = None if enrolled_at is None else future_problem(enrolled_at, now=now)
    if enrolled_problem:
        problems["enrolled_at"] = [enrolled_problem]
    if finished_at is None:
        return problems
    finished_problem = future_problem(finished_at, now=now)
    if status not in FINISHED_STATUSES:
        problems["finished_at"] = ["Only completed or withdrawn learners have finished."]
    elif finished_problem:
        problems["finished_at"] = [finished_problem]
    elif enrolled_at is not None and finished_at < enrolled_at:
        problems["finished_at"] = [
            f"Must not be before enrolled_at ({enrolled_at.isoformat()}): nobody finishes "
            "before they enrol."
        ]
    return problems


class RiskBand(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class Learner(BaseModel):
    """A person enrolled in a cohort, identified by ``external_id`` within its source system."""

    source = models.CharField(max_length=64)
    external_id = models.CharField(max_length=128)
    cohort = models.ForeignKey(Cohort, on_delete=models.PROTECT, related_name="learners")
    # Personal data: encrypted at rest; found through keyed hashes (see engagement.crypto).
    name = EncryptedTextField(blank=True)
    email = EncryptedTextField(blank=True, validators=[validate_learner_email])
    email_hash = models.CharField(max_length=64, blank=True, editable=False)
    name_tokens = models.TextField(blank=True, editable=False)
    erased_at = models.DateTimeField(null=True, blank=True, editable=False)
    status = models.CharField(
        max_length=16, choices=LearnerStatus.choices, default=LearnerStatus.ACTIVE
    )
    enrolled_at = models.DateTimeField(validators=[validate_datetime])
    # When the learner completed or withdrew (their final risk is taken as of then); set for
    # finished learners only.
    finished_at = models.DateTimeField(null=True, blank=True, validators=[validate_datetime])
    progress = models.FloatField(
        default=0.0,
        help_text="Share of the course's lessons completed, as of the learner's current risk "
        "assessment (set by scoring; see docs/risk.md).",
    )
    last_active_at = models.DateTimeField(null=True, blank=True)
    nudge_opt_out = models.BooleanField(default=False)
    locale = models.CharField(max_length=16, default="en")
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    risk_score = models.FloatField(null=True, blank=True)
    risk_band = models.CharField(max_length=8, choices=RiskBand.choices, blank=True)
    risk_scored_at = models.DateTimeField(null=True, blank=True)
    # Kept by scoring with the current risk (``learners.risk.services``): the band before the
    # last change of band (blank if none: first scored) and when the current band began, so
    # "since yesterday" and "high since" are read from the learner row, not the history.
    risk_band_previous = models.CharField(max_length=8, choices=RiskBand.choices, blank=True)
    risk_band_changed_at = models.DateTimeField(null=True, blank=True)
    # Set for new learners and when activity or a change arrives; the incremental rescore
    # queued then (``learners.tasks.rescore_stale_soon``) picks these learners up.
    risk_stale = models.BooleanField(default=True)

    class Meta:
        ordering = ["external_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"], name="learner_unique_external_id"
            ),
            models.CheckConstraint(
                condition=Q(progress__gte=0) & Q(progress__lte=1), name="learner_progress_0_1"
            ),
            models.CheckConstraint(
                condition=Q(status__in=STUDYING_STATUSES, finished_at__isnull=True)
                | Q(status__in=FINISHED_STATUSES, finished_at__isnull=False),
                name="learner_finished_at_iff_finished",
            ),
            models.CheckConstraint(
                condition=Q(risk_score__isnull=True)
                | (Q(risk_score__gte=0) & Q(risk_score__lte=1)),
                name="learner_risk_score_0_1",
            ),
        ]
        indexes = [
            models.Index(fields=["cohort", "status"], name="learner_cohort_status"),
            models.Index(fields=["email_hash"], name="learner_email_hash"),
            # "Since yesterday": studying learners whose band changed lately, a range read.
            models.Index(
                fields=["risk_band_changed_at"],
                condition=Q(status__in=STUDYING_STATUSES),
                name="learner_studying_band_changed",
            ),
            # The caseload table's orders have partial indexes of their own, written in SQL by
            # migration 0024_caseload_indexes (SQLite cannot declare NULLS FIRST in an index),
            # and the API's orders over every learner theirs (0028_learner_list_indexes), which
            # also serve ranges of risk_score and last_active_at.
        ]

    def __str__(self) -> str:
        return f"{self.external_id} ({self.source})"

    def clean(self) -> None:
        """The enrolment and finish rules (``learner_dates_problems``) on the values as they
        will be saved: a finish time kept from before the learner returned to studying is
        dropped before saving (``learners.services.learner_prepare``), so it is not held
        against them."""
        kept = self.finished_at if self.status in FINISHED_STATUSES else None
        problems = learner_dates_problems(
            status=self.status,
            enrolled_at=self.enrolled_at,
            finished_at=kept,
            now=timezone.now(),
        )
        if problems:
            raise ValidationError(problems)


class EventKind(models.TextChoices):
    LOGIN = "login", "Login"
    CONTENT_VIEW = "content_view", "Content viewed"
    VIDEO_WATCHED = "video_watched", "Video watched"
    LESSON_COMPLETED = "lesson_completed", "Lesson completed"
    ASSESSMENT_STARTED = "assessment_started", "Assessment started"
    ASSESSMENT_SUBMITTED = "assessment_submitted", "Assessment submitted"
    ASSESSMENT_PASSED = "assessment_passed", "Assessment passed"
    ASSESSMENT_FAILED = "assessment_failed", "Assessment failed"
    FORUM_POST = "forum_post", "Forum post"
    # Activity a source reported that none of the kinds above describes (an xAPI verb outside
    # the verb table, say): it shows the learner was there, nothing more. See docs/risk.md.
    OTHER = "other", "Other activity"


class ActivityEvent(models.Model):
    """One thing a learner did; ``(source, source_event_id)`` makes ingestion idempotent."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    # No index of its own: event_learner_time (learner, occurred_at) leads with it.
    learner = models.ForeignKey(
        Learner, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    kind = models.CharField(max_length=32, choices=EventKind.choices)
    occurred_at = models.DateTimeField(validators=[validate_datetime])
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    score = models.FloatField(null=True, blank=True)
    source = models.CharField(max_length=64)
    source_event_id = models.CharField(max_length=128)
    metadata = models.JSONField(default=dict, blank=True, validators=[validate_json])
    ingested_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "source_event_id"], name="event_unique_source_id"
            ),
            models.CheckConstraint(
                condition=Q(score__isnull=True) | (Q(score__gte=0) & Q(score__lte=1)),
                name="event_score_0_1",
            ),
        ]
        indexes = [models.Index(fields=["learner", "occurred_at"], name="event_learner_time")]

    def __str__(self) -> str:
        return f"{self.kind} at {self.occurred_at:%Y-%m-%d %H:%M}"


class RiskModelKind(models.TextChoices):
    RULES = "rules", "Rules (documented default weights)"
    LOGISTIC = "logistic", "Logistic regression (trained)"
    BOOSTED = "boosted", "Boosted step functions per feature (trained)"


class RiskModel(BaseModel):
    """A versioned scoring model; exactly one is active. Rollback = activate an older version."""

    version = models.PositiveIntegerField(unique=True)
    kind = models.CharField(max_length=16, choices=RiskModelKind.choices)
    parameters = models.JSONField()
    metrics = models.JSONField(default=dict, blank=True)
    trained_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=False)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"], condition=Q(is_active=True), name="risk_model_one_active"
            ),
        ]

    def __str__(self) -> str:
        return f"v{self.version} ({self.kind}{', active' if self.is_active else ''})"


class RiskAssessment(models.Model):
    """One scoring of one learner by one model version as of a time; history is kept."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    # Indexed by the (learner, -as_of) index and the uniqueness below, which both lead with it.
    learner = models.ForeignKey(
        Learner, on_delete=models.CASCADE, related_name="risk_assessments", db_index=False
    )
    model = models.ForeignKey(RiskModel, on_delete=models.PROTECT, related_name="assessments")
    as_of = models.DateTimeField()
    score = models.FloatField()
    band = models.CharField(max_length=8, choices=RiskBand.choices)
    factors = models.JSONField()
    features = models.JSONField()
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["-as_of", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["learner", "model", "as_of"], name="risk_assessment_once_per_run"
            ),
            models.CheckConstraint(
                condition=Q(score__gte=0) & Q(score__lte=1), name="risk_assessment_score_0_1"
            ),
        ]
        indexes = [models.Index(fields=["learner", "-as_of"], name="risk_assessment_learner_time")]

    def __str__(self) -> str:
        return f"{self.score:.2f} ({self.band}) as of {self.as_of:%Y-%m-%d}"


class RiskAlertStatus(models.TextChoices):
    PENDING = "pending", "Pending: not delivered to every recipient yet"
    DELIVERED = "delivered", "Delivered"
    QUIETED = "quieted", "Quieted by coach feedback (not mailed)"
    CLOSED = "closed", "Closed: the learner finished before it was delivered (not mailed)"


class RiskAlertReason(models.TextChoices):
    """Why a pending alert has not been delivered yet; the digest retries it every run."""

    NONE = "", "-"
    NO_RECIPIENT = "no_recipient", "Nobody to receive it: no coach or admin with an email address"


class RiskAlert(models.Model):
    """A learner who entered the high band, waiting for their coaches' daily digest.

    It stays ``pending`` (with the ``reason``) until every recipient got it, so an alert nobody
    could receive is never lost; ``digested_at`` is when it was delivered or quieted.
    """

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    learner = models.ForeignKey(Learner, on_delete=models.CASCADE, related_name="risk_alerts")
    score = models.FloatField()
    as_of = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(
        max_length=16, choices=RiskAlertStatus.choices, default=RiskAlertStatus.PENDING
    )
    reason = models.CharField(
        max_length=16, choices=RiskAlertReason.choices, default=RiskAlertReason.NONE, blank=True
    )
    digested_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-as_of"]
        constraints = [
            models.UniqueConstraint(fields=["learner", "as_of"], name="risk_alert_once_per_run")
        ]
        indexes = [models.Index(fields=["status"], name="risk_alert_status")]

    def __str__(self) -> str:
        return f"high risk {self.score:.2f} as of {self.as_of:%Y-%m-%d}"


class RiskAlertDelivery(models.Model):
    """One recipient got the alert: a re-run or a retry never mails them about it again."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    alert = models.ForeignKey(RiskAlert, on_delete=models.CASCADE, related_name="deliveries")
    recipient = models.ForeignKey(
        "engagement.User", on_delete=models.CASCADE, related_name="risk_alert_deliveries"
    )
    delivered_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["alert", "recipient"], name="risk_alert_delivered_once_per_recipient"
            )
        ]

    def __str__(self) -> str:
        return f"delivered {self.delivered_at:%Y-%m-%d %H:%M}"


class RiskFeedbackKind(models.TextChoices):
    ACKNOWLEDGED = "acknowledged", "Acknowledged: the coach is on it"
    NOT_APPLICABLE = "not_applicable", "Not applicable (e.g. known absence)"
    INCORRECT = "incorrect", "Incorrectly flagged"


class RiskFeedback(models.Model):
    """A coach's verdict on an assessment; kept, exported with training data, and used to quiet
    digests for a while unless the risk rises further."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    learner = models.ForeignKey(Learner, on_delete=models.CASCADE, related_name="risk_feedback")
    assessment = models.ForeignKey(
        RiskAssessment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=16, choices=RiskFeedbackKind.choices)
    score_at_feedback = models.FloatField()
    note = models.TextField(blank=True)
    created_by = models.ForeignKey(
        "engagement.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["learner", "-created_at"], name="risk_feedback_learner_time")
        ]

    def __str__(self) -> str:
        return f"{self.kind} at {self.created_at:%Y-%m-%d}"


class ImportKind(models.TextChoices):
    LEARNERS = "learners", "Learners"
    ACTIVITY = "activity", "Activity events"


class ImportUpload(BaseModel):
    """A CSV file uploaded for import, kept in the database so that any worker can read it.

    The file holds personal data (names, emails, external ids): ``content`` (the file as UTF-8
    text) is encrypted at rest like a learner's name, emptied once its job ends whatever the
    outcome, and by the ``learners.import_uploads_clear`` sweep after
    ``IMPORT_UPLOAD_RETENTION_HOURS`` when a job never ended; ``size`` and ``sha256`` still say
    which file it was. ``refused`` is CSV text (``line,reasons``, encrypted too: reasons may
    quote values) of the rows the import refused, for the uploader to correct. The counts and
    ``refused`` are written when the job finishes; its status is the job's.
    """

    kind = models.CharField(max_length=16, choices=ImportKind.choices)
    filename = models.CharField(max_length=255)
    content = EncryptedTextField(blank=True, editable=False)
    size = models.PositiveBigIntegerField(help_text="Bytes, as uploaded.")
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        "engagement.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    job = models.OneToOneField(
        "engagement.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    accepted = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    refused = EncryptedTextField(blank=True, help_text="CSV: line,reasons.")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=ImportKind.values), name="import_upload_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} import {self.filename}"


#: The longest coach note accepted, in characters: a note is a few lines, not a document.
COACH_NOTE_MAX_LENGTH = 5000


class CoachNote(models.Model):
    """A coach's note on a learner. Personal data: encrypted at rest, never shown to analysts,
    exported with the learner and deleted when the learner is erased (``learners.privacy``)."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    # Indexed by coach_note_learner_time, which leads with it.
    learner = models.ForeignKey(
        Learner, on_delete=models.CASCADE, related_name="coach_notes", db_index=False
    )
    author = models.ForeignKey(
        "engagement.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = EncryptedTextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["learner", "-created_at"], name="coach_note_learner_time")]

    def __str__(self) -> str:
        return f"note of {self.created_at:%Y-%m-%d %H:%M}"
