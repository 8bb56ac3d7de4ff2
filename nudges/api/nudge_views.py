"""The nudge endpoints: list, detail, manual create, approve, send, cancel; and the learner's
in-app inbox for their learning platform (an API key with ``inbox:read``) with read receipts.
Views only dispatch to ``nudges.selectors`` and ``nudges.lifecycle``."""

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
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from engagement.api.permissions import Access
from engagement.api.responses import ERRORS
from engagement.principals import audit_actor
from engagement.roles import ADMIN_COACH, NOBODY, STAFF
from learners.contracts import ApiKeyScope
from nudges import lifecycle, selectors
from nudges.api.nudge_serializers import (
    InboxMessageSerializer,
    NudgeCreateSerializer,
    NudgeSendSerializer,
)
from nudges.api.serializers import NudgeSerializer
from nudges.filters import NudgeFilter
from nudges.models import Nudge

CONFLICT = {
    409: OpenApiResponse(
        description='Not in a status this allows (e.g. sent already): {"status": [why]}.'
    )
}


@extend_schema_view(
    list=extend_schema(
        summary="List nudges (analysts get no message text)",
        responses={200: NudgeSerializer(many=True), **ERRORS},
    ),
    retrieve=extend_schema(summary="Get a nudge", responses={200: NudgeSerializer, **ERRORS}),
    create=extend_schema(
        summary="Write a nudge by hand (a draft, source manual)",
        description=(
            "The text is held to the guardrails that protect learners from any writer: the "
            "length limits of generated text, no email address or phone number, links only to "
            "the allowed domains, no shaming or threatening words. A failure is a 400 naming "
            "the field and the rule; a learner unknown or outside your cohorts is "
            '`{"learner": ["No learner with this id."]}`.'
        ),
        request=NudgeCreateSerializer,
        responses={201: NudgeSerializer, **ERRORS},
    ),
    approve=extend_schema(
        summary="Approve a draft",
        request=None,
        responses={200: NudgeSerializer, **CONFLICT, **ERRORS},
    ),
    send=extend_schema(
        summary="Send now (or at `at`) within the contact policy: sent, scheduled or suppressed",
        request=NudgeSendSerializer,
        responses={200: NudgeSerializer, **CONFLICT, **ERRORS},
    ),
    cancel=extend_schema(
        summary="Cancel a nudge not sent yet",
        request=None,
        responses={200: NudgeSerializer, **CONFLICT, **ERRORS},
    ),
)
class NudgeViewSet(viewsets.GenericViewSet):
    """Nudges of the learners in the caller's cohorts; coaches and admins act on them."""

    access = Access(read=STAFF, write=ADMIN_COACH)
    serializer_class = NudgeSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = NudgeFilter
    # Ids only, so that sibling routes (``nudges/stream/``) are not taken for a nudge.
    lookup_value_regex = "[0-9a-fA-F-]+"

    def get_queryset(self) -> QuerySet[Nudge]:
        return selectors.nudge_queryset(actor=self.request.user)

    def _answer(self, nudge: Nudge, code: int = status.HTTP_200_OK) -> Response:
        return Response(self.get_serializer(nudge).data, status=code)

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(
            selectors.nudge_list(actor=request.user, filters=request.query_params)
        )
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return self._answer(selectors.nudge_get(actor=request.user, nudge_id=pk))

    def create(self, request: Request) -> Response:
        serializer = NudgeCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        nudge = lifecycle.nudge_create_manual(
            learner_id=data["learner"],
            channel=data["channel"],
            category=data["category"],
            subject=data["subject"],
            body=data["body"],
            actor=audit_actor(request),
        )
        return self._answer(selectors.nudge_get(actor=request.user, nudge_id=nudge.pk), 201)

    @action(detail=True, methods=["post"], filter_backends=[])
    def approve(self, request: Request, pk: str) -> Response:
        nudge = selectors.nudge_get(actor=request.user, nudge_id=pk)
        lifecycle.nudge_approve(nudge=nudge, actor=audit_actor(request))
        return self._answer(selectors.nudge_get(actor=request.user, nudge_id=pk))

    @action(detail=True, methods=["post"], filter_backends=[])
    def send(self, request: Request, pk: str) -> Response:
        serializer = NudgeSendSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        nudge = selectors.nudge_get(actor=request.user, nudge_id=pk)
        lifecycle.nudge_send(
            nudge=nudge, actor=audit_actor(request), at=serializer.validated_data.get("at")
        )
        return self._answer(selectors.nudge_get(actor=request.user, nudge_id=pk))

    @action(detail=True, methods=["post"], filter_backends=[])
    def cancel(self, request: Request, pk: str) -> Response:
        nudge = selectors.nudge_get(actor=request.user, nudge_id=pk)
        lifecycle.nudge_cancel(nudge=nudge, actor=audit_actor(request))
        return self._answer(selectors.nudge_get(actor=request.user, nudge_id=pk))


LEARNER = OpenApiParameter("learner_id", OpenApiTypes.UUID, OpenApiParameter.PATH)
NUDGE = OpenApiParameter("nudge_id", OpenApiTypes.UUID, OpenApiParameter.PATH)
INBOX_ACCESS = Access(
    read=ADMIN_COACH,
    write=NOBODY,
    read_scope=ApiKeyScope.INBOX_READ,
    write_scope=ApiKeyScope.INBOX_READ,
)


class InboxView(GenericAPIView):
    """A learner's in-app messages, newest first, for their learning platform to show."""

    access = INBOX_ACCESS
    serializer_class = InboxMessageSerializer
    queryset = Nudge.objects.none()  # for the schema: the rows come from the selector

    @extend_schema(
        summary="A learner's in-app inbox (API key with inbox:read)",
        parameters=[LEARNER],
        responses={200: InboxMessageSerializer(many=True), **ERRORS},
    )
    def get(self, request: Request, learner_id: str) -> Response:
        learner = selectors.learner_in_scope(actor=request.user, learner_id=learner_id)
        page = self.paginate_queryset(selectors.inbox_list(learner_id=learner))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class InboxReadView(GenericAPIView):
    """The learner read one message: a read receipt (the first one counts)."""

    access = INBOX_ACCESS
    serializer_class = InboxMessageSerializer
    queryset = Nudge.objects.none()  # for the schema: the rows come from the selector

    @extend_schema(
        summary="Mark an inbox message read (API key with inbox:read)",
        parameters=[LEARNER, NUDGE],
        request=None,
        responses={200: InboxMessageSerializer, **ERRORS},
    )
    def post(self, request: Request, learner_id: str, nudge_id: str) -> Response:
        learner = selectors.learner_in_scope(actor=request.user, learner_id=learner_id)
        nudge = selectors.inbox_get(learner_id=learner, nudge_id=nudge_id)
        nudge = lifecycle.nudge_mark_read(nudge=nudge, actor=audit_actor(request))
        return Response(self.get_serializer(nudge).data)
