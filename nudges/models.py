"""Nudges: prompts, LLM calls, the messages themselves, contact opt-outs, campaigns and
experiments (docs/nudges.md).

A nudge's text is personal data (it addresses the learner by first name): subject, body and the
generated text a guardrail rejected are encrypted at rest and go with the learner's erasure.
Learners and cohorts are referred to by foreign key only; this app reads them through
``learners.contracts``.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from waffle.models import Switch

from engagement.crypto import EncryptedTextField
from engagement.ids import uuid7
from engagement.models import BaseModel


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    IN_APP = "in_app", "In-app"


class NudgeStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    APPROVED = "approved", "Approved"
    SCHEDULED = "scheduled", "Scheduled"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    SUPPRESSED = "suppressed", "Suppressed"


class NudgeSource(models.TextChoices):
    LLM = "llm", "Written by the LLM"
    TEMPLATE = "template", "Template"
    MANUAL = "manual", "Written by staff"


class Category(models.TextChoices):
    """What a nudge is about; a learner may opt out of one category or of all."""

    REENGAGEMENT = "reengagement", "Re-engagement"
    PROGRESS = "progress", "Progress and deadlines"


class PromptTemplate(BaseModel):
    """One version of a prompt, never edited once written: a change is a new version, and
    activating (or rolling back to) a version is one audited call."""

    key = models.SlugField(max_length=64)
    version = models.PositiveIntegerField()
    locale = models.CharField(max_length=16, default="en")
    system_text = models.TextField()
    user_text = models.TextField(help_text="Rendered with the learner's safe context.")
    model = models.CharField(max_length=100, blank=True, help_text="Blank: OPENAI_MODEL.")
    temperature = models.FloatField(default=0.4)
    max_tokens = models.PositiveIntegerField(default=400)
    is_active = models.BooleanField(default=False)
    notes = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["key", "locale", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["key", "locale", "version"], name="prompt_unique_version"
            ),
            models.UniqueConstraint(
                fields=["key", "locale"],
                condition=Q(is_active=True),
                name="prompt_one_active_per_key_locale",
            ),
            models.CheckConstraint(
                condition=Q(temperature__gte=0) & Q(temperature__lte=2),
                name="prompt_temperature_0_2",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} v{self.version} ({self.locale})"


class LLMOutcome(models.TextChoices):
    OK = "ok", "Answered"
    INVALID = "invalid", "Answer not valid"
    TIMEOUT = "timeout", "Timed out"
    RATE_LIMITED = "rate_limited", "Rate limited"
    SERVER_ERROR = "server_error", "Server error"
    ERROR = "error", "Other error"
    CIRCUIT_OPEN = "circuit_open", "Skipped: circuit open"


class LLMCall(models.Model):
    """One generation request to the LLM (its retries included), for cost and reliability."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    prompt = models.ForeignKey(
        PromptTemplate, null=True, blank=True, on_delete=models.PROTECT, related_name="calls"
    )
    model = models.CharField(max_length=100)
    purpose = models.CharField(max_length=32, default="nudge", help_text="nudge, preview, ...")
    tokens_in = models.PositiveIntegerField(default=0)
    tokens_out = models.PositiveIntegerField(default=0)
    cost = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    latency_ms = models.PositiveIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=0)
    cache_hit = models.BooleanField(default=False)
    outcome = models.CharField(max_length=16, choices=LLMOutcome.choices)
    error_class = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "LLM call"
        verbose_name_plural = "LLM calls"

    def __str__(self) -> str:
        return f"{self.model} ({self.outcome})"


