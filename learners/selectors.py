"""Reads of cohorts, learners and activity, always scoped to the caller (``actor``).

Objects outside the caller's scope are reported as not found, never as forbidden.
"""

import uuid
from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext, ngettext

from engagement.db_routing import replica_read_alias
from engagement.errors import NotFound, ValidationFailed
from engagement.filters import filtered
from engagement.ids import row_by_id
from engagement.metrics import cache_lookup_count
from engagement.models import Role
from engagement.roles import role_of, sees_personal_data
from learners.assignments import assigned_cohort_ids
from learners.cache import LEARNER_DETAIL_USE, learner_detail_key
from learners.filters import PERSONAL_FILTERS, LearnerFilter, high_risk_without_action_q
from learners.models import (
    STUDYING_STATUSES,
    ActivityEvent,
    CoachNote,
    Cohort,
    CohortAssignment,
    ImportUpload,
    Learner,
    LearnerStatus,
    RiskBand,
    RiskModel,
)
from learners.scoping import cohort_is_visible, scope_to_cohorts, sees_every_cohort


def cohort_list(*, actor: Any) -> QuerySet[Cohort]:
    return scope_to_cohorts(
        Cohort.objects.order_by("-starts_on", "name"), actor=actor, cohort_field="pk"
    )


def cohort_get(*, actor: Any, cohort_id: uuid.UUID | str) -> Cohort:
    return row_by_id(cohort_list(actor=actor), cohort_id, missing="No cohort with this id.")


def cohort_refs_in_scope(*, actor: Any) -> frozenset[str] | None:
    """Ids and names of the caller's cohorts, which output about cohorts may mention; ``None``
    when the caller sees every cohort."""
    if sees_every_cohort(actor):
        return None
    return frozenset(
        str(ref) for pair in cohort_list(actor=actor).values_list("id", "name") for ref in pair
    )


def learner_queryset(*, actor: Any) -> QuerySet[Learner]:
    """Every learner the caller may see, cohort joined in."""
    queryset = Learner.objects.select_related("cohort").order_by("external_id", "id")
    return scope_to_cohorts(queryset, actor=actor, cohort_field="cohort_id")


def learner_list(*, actor: Any, filters: Mapping[str, Any] | None = None) -> QuerySet[Learner]:
    """The caller's learners matching the list filters (see :class:`LearnerFilter`).

    Analysts may not filter on personal data: that would re-identify pseudonymised rows. A list
    tolerates replication lag: it reads from the replica when one may serve it.
    """
    filters = filters or {}
    if not sees_personal_data(actor):
        refused = sorted(name for name in PERSONAL_FILTERS if name in filters)
        if refused:
            raise ValidationFailed(
                detail={name: ["Not available on pseudonymised data."] for name in refused}
            )
    return filtered(LearnerFilter, learner_queryset(actor=actor), filters).using(
        replica_read_alias()
    )


def learner_page(learners: QuerySet, *, actor: Any, start: int, stop: int) -> list[Any]:
    """Rows ``start:stop`` of ``learners`` (a :func:`learner_list`, rows or values), in its order.

    A coach's learners are a few cohorts among many: read through the whole order and filtered
    by cohort, a page took 60 ms at 100,000 learners when their cohorts sat at the far end of
    that order. On PostgreSQL each of the coach's cohorts gives its first ``stop`` rows instead,
    from the index of that order led by the cohort (migration ``0028_learner_list_indexes``),
    and the page is cut from those (one more query: the cohort ids). The global first ``stop``
    rows are among them, so the page is the same; SQLite, which allows no ``LIMIT`` inside a
    ``UNION``, reads the page directly.
    """
    if role_of(actor) != Role.COACH or connections[learners.db].vendor != "postgresql":
        return list(learners[start:stop])
    cohort_ids = list(assigned_cohort_ids(user=actor).values_list("cohort_id", flat=True))
    if len(cohort_ids) < 2:
        return list(learners[start:stop])
    heads = [learners.filter(cohort_id=cohort_id).values("pk")[:stop] for cohort_id in cohort_ids]
    return list(learners.filter(pk__in=heads[0].union(*heads[1:], all=True))[start:stop])


