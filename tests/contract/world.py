"""The shared world of the contract tests: one of everything a read can show."""

from typing import Any

from django.utils import timezone

from engagement.api_keys import api_key_create
from engagement.audit import audit_record
from engagement.models import AuditEvent, Job
from engagement.outbox import EMAIL_CHANNEL, outbox_enqueue
from learners.models import ImportUpload, Learner, RiskModel
from learners.risk.feedback import risk_feedback_create
from learners.risk.services import learners_rescore
from learners.scopes import ApiKeyScope
from learners.services import coach_note_create
from nudges.campaigns import campaign_create
from nudges.experiments import experiment_assign, experiment_create
from nudges.models import Campaign, Experiment, Nudge, PromptTemplate
from simulation.models import Simulation
from tests.factories import ActivityEventFactory, LearnerFactory, UserFactory


def build_world(tag: str = "") -> dict[str, Any]:
    """One of everything a read can show: scored and stale learners, feedback, a job, an
    uploaded import, a key, a message waiting in the outbox. Built again with another ``tag``,
    it adds one more of everything (names that must be unique carry the tag)."""
    admin_user = UserFactory(role="admin", is_staff=True, is_superuser=True)
    learner, stale = LearnerFactory.create_batch(2)
    ActivityEventFactory(learner=learner)
    learners_rescore()
    learners_rescore(as_of=timezone.now())  # a previous assessment, for the changes
    ActivityEventFactory(learner=stale)
    Learner.objects.filter(pk=stale.pk).update(risk_stale=True)  # a read must not rescore it
    learner.refresh_from_db()
    risk_feedback_create(actor=admin_user, learner=learner, kind="acknowledged", note="On it.")
    note = coach_note_create(actor=admin_user, learner=learner, body="Called on Monday.")
    job = Job.objects.create(kind="learners.rescore", params={}, requested_by=admin_user)
    upload = ImportUpload.objects.create(
        kind="learners", filename="a.csv", content=b"", size=1, sha256="0" * 64, job=job
    )
    key = api_key_create(name="LMS", scopes=list(ApiKeyScope.values), created_by=admin_user)
    audit_record(actor=admin_user, action="test.read", target=learner)
    message = outbox_enqueue(
        channel=EMAIL_CHANNEL,
        payload={"to": "coach@example.org", "subject": "Hello", "body": "Hi."},
        idempotency_key=f"read-test{tag}",
    )
    nudge = Nudge.objects.create(learner=learner, channel="in_app", source="manual", body="Hi.")
    campaign = campaign_create(
        actor=admin_user, name="Read test", channel="email", cohort_ids=[learner.cohort_id]
    )
    nudge = Nudge.objects.create(learner=learner, channel="email", source="template", body="Hi.")
    campaign = Campaign.objects.create(name="Read me", created_by=admin_user)
    experiment = Experiment.objects.create(name="Read me")
    prompt = PromptTemplate.objects.create(
        key=f"read{tag}", version=1, system_text="s", user_text="u"
    )
    trial = experiment_create(
        name="Trial", variants=[{"name": "A", "weight": 1}], holdout_share=0.5, actor=admin_user
    )
    experiment_assign(trial, [learner.pk, stale.pk], now=timezone.now())
    simulation = Simulation.objects.create(
        kind="what_if",
        params={"seed": 1},
        seed=1,
        model_version=1,
        job=Job.objects.create(kind="simulation.run", params={}, requested_by=admin_user),
        requested_by=admin_user,
    )
    return {
        "user": admin_user,
        "learner": learner,
        "stale": stale,
        "ids": {
            "api-keys": key.api_key.pk,
            "audit-events": AuditEvent.objects.values_list("pk", flat=True).first(),
            "cohorts": learner.cohort_id,
            "jobs": job.pk,
            "imports": upload.pk,
            "outbox": message.pk,
            "nudges": nudge.pk,
            "learners": learner.pk,
            "users": admin_user.pk,
            "risk/models": RiskModel.objects.get(is_active=True).version,
            "prompts": prompt.pk,
            "campaigns": campaign.pk,
            "experiments": trial.pk,
            "simulations": simulation.pk,
        },
        "secret": key.secret,
        "route_ids": {
            "learner_id": learner.pk,
            "note_id": note.pk,
            "job_id": job.pk,
            "upload_id": upload.pk,
            "version": RiskModel.objects.get(is_active=True).version,
            "nudge_id": nudge.pk,
            "action": "send",
            "campaign_id": campaign.pk,
            "experiment_id": experiment.pk,
            "prompt_id": prompt.pk,
            "simulation_id": simulation.pk,
        },
    }
