"""The analytics endpoints under ``/api/v1/analytics/``: staff only (API keys are refused),
scoped to the caller's cohorts; every table also answers CSV (``?format=csv``)."""

from collections.abc import Iterable
from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.views import APIView

from analytics import selectors
from analytics.api.serializers import (
    AttentionSerializer,
    BandChangesSerializer,
    CaseloadSerializer,
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
CSV = OpenApiResponse(description="The same table as CSV (`?format=csv` or `Accept: text/csv`).")


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
        """The KPIs of the caller's cohorts with their change over 7 days; the nudge figures
        are null with ``available: false`` until the nudges app is installed."""
        return Response(OverviewSerializer(selectors.overview(actor=request.user)).data)


@extend_schema_view(
    get=extend_schema(
        summary="Risk distribution per cohort",
        description="The caller's cohorts: learners by status, the studying ones by current "
        "risk band.",
        responses={200: CohortDistributionSerializer(many=True), **ERRORS},
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
        description="Daily active learners and events by kind, per UTC day with a snapshot "
        "(today's is partial).",
        parameters=[TrendQuerySerializer],
        responses={200: EngagementDaySerializer(many=True), **ERRORS},
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
        description="Studying learners by band as of the end of each UTC day with a snapshot.",
        parameters=[TrendQuerySerializer],
        responses={200: RiskDaySerializer(many=True), **ERRORS},
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
        responses={200: CaseloadSerializer(many=True), **ERRORS},
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
        responses={200: AttentionSerializer(many=True), **ERRORS},
    )
)
class AttentionView(_TableView):
    serializer = AttentionSerializer
    csv_filename = "needs-attention.csv"
    csv_columns = tuple(AttentionSerializer().fields)

    def rows(self, request: Request) -> Iterable[Any]:
        return selectors.needing_attention(actor=request.user)


class ChangesView(APIView):
    access = STAFF_ONLY

    @extend_schema(
        summary="Risk changes since yesterday",
        responses={200: BandChangesSerializer, **ERRORS},
    )
    def get(self, request: Request) -> Response:
        """Learners who entered or left the high band in the last 24 hours."""
        changes = selectors.since_yesterday(actor=request.user)
        return Response(BandChangesSerializer(changes).data)
