"""Feature flags of the nudges app: LLM generation, auto-approval and automations.

Each flag is a django-waffle switch (created on by the ``experiments_flags`` migration, so a
programme opts out rather than in), optionally limited to chosen cohorts by
``FeatureCohortLimit`` rows: with rows for a flag, it holds only in those cohorts; with none,
wherever the switch is on. Waffle caches switches (forgetting one when a change to it commits)
and answers off for a missing one. An admin switches each and sets its cohorts (``nudges.admin``)
through ``flag_update``, which is audited.
"""

import uuid
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from waffle import get_waffle_switch_model, switch_is_active

from engagement.audit import audit_record
from engagement.errors import ValidationFailed
from nudges.models import FeatureCohortLimit

LLM_GENERATION = "nudges_llm_generation"
AUTO_APPROVAL = "nudges_auto_approval"
AUTOMATIONS = "nudges_automations"

#: Every flag of the app and what it governs, for the admin.
FLAGS: dict[str, str] = {
    LLM_GENERATION: "Nudges are written by the LLM (off: the deterministic template).",
    AUTO_APPROVAL: "Campaigns set to auto-approve send without review (off: staff review).",
    AUTOMATIONS: "Recurring campaigns run on their schedule (off: they wait).",
}


def flag_cohorts(name: str) -> frozenset[uuid.UUID] | None:
    """Where the flag holds: ``None`` for every cohort, else the cohorts' ids (empty: nowhere,
    the switch is off). For set-based callers deciding for many learners at once."""
    if not switch_is_active(name):
        return frozenset()
    limits = frozenset(
        FeatureCohortLimit.objects.filter(flag=name).values_list("cohort_id", flat=True)
    )
    return limits or None


def flag_enabled(name: str, cohort_id: uuid.UUID | None = None) -> bool:
    """Whether the flag holds in the cohort; with no cohort given, whether it holds
    everywhere (a flag limited to some cohorts does not hold outside them)."""
    cohorts = flag_cohorts(name)
    return cohorts is None or cohort_id in cohorts


def cohorts_where(name: str, cohort_ids: Iterable[uuid.UUID]) -> frozenset[uuid.UUID]:
    """Which of these cohorts the flag holds in, asked in one read whatever their number: for
    callers deciding for a chunk of learners at once."""
    held = flag_cohorts(name)
    wanted = frozenset(cohort_ids)
    return wanted if held is None else wanted & held


def flag_update(*, name: str, active: bool, cohort_ids: Iterable[uuid.UUID], actor: Any) -> None:
    """Switch a flag on or off and set the cohorts it is limited to (none: every cohort)."""
    if name not in FLAGS:
        raise ValidationFailed(detail={"name": [f"Unknown flag '{name}'."]})
    cohorts = sorted(set(cohort_ids))
    with transaction.atomic():
        switch, _ = get_waffle_switch_model().objects.get_or_create(name=name)
        switch.active = active
        switch.note = FLAGS[name]
        switch.save()
        FeatureCohortLimit.objects.filter(flag=name).exclude(cohort_id__in=cohorts).delete()
        FeatureCohortLimit.objects.bulk_create(
            [FeatureCohortLimit(flag=name, cohort_id=cohort_id) for cohort_id in cohorts],
            ignore_conflicts=True,
        )
        audit_record(
            actor=actor,
            action="nudges.flag_update",
            target_type="waffle.switch",
            target_id=name,
            changes={"active": active, "cohorts": ",".join(str(c) for c in cohorts)},
        )
