"""FilterSets behind the learner list; the selectors apply them."""

from datetime import datetime, timedelta
from typing import Any

import django_filters
from django.conf import settings
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from engagement.crypto import keyed_hash, word_tokens
from engagement.filters import PlainNumberFilter
from learners.models import STUDYING_STATUSES, Learner, LearnerStatus, RiskBand, RiskFeedback

PERSONAL_FILTERS = frozenset({"search", "email"})
#: A century: anything longer reaches before any learning platform (and overflows soon after).
MAX_INACTIVE_DAYS = 36_500


class StableOrderingFilter(django_filters.OrderingFilter):
    """Ordering where a missing value sorts lowest (a learner never scored has the lowest risk,
    one never active the oldest activity) and the id breaks ties in the same direction.

    Pages then never repeat or skip a row, and each order, in either direction, reads one
    b-tree index (``col ASC NULLS FIRST, id``) forwards or backwards (migration
    ``0024_caseload_indexes``).
    """

    def filter(self, qs: QuerySet, value: list[str]) -> QuerySet:
        params = [param for param in value or () if param]  # "ordering=,," names no field
        if not params:
            return qs
        ordering: list[Any] = []
        for param in params:
            field = F(self.param_map[param.removeprefix("-")])
            descending = param.startswith("-")
            ordering.append(
                field.desc(nulls_last=True) if descending else field.asc(nulls_first=True)
            )
        ordering.append("-id" if params[-1].startswith("-") else "id")
        return qs.order_by(*ordering)


class LearnerFilter(django_filters.FilterSet):
    cohort = django_filters.UUIDFilter(field_name="cohort_id", help_text="Cohort id.")
    # distinct=False: a learner's own columns, no join that could repeat a row, so no DISTINCT
    # (django-filter's default), which made every page sort and count the whole list.
    status = django_filters.MultipleChoiceFilter(
        choices=LearnerStatus.choices, distinct=False, help_text="One or more statuses."
    )
    risk_band = django_filters.MultipleChoiceFilter(
        choices=RiskBand.choices,
        distinct=False,
        method="filter_risk_band",
        help_text="One or more risk bands, among learners still studying (the caseload) unless "
        "status is given too: finished learners keep their final band on their record.",
    )
    risk_min = PlainNumberFilter(
        field_name="risk_score",
        lookup_expr="gte",
        min_value=0,
        max_value=1,
        help_text="Risk score ≥ (0 to 1).",
    )
    risk_max = PlainNumberFilter(
        field_name="risk_score",
        lookup_expr="lte",
        min_value=0,
        max_value=1,
        help_text="Risk score ≤ (0 to 1).",
    )
    inactive_days = PlainNumberFilter(
        method="filter_inactive_days",
        min_value=0,
        max_value=MAX_INACTIVE_DAYS,
        help_text="No activity for at least this many days (or never).",
    )
    unattended = django_filters.ChoiceFilter(
        choices=(("true", "true"), ("false", "false")),
        method="filter_unattended",
        help_text="true: only learners still studying in the high band whom no coach has marked "
        'within RISK_FEEDBACK_QUIET_DAYS (the overview\'s "needs attention"); false: all others.',
    )
    search = django_filters.CharFilter(
        method="filter_search", help_text="Whole words of the name, or the exact external id."
    )
    email = django_filters.CharFilter(
        method="filter_email", help_text="Exact email address (case-insensitive)."
    )
    ordering = StableOrderingFilter(
        fields=(
            ("risk_score", "risk"),
            ("last_active_at", "last_active"),
            ("enrolled_at", "enrolled"),
        ),
        help_text="risk, last_active or enrolled; prefix with - for descending. Missing values "
        "(never scored, never active) sort lowest; the id breaks ties.",
    )

    class Meta:
        model = Learner
        fields: list[str] = []

    def filter_risk_band(
        self, queryset: QuerySet[Learner], name: str, value: list[str]
    ) -> QuerySet[Learner]:
        if not value:
            return queryset
        queryset = queryset.filter(risk_band__in=value)
        return queryset if self.form.cleaned_data.get("status") else studying(queryset)

    def filter_inactive_days(
        self, queryset: QuerySet[Learner], name: str, value: float
    ) -> QuerySet[Learner]:
        cutoff = timezone.now() - timedelta(days=float(value))
        return queryset.filter(Q(last_active_at__lt=cutoff) | Q(last_active_at__isnull=True))

    def filter_unattended(
        self, queryset: QuerySet[Learner], name: str, value: str
    ) -> QuerySet[Learner]:
        unattended = high_risk_without_action_q(timezone.now())
        return queryset.filter(unattended) if value == "true" else queryset.exclude(unattended)

    def filter_search(
        self, queryset: QuerySet[Learner], name: str, value: str
    ) -> QuerySet[Learner]:
        """Exact external id, or every word of the query among the words of the (encrypted) name."""
        value = value.strip()
        if not value:
            return queryset
        by_name = Q()
        for token in word_tokens(value):
            by_name &= Q(name_tokens__contains=token)
        return queryset.filter(Q(external_id=value) | by_name)

    def filter_email(self, queryset: QuerySet[Learner], name: str, value: str) -> QuerySet[Learner]:
        return queryset.filter(email_hash=keyed_hash(value))


def high_risk_without_action_q(now: datetime) -> Q:
    """Studying, in the high band, and no coach mark within ``RISK_FEEDBACK_QUIET_DAYS``: the
    window in which a mark also holds the learner out of the digest."""
    since = now - timedelta(days=settings.RISK_FEEDBACK_QUIET_DAYS)
    marked = RiskFeedback.objects.filter(learner_id=OuterRef("pk"), created_at__gte=since)
    return Q(status__in=STUDYING_STATUSES, risk_band=RiskBand.HIGH) & Q(~Exists(marked))


def studying(queryset: QuerySet[Learner]) -> QuerySet[Learner]:
    """Learners still studying: the only ones who belong in a caseload or a risk count."""
    return queryset.filter(status__in=STUDYING_STATUSES)