class Campaign(BaseModel):
    """Who to nudge (criteria), how (channel, prompt or experiment) and whether staff review
    the drafts first; ``schedule`` makes it an automation that runs again on its own."""

    class Approval(models.TextChoices):
        AUTO = "auto", "Send without review"
        REVIEW = "review", "Staff review each draft"

    class Schedule(models.TextChoices):
        ONCE = "", "Once"
        DAILY = "daily", "Every day"
        WEEKLY = "weekly", "Every week"

    name = models.CharField(max_length=200)
    cohorts = models.ManyToManyField("learners.Cohort", blank=True, related_name="+")
    learner_ids = models.JSONField(
        default=list, blank=True, help_text="Chosen learners (a bulk selection); empty: any."
    )
    min_band = models.CharField(max_length=8, blank=True)
    inactive_days = models.PositiveIntegerField(null=True, blank=True)
    not_nudged_days = models.PositiveIntegerField(null=True, blank=True)
    exclude_not_applicable = models.BooleanField(default=True)
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.EMAIL)
    category = models.CharField(
        max_length=32, choices=Category.choices, default=Category.REENGAGEMENT
    )
    prompt_key = models.SlugField(max_length=64, blank=True)
    experiment = models.ForeignKey(
        "Experiment", null=True, blank=True, on_delete=models.PROTECT, related_name="campaigns"
    )
    approval = models.CharField(max_length=8, choices=Approval.choices, default=Approval.REVIEW)
    schedule = models.CharField(max_length=8, choices=Schedule.choices, default="", blank=True)
    is_active = models.BooleanField(default=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name


class Experiment(BaseModel):
    """Variants by weight and a holdout that gets nothing; assignment is a hash of the
    experiment and the learner, so it never changes."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        STOPPED = "stopped", "Stopped"

    name = models.CharField(max_length=200)
    holdout_share = models.FloatField(default=0.2)
    attribution_days = models.PositiveIntegerField(default=7)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.RUNNING)
    winner = models.ForeignKey(
        "ExperimentVariant", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(holdout_share__gte=0) & Q(holdout_share__lt=1),
                name="experiment_holdout_share_0_1",
            )
        ]

    def __str__(self) -> str:
        return self.name


class ExperimentVariant(models.Model):
    """An arm: a prompt version, or the deterministic template when ``prompt`` is empty."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="variants")
    name = models.CharField(max_length=64)
    weight = models.PositiveIntegerField(default=1)
    prompt = models.ForeignKey(
        PromptTemplate, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["experiment", "name"]
        constraints = [
            models.UniqueConstraint(fields=["experiment", "name"], name="variant_unique_name"),
            models.CheckConstraint(condition=Q(weight__gt=0), name="variant_weight_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class ExperimentAssignment(models.Model):
    """Which arm a learner is in (``variant`` empty: the holdout), and whether they came back
    within the attribution window after the send (after assignment for the holdout)."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="assignments")
    learner = models.ForeignKey("learners.Learner", on_delete=models.CASCADE, related_name="+")
    variant = models.ForeignKey(
        ExperimentVariant, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    assigned_at = models.DateTimeField()
    exposed_at = models.DateTimeField(
        null=True, blank=True, help_text="When the arm's nudge was sent; the holdout: assigned."
    )
    re_engaged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["assigned_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["experiment", "learner"], name="assignment_unique_learner"
            )
        ]
        indexes = [models.Index(fields=["learner", "re_engaged_at"], name="assignment_learner")]

    def __str__(self) -> str:
        return f"{self.experiment_id}: {self.variant_id or 'holdout'}"


class Nudge(BaseModel):
    """One message to one learner, from request to delivery: every request ends as a stored
    nudge with a status, even when the LLM failed (a template nudge says why)."""

    learner = models.ForeignKey("learners.Learner", on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    category = models.CharField(
        max_length=32, choices=Category.choices, default=Category.REENGAGEMENT
    )
    status = models.CharField(max_length=16, choices=NudgeStatus.choices, default=NudgeStatus.DRAFT)
    source = models.CharField(max_length=16, choices=NudgeSource.choices)
    fallback_reason = models.CharField(max_length=64, blank=True)
    subject = EncryptedTextField(blank=True)
    body = EncryptedTextField()
    # What the LLM wrote when a guardrail rejected it: kept for review, never sent.
    rejected_text = EncryptedTextField(blank=True)
    guardrail_failures = models.JSONField(default=list, blank=True)
    prompt = models.ForeignKey(
        PromptTemplate, null=True, blank=True, on_delete=models.PROTECT, related_name="nudges"
    )
    llm_call = models.ForeignKey(
        LLMCall, null=True, blank=True, on_delete=models.SET_NULL, related_name="nudges"
    )
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="nudges"
    )
    # The campaign run's occurrence (its day, for an automation; blank for a one-off): a run
    # repeated or resumed finds the nudge it already made instead of making another.
    occurrence = models.CharField(max_length=32, blank=True)
    experiment = models.ForeignKey(
        Experiment, null=True, blank=True, on_delete=models.SET_NULL, related_name="nudges"
    )
    variant = models.ForeignKey(
        ExperimentVariant, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    risk_snapshot = models.JSONField(
        default=dict, blank=True, help_text="Score, band and top factors at creation."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    scheduled_for = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # Set by the delivery channel, once, just before it hands the nudge on (``nudges.delivery``):
    # a delivery retried after a worker died past this point is not sent again.
    delivered_at = models.DateTimeField(null=True, blank=True)
    suppressed_rule = models.CharField(max_length=32, blank=True)
    error = models.CharField(max_length=200, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)
    re_engaged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "learner", "occurrence"],
                condition=Q(campaign__isnull=False),
                name="nudge_once_per_campaign_occurrence",
            ),
            models.CheckConstraint(
                condition=Q(status__in=NudgeStatus.values), name="nudge_status_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["learner", "sent_at"], name="nudge_learner_sent"),
            models.Index(fields=["status", "scheduled_for"], name="nudge_status_scheduled"),
            models.Index(fields=["campaign", "status"], name="nudge_campaign_status"),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} nudge ({self.status})"


class ContactOptOut(models.Model):
    """A learner's wish not to be nudged about one category (``Learner.nudge_opt_out``, kept
    by the learners app, covers every category)."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    learner = models.ForeignKey("learners.Learner", on_delete=models.CASCADE, related_name="+")
    category = models.CharField(max_length=32, choices=Category.choices)
    source = models.CharField(max_length=32, help_text="unsubscribe link, staff, api")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["learner", "category"], name="opt_out_unique")
        ]

    def __str__(self) -> str:
        return f"opted out of {self.category}"


class TrackingCohort(models.Model):
    """A cohort whose programme opted in to email open and link-click tracking (off for every
    other cohort): its nudge emails carry a tracking image and tracked links."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    cohort = models.OneToOneField("learners.Cohort", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"tracking in {self.cohort_id}"


class FeatureCohortLimit(models.Model):
    """Limits a nudges feature flag (``nudges.flags``) to chosen cohorts: with rows for a flag,
    it holds only in those cohorts; with none, everywhere the flag is on."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    flag = models.CharField(max_length=64)
    cohort = models.ForeignKey("learners.Cohort", on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["flag", "cohort"], name="flag_cohort_unique")
        ]

    def __str__(self) -> str:
        return f"{self.flag} in {self.cohort_id}"


class FeatureFlag(Switch):
    """A nudges feature flag (``nudges.flags``) as the admin shows it: the waffle switch, with
    the cohorts it is limited to edited alongside."""

    class Meta:
        proxy = True
        verbose_name = "feature flag"

    def __str__(self) -> str:
        return str(self.name)
