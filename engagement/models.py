"""Users and roles, API keys, the audit log, background jobs, and the abstract bases every app shares."""

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q

from engagement.ids import uuid7
from engagement.input_bounds import validate_timezone


class BaseModel(models.Model):
    """UUIDv7 primary key plus creation and modification times."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Role(models.TextChoices):
    """What a staff user may do; coaches are further limited to the cohorts assigned to them."""

    ADMIN = "admin", "Programme admin"
    COACH = "coach", "Coach"
    ANALYST = "analyst", "Analyst"


def default_timezone() -> str:
    """The site's zone (``TIME_ZONE``) for a new user, read when the user is created."""
    return str(settings.TIME_ZONE)


class User(AbstractUser):
    """A staff member. Machines (an LMS pushing activity) use API keys instead of users."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.COACH)
    # db_default covers rows written without the field (older migrations' models, raw SQL).
    timezone = models.CharField(
        max_length=64,
        default=default_timezone,
        db_default="UTC",
        validators=[validate_timezone],
        help_text="IANA time zone the dashboard shows times in, e.g. Europe/Paris.",
    )

    @property
    def effective_role(self) -> str:
        """Superusers act as programme admins whatever their stored role."""
        return Role.ADMIN if self.is_superuser else self.role


class ApiKey(BaseModel):
    """A machine credential: only ``prefix`` and a SHA-256 of the secret are stored."""

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    scopes = models.JSONField(default=list)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        "engagement.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"
        verbose_name_plural = "API keys"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"


class AuditEvent(models.Model):
    """One sensitive act, append-only: who did what to which object, when and from where.

    ``changes`` names changed fields and, for non-personal fields only, their new values.
    """

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    occurred_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor_type = models.CharField(max_length=16)
    actor_id = models.CharField(max_length=64, blank=True)
    actor_label = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True, db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    changes = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_label or self.actor_type}"

    def save(self, *args: object, **kwargs: object) -> None:
        if not self._state.adding:
            raise PermissionError("Audit events are append-only.")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise PermissionError("Audit events are append-only.")


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


IDEMPOTENCY_KEY_MAX_LENGTH = 128
JOB_ACTIVE_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)


class Job(BaseModel):
    """One long operation run by a Celery task, and how far it got (see :mod:`engagement.jobs`).

    ``params`` and ``result`` are shown to the requester in the API and the admin, so they hold
    ids and counts, never personal data. Transitions are made by :mod:`engagement.jobs` only:
    queued -> running -> succeeded | failed | cancelled, and a finished job is never reopened.
    """

    kind = models.CharField(max_length=64, help_text="What runs, e.g. learners.rescore.")
    params = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    progress = models.FloatField(default=0.0, help_text="0 to 1.")
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        "engagement.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    idempotency_key = models.CharField(
        max_length=IDEMPOTENCY_KEY_MAX_LENGTH,
        blank=True,
        help_text="A repeated request with this key (per kind) gets this job, not a new one.",
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress__gte=0) & Q(progress__lte=1), name="job_progress_0_1"
            ),
            models.CheckConstraint(
                condition=Q(status__in=JobStatus.values), name="job_status_valid"
            ),
            models.UniqueConstraint(
                fields=["kind", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="job_unique_idempotency_key",
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="job_status_created")]

    def __str__(self) -> str:
        return f"{self.kind} ({self.status})"


class OutboxStatus(models.TextChoices):
    PENDING = "pending", "Pending: waiting for its (next) attempt"
    SENDING = "sending", "Sending: claimed by a worker"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed: every attempt failed"
    CANCELLED = "cancelled", "Cancelled: will not be sent"


class OutboxMessage(BaseModel):
    """A side effect (a mail, later a nudge or a webhook) written in the transaction that causes
    it and delivered after commit by :mod:`engagement.outbox`, at least once.

    ``payload`` holds what the channel needs, the recipient included, so it is never logged nor
    shown, and it is emptied once the message is sent or cancelled; ``last_error`` names the
    error type only. While ``sending``, ``next_attempt_at`` is
    the end of the worker's lease: past it, the worker is taken for lost and the message is
    claimed again.
    """

    channel = models.CharField(max_length=32, help_text="Who delivers it, e.g. email.")
    payload = models.JSONField()
    status = models.CharField(
        max_length=16, choices=OutboxStatus.choices, default=OutboxStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=5)
    next_attempt_at = models.DateTimeField()
    last_error = models.CharField(max_length=200, blank=True)
    idempotency_key = models.CharField(max_length=200, unique=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=OutboxStatus.values), name="outbox_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(max_attempts__gte=1), name="outbox_max_attempts_positive"
            ),
        ]
        indexes = [
            # The delivery query: due messages still to (re)try, oldest due first.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=["pending", "sending"]),
                name="outbox_due",
            ),
            models.Index(fields=["status", "created_at"], name="outbox_status_created"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} message ({self.status})"