def learner_get(*, actor: Any, learner_id: uuid.UUID | str) -> Learner:
    return row_by_id(learner_queryset(actor=actor), learner_id, missing="No learner with this id.")


#: At most this many learners in one bulk request (four pages of 100, and some).
MAX_SELECTED = 500


def learner_selection(*, actor: Any, learner_ids: Collection[uuid.UUID]) -> QuerySet[Learner]:
    """The learners a member of staff selected for a bulk action: all of them or none. Refused
    (``ValidationFailed`` saying why) when empty, above :data:`MAX_SELECTED`, or when any id is
    outside the caller's scope (one count query tells how many)."""
    ids = set(learner_ids)
    if not ids:
        raise _selection_refused(gettext("Select at least one learner first."))
    if len(ids) > MAX_SELECTED:
        raise _selection_refused(
            gettext("Select at most %(limit)s learners at a time; nothing was done.")
            % {"limit": MAX_SELECTED}
        )
    selected = learner_queryset(actor=actor).filter(pk__in=ids)
    outside = len(ids) - selected.count()
    if outside:
        message = ngettext(
            "%(count)s selected learner is not in your caseload: nothing was done.",
            "%(count)s selected learners are not in your caseload: nothing was done.",
            outside,
        )
        raise _selection_refused(message % {"count": outside})
    return selected


def _selection_refused(message: str) -> ValidationFailed:
    return ValidationFailed(message, detail={"learner": [message]})


def learner_detail_cached(
    *, actor: Any, learner_id: uuid.UUID | str, render: Callable[[Learner], dict[str, Any]]
) -> dict[str, Any]:
    """A learner's rendered detail, cached until the learner changes (services clear the key).

    The cache is shared by all callers, so scope is checked on every read, cached or not.
    """
    try:
        canonical = uuid.UUID(str(learner_id))
    except ValueError as exc:
        raise NotFound("No learner with this id.") from exc
    key = learner_detail_key(canonical)
    detail = cache.get(key)
    cache_lookup_count(LEARNER_DETAIL_USE, hits=detail is not None, misses=detail is None)
    if detail is None:
        detail = render(learner_get(actor=actor, learner_id=canonical))
        cache.set(key, detail, timeout=settings.LEARNER_DETAIL_CACHE_SECONDS)
    elif not cohort_is_visible(actor=actor, cohort_id=detail["cohort"]):
        raise NotFound("No learner with this id.")
    return detail


def learner_events(*, learner: Learner) -> QuerySet[ActivityEvent]:
    return ActivityEvent.objects.filter(learner=learner).order_by("-occurred_at", "-id")


def learner_pseudonym(learner_id: uuid.UUID | str) -> str:
    """A stable stand-in for a learner's name, derived from the id alone: it tells rows apart
    without saying who anyone is (analysts' pages, anonymised databases)."""
    return f"Learner {str(learner_id)[-8:]}"


def learner_label(learner: Learner, *, personal: bool) -> str:
    """How a page or a row names ``learner``: the name (the external id when there is none)
    for a viewer who sees personal data (``sees_personal_data``), the pseudonym otherwise."""
    if not personal:
        return learner_pseudonym(learner.pk)
    return learner.name or learner.external_id


def coach_note_list(*, actor: Any, learner: Learner) -> QuerySet[CoachNote]:
    """The learner's coach notes, newest first, authors joined in; none for callers who may not
    see personal data (the doors refuse them too: this keeps a new door from leaking notes)."""
    notes = CoachNote.objects.filter(learner=learner).select_related("author")
    if not sees_personal_data(actor):
        notes = notes.none()
    return notes.order_by("-created_at", "-id")


def coach_note_get(*, actor: Any, learner: Learner, note_id: uuid.UUID | str) -> CoachNote:
    return row_by_id(
        coach_note_list(actor=actor, learner=learner), note_id, missing="No note with this id."
    )


def risk_model_list() -> QuerySet[RiskModel]:
    return RiskModel.objects.order_by("-version")


