"""The analytics endpoints under ``/api/v1/analytics/``: staff only (API keys are refused),
scoped to the caller's cohorts; every table also answers CSV (``?format=csv``)."""

from collections.abc import Iterable
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.views import APIView

from analytics import selectors
from analytics.api.serializers import (
    AttentionSerializer,
    BandChangeSerializer,
    BandChangesSerializer,
    CaseloadSerializer,
    CohortCardSerializer,
    CohortDistributionSerializer,
    EngagementDaySerializer,
    OverviewSerializer,
    RiskDaySerializer,
    TrendQuerySerializer,
)
from engagement.api.csv import CSVExportMixin
from engagement.api.permissions import Access
from engagement.api.responses import ERRORS
from engagement.roles import STAFF
from learners.contracts import EVENT_KINDS

STAFF_ONLY = Access(read=STAFF)


def _csv(what: str) -> OpenApiResponse:
    return OpenApiResponse(
        response=OpenApiTypes.STR,
        description=f"{what} as CSV text (`?format=csv` or `Accept: text/csv`), one line per row "
        "after the header; nested objects spread into `<field>_<key>` columns.",
    )


def _table(serializer: type[Serializer], what: str = "The same table") -> dict[Any, Any]:
    """The documented answers of a table endpoint: a JSON array, or the same rows as CSV."""
    return {
        (200, "application/json"): serializer(many=True),
        (200, "text/csv"): _csv(what),
        **ERRORS,
    }


def _days(request: Request) -> int:
    query = TrendQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    return int(query.validated_data["days"])


class _TableView(CSVExportMixin, APIView):
    """A table of the caller's cohorts: ``rows`` through ``serializer``, as JSON or CSV."""

    access = STAFF_ONLY
    serializer: type[Serializer]

    def rows(self, request: Request) -> Iterable[Any]:
        raise NotImplementedError

    def get(self, request: Request) -> Response:
        return Response(self.serializer(self.rows(request), many=True).data)


class OverviewView(APIView):
    access = STAFF_ONLY

    @extend_schema(summary="Overview KPIs", responses={200: OverviewSerializer, **ERRORS})
    def get(self, request: Request) -> Response:
        """The KPIs of the caller's cohorts, live, with their change over 7 days: today's
        snapshot against the one of ``reference_day`` (UTC), over the cohorts present on both
        days. The nudge figures cover the UTC month so far (``period_start``)."""
        return Response(OverviewSerializer(selectors.overview(actor=request.user)).data)


@extend_schema_view(
    get=extend_schema(
        summary="Risk distribution per cohort",
        description="The caller's cohorts: learners by status, the studying ones by current "
        "risk band.",
        responses=_table(CohortDistributionSerializer),
    )
)
class CohortDistributionView(_TableView):
    serializer = CohortDistributionSerializer
    csv_filename = "cohorts-risk.csv"
    csv_columns = tuple(CohortDistributionSerializer().fields)

    def rows(self, request: Request) -> Iterable[Any]:
        return selectors.cohort_distribution(actor=request.user)


@extend_schema_view(
    get=extend_schema(
        summary="Engagement per day",
        description="Daily active learners and events by kind, for every UTC day of the window "
        "(today's partial); the counts are null on a day without a snapshot.",
        parameters=[TrendQuerySerializer],
        responses=_table(EngagementDaySerializer),
    )
)
class EngagementTrendView(_TableView):
    serializer = EngagementDaySerializer
    csv_filename = "engagement-trend.csv"
    csv_columns = (
        "day",
        "active_learners",
        "events_total",
        *(f"events_{kind}" for kind in EVENT_KINDS),
    )

    def rows(self, request: Request) -> Iterable[Any]:
        return selectors.engagement_trend(actor=request.user, days=_days(request))


@extend_schema_view(
    get=extend_schema(
        summary="Risk bands per day",
        description="Studying learners by band as of the end of every UTC day of the window; "
        "the counts are null on a day without a snapshot.",
        parameters=[TrendQuerySerializer],
        responses=_table(RiskDaySerializer),
    )
)
class RiskTrendView(_TableView):
    serializer = RiskDaySerializer
    csv_filename = "risk-trend.csv"
    csv_columns = tuple(RiskDaySerializer().fields)

    def rows(self, request: Request) -> Iterable[Any]:
        return selectors.risk_trend(actor=request.user, days=_days(request))


@extend_schema_view(
    get=extend_schema(
        summary="Coach caseloads",
        description="Per coach of the caller's cohorts: learners, high risk, high risk nobody "
        "acted on.",
        responses=_table(CaseloadSerializer),
    )
)
class CaseloadView(_TableView):
    serializer = CaseloadSerializer
    csv_filename = "caseloads.csv"
    csv_columns = tuple(CaseloadSerializer().fields)

    def rows(self, request: Request) -> Iterable[Any]:
        return selectors.caseloads(actor=request.user)


@extend_schema_view(
    get=extend_schema(
        summary="Learners needing attention",
        description="The top high-risk learners nobody has acted on (pseudonyms for analysts).",
        responses=_table(AttentionSerializer),
    )
)
class AttentionView(_TableView):
    serializer = AttentionSerializer
    csv_filename = "needs-attention.csv"
    csv_columns = tuple(AttentionSerializer().fields)

    def rows(self, request: Request) -> Iterable[Any]:
        return selectors.needing_attention(actor=request.user)


@extend_schema_view(
    get=extend_schema(
        summary="Cohort cards",
        description="The cohorts page's data: each of the caller's cohorts with its counts, "
        "its coaches' names and its high-risk learners on every UTC day of the window (null "
        "on a day without a snapshot). The CSV has one line per cohort and day.",
        parameters=[TrendQuerySerializer],
        responses=_table(CohortCardSerializer, "One line per cohort and day"),
    )
)
class CohortCardsView(_TableView):
    serializer = CohortCardSerializer
    csv_filename = "cohort-cards.csv"
    csv_columns = ("cohort_id", "name", "course_code", "coaches", "day", "high")

    def rows(self, request: Request) -> Iterable[Any]:
        return selectors.cohort_cards(actor=request.user, days=_days(request))

    def get(self, request: Request) -> Response:
        cards = self.serializer(self.rows(request), many=True).data
        if request.accepted_renderer.format != "csv":
            return Response(cards)
        return Response(
            [
                {
                    "cohort_id": card["cohort_id"],
                    "name": card["name"],
                    "course_code": card["course_code"],
                    "coaches": "; ".join(card["coaches"]),
                    **day,
                }
                for card in cards
                for day in card["high_risk_trend"]
            ]
        )


@extend_schema_view(
    get=extend_schema(
        summary="Risk changes in the last 24 hours",
        description="Learners who entered or left the high band in the last 24 hours (a "
        "rolling window ending now): the counts and the top rows of each. The CSV lists those "
        "rows, with `change` telling which way each went.",
        responses={
            (200, "application/json"): BandChangesSerializer,
            (200, "text/csv"): _csv("The rows"),
            **ERRORS,
        },
    )
)
class ChangesView(CSVExportMixin, APIView):
    access = STAFF_ONLY
    csv_filename = "risk-changes.csv"
    csv_columns = ("change", *BandChangeSerializer().fields)

    def get(self, request: Request) -> Response:
        changes = BandChangesSerializer(selectors.last_24_hours(actor=request.user)).data
        if request.accepted_renderer.format != "csv":
            return Response(changes)
        return Response(
            [
                {**row, "change": change}
                for change in ("became_high", "recovered")
                for row in changes[f"{change}_rows"]
            ]
        )
