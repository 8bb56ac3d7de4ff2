"""Cohort, learner and activity endpoints. They dispatch to selectors and services only."""

from typing import Any, cast

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from engagement.api.pagination import (
    CappedCountPagination,
    PageNumberPagination,
    TimeCursorPagination,
)
from engagement.api.permissions import Access, staff_user
from engagement.api.personal_data import shown_to
from engagement.api.responses import ERRORS
from engagement.errors import ValidationFailed
from engagement.principals import audit_actor
from engagement.roles import ADMIN, ADMIN_COACH, STAFF, sees_personal_data
from engagement.wording import counted
from learners import privacy, selectors, services
from learners.api.serializers import (
    ActivityEventOutputSerializer,
    CoachNoteInputSerializer,
    CoachNoteOutputSerializer,
    CohortInputSerializer,
    CohortOutputSerializer,
    EventInputSerializer,
    IngestReportSerializer,
    LearnerCreateSerializer,
    LearnerOutputSerializer,
    LearnerUpdateSerializer,
    RiskAssessmentOutputSerializer,
    RiskDetailSerializer,
    RiskFeedbackInputSerializer,
    RiskFeedbackOutputSerializer,
    learner_row_values,
    learner_rows,
)
from learners.filters import LearnerFilter
from learners.models import Cohort, Learner
from learners.risk import selectors as risk_selectors
from learners.risk.feedback import risk_feedback_create
from learners.scopes import ApiKeyScope


