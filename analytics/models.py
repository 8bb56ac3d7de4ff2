"""Daily snapshots: one row per cohort and UTC day, so trends cost O(days), not O(events)."""

from django.db import models

from engagement.ids import uuid7

#: The per-kind event columns, named ``events_<kind>`` after ``learners.contracts.EVENT_KINDS``
#: (a test holds the two together): plain integer columns that SQL sums directly.
EVENT_COLUMNS = (
    "events_login",
    "events_content_view",
    "events_video_watched",
    "events_lesson_completed",
    "events_assessment_started",
    "events_assessment_submitted",
    "events_assessment_passed",
    "events_assessment_failed",
    "events_forum_post",
    "events_other",
)


class DailySnapshot(models.Model):
    """A cohort's figures for one UTC day (see docs/analytics.md for the convention): learners
    and bands as of the end of the day (as of ``computed_at`` for today's partial row), events
    and active learners within it. Rewritten whole when the day is computed again."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    cohort = models.ForeignKey(
        "learners.Cohort", on_delete=models.CASCADE, related_name="daily_snapshots"
    )
    day = models.DateField()
    learners = models.PositiveIntegerField(default=0)
    studying = models.PositiveIntegerField(default=0)
    completed = models.PositiveIntegerField(default=0)
    withdrawn = models.PositiveIntegerField(default=0)
    high = models.PositiveIntegerField(default=0, help_text="Studying, in the high band.")
    medium = models.PositiveIntegerField(default=0, help_text="Studying, in the medium band.")
    low = models.PositiveIntegerField(default=0, help_text="Studying, in the low band.")
    unscored = models.PositiveIntegerField(default=0, help_text="Studying, not scored yet.")
    active_learners = models.PositiveIntegerField(
        default=0, help_text="Learners with at least one event that day."
    )
    events_total = models.PositiveIntegerField(default=0)
    events_login = models.PositiveIntegerField(default=0)
    events_content_view = models.PositiveIntegerField(default=0)
    events_video_watched = models.PositiveIntegerField(default=0)
    events_lesson_completed = models.PositiveIntegerField(default=0)
    events_assessment_started = models.PositiveIntegerField(default=0)
    events_assessment_submitted = models.PositiveIntegerField(default=0)
    events_assessment_passed = models.PositiveIntegerField(default=0)
    events_assessment_failed = models.PositiveIntegerField(default=0)
    events_forum_post = models.PositiveIntegerField(default=0)
    events_other = models.PositiveIntegerField(default=0)
    alerts_waiting = models.PositiveIntegerField(default=0)
    as_of = models.DateTimeField(help_text="The instant the counts hold at (end of day or now).")
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["-day", "cohort_id"]
        constraints = [
            models.UniqueConstraint(fields=["cohort", "day"], name="daily_snapshot_once_per_day")
        ]
        indexes = [models.Index(fields=["day"], name="daily_snapshot_day")]

    def __str__(self) -> str:
        return f"snapshot of {self.day:%Y-%m-%d}"
