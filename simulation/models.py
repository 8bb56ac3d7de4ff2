"""A simulation: one run of a kind over validated params, its job, and its results.

Results are written once, by the run (``simulation.services.simulation_run``); they hold
figures and learner ids, never names or other personal data (the API labels rows per viewer).
The run's status, progress and error are its job's (``engagement.Job``), so the jobs pages and
the simulation pages never disagree.
"""

from django.db import models

from engagement.models import BaseModel


class SimulationKindName(models.TextChoices):
    BACKTEST = "backtest", "Backtest"
    WHAT_IF = "what_if", "What-if"
    PROJECTION = "projection", "Projection"
    INTERVENTION = "intervention", "Intervention planning"
    THRESHOLDS = "thresholds", "Threshold tuning"


class Simulation(BaseModel):
    kind = models.CharField(max_length=16, choices=SimulationKindName.choices)
    name = models.CharField(max_length=200, blank=True, help_text="A label for the run.")
    params = models.JSONField(help_text="Validated params, with the seed and model version used.")
    seed = models.BigIntegerField()
    model_version = models.PositiveIntegerField()
    results = models.JSONField(null=True, blank=True)
    job = models.OneToOneField(
        "engagement.Job", on_delete=models.PROTECT, related_name="simulation"
    )
    requested_by = models.ForeignKey(
        "engagement.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["requested_by", "-created_at"], name="simulation_by_owner")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.created_at:%Y-%m-%d %H:%M}"