@extend_schema_view(
    list=extend_schema(
        summary="List cohorts", responses={200: CohortOutputSerializer(many=True), **ERRORS}
    ),
    retrieve=extend_schema(
        summary="Get a cohort", responses={200: CohortOutputSerializer, **ERRORS}
    ),
    create=extend_schema(
        summary="Create a cohort",
        request=CohortInputSerializer,
        responses={201: CohortOutputSerializer, **ERRORS},
    ),
    partial_update=extend_schema(
        summary="Update a cohort",
        request=CohortInputSerializer,
        responses={200: CohortOutputSerializer, **ERRORS},
    ),
    destroy=extend_schema(
        summary="Delete a cohort that has no learners",
        responses={
            204: None,
            409: OpenApiResponse(description="The cohort still has learners."),
            **ERRORS,
        },
    ),
)
class CohortViewSet(viewsets.GenericViewSet):
    """Cohorts: groups of learners following a course together."""

    access = Access(read=STAFF, write=ADMIN, read_scope=ApiKeyScope.LEARNERS_READ)
    serializer_class = CohortOutputSerializer

    def get_queryset(self) -> QuerySet[Cohort]:
        return selectors.cohort_list(actor=self.request.user)

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(CohortOutputSerializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(
            CohortOutputSerializer(selectors.cohort_get(actor=request.user, cohort_id=pk)).data
        )

    def create(self, request: Request) -> Response:
        serializer = CohortInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        cohort = services.cohort_create(actor=audit_actor(request), **serializer.validated_data)
        return Response(CohortOutputSerializer(cohort).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str) -> Response:
        cohort = selectors.cohort_get(actor=request.user, cohort_id=pk)
        serializer = CohortInputSerializer(cohort, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        cohort = services.cohort_update(
            actor=audit_actor(request), cohort=cohort, data=serializer.validated_data
        )
        return Response(CohortOutputSerializer(cohort).data)

    def destroy(self, request: Request, pk: str) -> Response:
        services.cohort_delete(
            actor=audit_actor(request),
            cohort=selectors.cohort_get(actor=request.user, cohort_id=pk),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class LearnerPagination(CappedCountPagination):
    """A coach's page is read cohort by cohort (see ``selectors.learner_page``)."""

    def page_rows(self, queryset: QuerySet, start: int, stop: int) -> list[Any]:
        actor = cast(Request, self.request).user  # set by paginate_queryset
        return selectors.learner_page(queryset, actor=actor, start=start, stop=stop)


@extend_schema_view(
    list=extend_schema(
        summary="List learners", responses={200: LearnerOutputSerializer(many=True), **ERRORS}
    ),
    retrieve=extend_schema(
        summary="Get a learner (cached until the learner changes)",
        responses={200: LearnerOutputSerializer, **ERRORS},
    ),
    create=extend_schema(
        summary="Create a learner",
        request=LearnerCreateSerializer,
        responses={201: LearnerOutputSerializer, **ERRORS},
    ),
    partial_update=extend_schema(
        summary="Update a learner",
        request=LearnerUpdateSerializer,
        responses={200: LearnerOutputSerializer, **ERRORS},
    ),
    destroy=extend_schema(
        summary="Delete a learner and their activity (admins only)", responses={204: None, **ERRORS}
    ),
    export=extend_schema(
        summary="Export everything held on a learner (GDPR access request; admins only)",
        responses={
            200: OpenApiResponse(description="Learner, cohort, activity and audit trail as JSON."),
            **ERRORS,
        },
    ),
    risk=extend_schema(
        summary="A learner's current risk: score, band, factors, changes and the best lever",
        responses={200: RiskDetailSerializer, **ERRORS},
    ),
    risk_history=extend_schema(
        summary="A learner's past risk assessments, newest first",
        responses={200: RiskAssessmentOutputSerializer(many=True), **ERRORS},
    ),
    risk_feedback=extend_schema(
        summary="Mark the latest assessment: acknowledged, not applicable or incorrectly flagged",
        request=RiskFeedbackInputSerializer,
        responses={201: RiskFeedbackOutputSerializer, **ERRORS},
    ),
    erase=extend_schema(
        summary="Erase a learner's personal data, keeping anonymised activity (admins only)",
        request=None,
        responses={200: LearnerOutputSerializer, **ERRORS},
    ),
    events=extend_schema(
        summary="A learner's activity, newest first",
        responses={200: ActivityEventOutputSerializer(many=True), **ERRORS},
    ),
    notes=[
        extend_schema(
            methods=["GET"],
            summary="Coaches' notes on a learner, newest first (admins and coaches only)",
            responses={200: CoachNoteOutputSerializer(many=True), **ERRORS},
        ),
        extend_schema(
            methods=["POST"],
            summary="Add a note on a learner (admins and coaches only)",
            request=CoachNoteInputSerializer,
            responses={201: CoachNoteOutputSerializer, **ERRORS},
        ),
    ],
    note=extend_schema(
        summary="Delete a note on a learner: its author or an admin",
        parameters=[OpenApiParameter("note_id", OpenApiTypes.UUID, OpenApiParameter.PATH)],
        responses={204: None, **ERRORS},
    ),
)
class LearnerViewSet(viewsets.GenericViewSet):
    """Learners, filterable by cohort, status, risk and inactivity; analysts get pseudonymised rows.

    Every read passes its answer through :func:`shown_to`, which drops the fields each output
    serializer declares personal for pseudonymised callers.
    """

    access = Access(
        read=STAFF,
        write=ADMIN_COACH,
        # Notes are personal data: never for analysts (nor for API keys).
        actions={
            "destroy": ADMIN,
            "export": ADMIN,
            "erase": ADMIN,
            "notes": ADMIN_COACH,
            "note": ADMIN_COACH,
        },
        read_scope=ApiKeyScope.LEARNERS_READ,
    )
    serializer_class = LearnerOutputSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = LearnerFilter
    pagination_class = LearnerPagination

    def get_queryset(self) -> QuerySet[Learner]:
        return selectors.learner_queryset(actor=self.request.user)

    def _cohorts(self) -> dict[str, Any]:
        return {"cohorts": selectors.cohort_list(actor=self.request.user)}

    def list(self, request: Request) -> Response:
        learners = selectors.learner_list(actor=request.user, filters=request.query_params)
        page = self.paginate_queryset(
            learner_row_values(learners, personal=sees_personal_data(request.user))
        )
        rows = learner_rows(cast(list[dict[str, Any]], page))
        return self.get_paginated_response(shown_to(request.user, rows, LearnerOutputSerializer))

    def retrieve(self, request: Request, pk: str) -> Response:
        detail = selectors.learner_detail_cached(
            actor=request.user,
            learner_id=pk,
            render=lambda learner: dict(LearnerOutputSerializer(learner).data),
        )
        return Response(shown_to(request.user, detail, LearnerOutputSerializer))

    def create(self, request: Request) -> Response:
        serializer = LearnerCreateSerializer(data=request.data, context=self._cohorts())
        serializer.is_valid(raise_exception=True)
        learner = services.learner_create(actor=audit_actor(request), **serializer.validated_data)
        return Response(LearnerOutputSerializer(learner).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str) -> Response:
        learner = selectors.learner_get(actor=request.user, learner_id=pk)
        serializer = LearnerUpdateSerializer(
            learner, data=request.data, partial=True, context=self._cohorts()
        )
        serializer.is_valid(raise_exception=True)
        learner = services.learner_update(
            actor=audit_actor(request), learner=learner, data=serializer.validated_data
        )
        return Response(LearnerOutputSerializer(learner).data)

    def destroy(self, request: Request, pk: str) -> Response:
        learner = selectors.learner_get(actor=request.user, learner_id=pk)
        services.learner_delete(actor=audit_actor(request), learner=learner)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @action(detail=True, methods=["get"], pagination_class=TimeCursorPagination, filter_backends=[])
    def events(self, request: Request, pk: str) -> Response:
        learner = selectors.learner_get(actor=request.user, learner_id=pk)
        page = self.paginate_queryset(selectors.learner_events(learner=learner))
        events = ActivityEventOutputSerializer(page, many=True).data
        return self.get_paginated_response(
            shown_to(request.user, events, ActivityEventOutputSerializer)
        )

    @action(detail=True, methods=["get"], filter_backends=[])
    def export(self, request: Request, pk: str) -> Response:
        learner = selectors.learner_get(actor=request.user, learner_id=pk)
        return Response(privacy.learner_export(actor=audit_actor(request), learner=learner))

    @action(detail=True, methods=["post"], filter_backends=[])
    def erase(self, request: Request, pk: str) -> Response:
        learner = selectors.learner_get(actor=request.user, learner_id=pk)
        learner = privacy.learner_erase(actor=audit_actor(request), learner=learner)
        return Response(LearnerOutputSerializer(learner).data)

    @action(detail=True, methods=["get"], filter_backends=[])
    def risk(self, request: Request, pk: str) -> Response:
        learner = selectors.learner_get(actor=request.user, learner_id=pk)
        detail = risk_selectors.learner_risk(learner=learner)
        return Response(shown_to(request.user, detail, RiskDetailSerializer))

    @action(
        detail=True,
        methods=["get"],
        url_path="risk/history",
        filter_backends=[],
        pagination_class=PageNumberPagination,
    )
    def risk_history(self, request: Request, pk: str) -> Response:
        learner = selectors.learner_get(actor=request.user, learner_id=pk)
        page = self.paginate_queryset(risk_selectors.learner_risk_history(learner=learner))
        history = RiskAssessmentOutputSerializer(page, many=True).data
        return self.get_paginated_response(
            shown_to(request.user, history, RiskAssessmentOutputSerializer)
        )

    @action(detail=True, methods=["post"], url_path="risk/feedback", filter_backends=[])
    def risk_feedback(self, request: Request, pk: str) -> Response:
        learner = selectors.learner_get(actor=request.user, learner_id=pk)
        serializer = RiskFeedbackInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        feedback = risk_feedback_create(
            actor=audit_actor(request), learner=learner, **serializer.validated_data
        )
        return Response(RiskFeedbackOutputSerializer(feedback).data, status=status.HTTP_201_CREATED)

    @action(
        detail=True,
        methods=["get", "post"],
        filter_backends=[],
        pagination_class=PageNumberPagination,
    )
    def notes(self, request: Request, pk: str) -> Response:
        learner = selectors.learner_get(actor=request.user, learner_id=pk)
        if request.method == "POST":
            serializer = CoachNoteInputSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            note = services.coach_note_create(
                actor=staff_user(request), learner=learner, **serializer.validated_data
            )
            return Response(CoachNoteOutputSerializer(note).data, status=status.HTTP_201_CREATED)
        page = self.paginate_queryset(
            selectors.coach_note_list(actor=request.user, learner=learner)
        )
        return self.get_paginated_response(CoachNoteOutputSerializer(page, many=True).data)

    @action(
        detail=True,
        methods=["delete"],
        url_path=r"notes/(?P<note_id>[^/.]+)",
        filter_backends=[],
    )
    def note(self, request: Request, pk: str, note_id: str) -> Response:
        learner = selectors.learner_get(actor=request.user, learner_id=pk)
        note = selectors.coach_note_get(actor=request.user, learner=learner, note_id=note_id)
        services.coach_note_delete(actor=staff_user(request), note=note)
        return Response(status=status.HTTP_204_NO_CONTENT)


class EventIngestView(APIView):
    """Batch ingestion of activity events from a learning platform."""

    access = Access(write=ADMIN, write_scope=ApiKeyScope.EVENTS_WRITE)
    throttle_scope = "ingest"

    @extend_schema(
        summary="Ingest a batch of activity events",
        description=(
            "A JSON array of up to INGEST_MAX_EVENTS (5,000) events. Valid items are stored, items already "
            "seen (same source and source_event_id) count as duplicates, and each refused item is reported "
            "with its index and reasons. Re-sending a batch changes nothing. Answers 400 when no item is valid."
        ),
        request=EventInputSerializer(many=True),
        responses={
            200: IngestReportSerializer,
            400: OpenApiResponse(
                response={
                    "anyOf": [
                        {"$ref": "#/components/schemas/IngestReport"},
                        {"type": "object", "additionalProperties": True},
                    ]
                },
                description=(
                    "No item was valid: the ingest report. Or the request itself was refused "
                    "(not a non-empty JSON array, too many events, malformed JSON): "
                    '{"non_field_errors": [reasons]} or {"detail": reason}.'
                ),
            ),
            401: ERRORS[401],
            403: ERRORS[403],
            429: ERRORS[429],
        },
    )
    def post(self, request: Request) -> Response:
        items = request.data
        limit = services.ingest_limit()
        if not isinstance(items, list) or not items:
            raise ValidationFailed(
                detail={"non_field_errors": ["Expected a non-empty JSON array of events."]}
            )
        if len(items) > limit:
            raise ValidationFailed(
                detail={
                    "non_field_errors": [
                        f"At most {counted(limit, 'event')} per request; this one has {len(items)}."
                    ]
                }
            )
        report = services.events_ingest(items=items)
        code = (
            status.HTTP_400_BAD_REQUEST
            if report.rejected and not (report.accepted or report.duplicates)
            else 200
        )
        return Response(IngestReportSerializer(report).data, status=code)
