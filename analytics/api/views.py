"""The analytics endpoints under ``/api/v1/analytics/``: staff only (API keys are refused),
scoped to the caller's cohorts; every table also answers CSV (``?format=csv``)."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
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


class OverviewView(APIView):
    access = STAFF_ONLY

    @extend_schema(summary="Overview KPIs", responses={200: OverviewSerializer, **ERRORS})
    def get(self, request: Request) -> Response:
        """The KPIs of the caller's cohorts with their change over 7 days; the nudge figures
        are null with ``available: false`` until the nudges app is installed."""
        return Response(OverviewSerializer(selectors.overview(actor=request.user)).data)


class CohortDistributionView(CSVExportMixin, APIView):
    access = STAFF_ONLY
    csv_filename = "cohorts-risk.csv"
    csv_columns = tuple(CohortDistributionSerializer().fields)

    @extend_schema(
        summary="Risk distribution per cohort",
        responses={200: CohortDistributionSerializer(many=True), **ERRORS},
    )
    def get(self, request: Request) -> Response:
        """The caller's cohorts: learners by status, the studying ones by current risk band."""
        rows = selectors.cohort_distribution(actor=request.user)
        return Response(CohortDistributionSerializer(rows, many=True).data)


class EngagementTrendView(CSVExportMixin, APIView):
    access = STAFF_ONLY
    csv_filename = "engagement-trend.csv"
    csv_columns = (
        "day",
        "active_learners",
        "events_total",
        *(f"events_{kind}" for kind in EVENT_KINDS),
    )

    @extend_schema(
        summary="Engagement per day",
        parameters=[TrendQuerySerializer],
        responses={200: EngagementDaySerializer(many=True), **ERRORS},
    )
    def get(self, request: Request) -> Response:
        """Daily active learners and events by kind, per UTC day with a snapshot (today's is
        partial)."""
        rows = selectors.engagement_trend(actor=request.user, days=_days(request))
        return Response(EngagementDaySerializer(rows, many=True).data)


class RiskTrendView(CSVExportMixin, APIView):
    access = STAFF_ONLY
    csv_filename = "risk-trend.csv"
    csv_columns = tuple(RiskDaySerializer().fields)

    @extend_schema(
        summary="Risk bands per day",
        parameters=[TrendQuerySerializer],
        responses={200: RiskDaySerializer(many=True), **ERRORS},
    )
    def get(self, request: Request) -> Response:
        """Studying learners by band as of the end of each UTC day with a snapshot."""
        rows = selectors.risk_trend(actor=request.user, days=_days(request))
        return Response(RiskDaySerializer(rows, many=True).data)


class CaseloadView(CSVExportMixin, APIView):
    access = STAFF_ONLY
    csv_filename = "caseloads.csv"
    csv_columns = tuple(CaseloadSerializer().fields)

    @extend_schema(
        summary="Coach caseloads", responses={200: CaseloadSerializer(many=True), **ERRORS}
    )
    def get(self, request: Request) -> Response:
        """Per coach of the caller's cohorts: learners, high risk, high risk nobody acted on."""
        rows = selectors.caseloads(actor=request.user)
        return Response(CaseloadSerializer(rows, many=True).data)


class AttentionView(CSVExportMixin, APIView):
    access = STAFF_ONLY
    csv_filename = "needs-attention.csv"
    csv_columns = tuple(AttentionSerializer().fields)

    @extend_schema(
        summary="Learners needing attention",
        responses={200: AttentionSerializer(many=True), **ERRORS},
    )
    def get(self, request: Request) -> Response:
        """The top high-risk learners nobody has acted on (pseudonyms for analysts)."""
        rows = selectors.needing_attention(actor=request.user)
        return Response(AttentionSerializer(rows, many=True).data)


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