def risk_model_active() -> RiskModel:
    """The one active risk model version."""
    try:
        return RiskModel.objects.get(is_active=True)
    except RiskModel.DoesNotExist as error:
        raise NotFound("No risk model is active; activate one first.") from error


# Counts for other apps (see learners.contracts) ------------------------------------------------


def import_upload_list(*, actor: Any) -> QuerySet[ImportUpload]:
    """Uploaded import files, newest first, with their jobs: admins see every one, others none.

    The file's bytes and the refused lines are left out (read the refused lines through
    :func:`import_upload_refused`).
    """
    queryset = ImportUpload.objects.select_related("job", "uploaded_by").defer("content", "refused")
    if role_of(actor) != Role.ADMIN:
        return queryset.none()
    return queryset.order_by("-created_at", "-id")


def import_upload_get(*, actor: Any, upload_id: uuid.UUID | str) -> ImportUpload:
    return row_by_id(import_upload_list(actor=actor), upload_id, missing="No import with this id.")


def import_upload_refused(*, upload: ImportUpload) -> str:
    """The refused lines of an upload, as CSV text (``line,reasons``)."""
    return str(
        ImportUpload.objects.filter(pk=upload.pk).values_list("refused", flat=True).first() or ""
    )


def cohort_learner_counts(*, actor: Any) -> Iterable[Mapping[str, Any]]:
    """The caller's cohorts as rows with their learner counts (``*_count``), in one query (on the
    replica when one may serve it: aggregates tolerate replication lag)."""
    studying = Q(learners__status__in=STUDYING_STATUSES)
    return (
        cohort_list(actor=actor)
        .using(replica_read_alias())
        .values(
            "id",
            "name",
            "course_code",
            "starts_on",
            "ends_on",
            "timezone",
            learner_count=Count("learners"),
            studying_count=Count("learners", filter=studying),
            completed_count=Count("learners", filter=Q(learners__status=LearnerStatus.COMPLETED)),
            withdrawn_count=Count("learners", filter=Q(learners__status=LearnerStatus.WITHDRAWN)),
            high_risk_count=Count(
                "learners", filter=studying & Q(learners__risk_band=RiskBand.HIGH)
            ),
            medium_risk_count=Count(
                "learners", filter=studying & Q(learners__risk_band=RiskBand.MEDIUM)
            ),
            low_risk_count=Count("learners", filter=studying & Q(learners__risk_band=RiskBand.LOW)),
            unscored_count=Count("learners", filter=studying & Q(learners__risk_band="")),
        )
    )


def caseload_counts(*, actor: Any, now: datetime) -> dict[Any, dict[str, int]]:
    """Per coach assigned to one of the caller's cohorts: cohorts, learners still studying, high
    risk, high risk without action. Two queries: the assignments, then counts per cohort (a
    learner is in one cohort, so a coach's counts are the sums over their cohorts)."""
    cohorts = cohort_list(actor=actor).order_by().values("pk")
    assignments = CohortAssignment.objects.filter(
        cohort_id__in=cohorts, user__role=Role.COACH, user__is_active=True
    ).values_list("user_id", "cohort_id")
    by_coach: dict[Any, set[Any]] = {}
    for coach_id, cohort_id in assignments:
        by_coach.setdefault(coach_id, set()).add(cohort_id)
    assigned = set().union(*by_coach.values())
    per_cohort = {
        row["cohort_id"]: row
        for row in Learner.objects.filter(cohort_id__in=assigned, status__in=STUDYING_STATUSES)
        .order_by()
        .values("cohort_id")
        .annotate(
            learners=Count("id"),
            high_risk=Count("id", filter=Q(risk_band=RiskBand.HIGH)),
            high_risk_without_action=Count("id", filter=high_risk_without_action_q(now)),
        )
    }
    empty = {"learners": 0, "high_risk": 0, "high_risk_without_action": 0}
    return {
        coach_id: {
            "cohorts": len(cohort_ids),
            **{
                name: sum(per_cohort.get(cohort_id, empty)[name] for cohort_id in cohort_ids)
                for name in empty
            },
        }
        for coach_id, cohort_ids in by_coach.items()
    }
