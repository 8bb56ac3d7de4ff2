"""Generation endpoints: a nudge written for a learner, prompt versions, and the SSE preview."""

import json
from collections.abc import Iterator, Mapping
from typing import Any

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import renderers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from engagement.api.permissions import Access
from engagement.api.renderers import JSONRenderer
from engagement.api.responses import ERRORS
from engagement.principals import audit_actor
from engagement.roles import ADMIN, ADMIN_COACH, STAFF
from learners.contracts import learner_cohort_in_scope
from nudges.api.generation_serializers import (
    NudgePreviewQuerySerializer,
    NudgeRequestSerializer,
    PromptCreateSerializer,
    PromptOutputSerializer,
)
from nudges.api.serializers import NudgeSerializer
from nudges.generation import PreviewEvent, nudge_generate, nudge_preview
from nudges.models import PromptTemplate
from nudges.prompts import prompt_activate, prompt_get, prompt_list, prompt_version_create


class LearnerNudgeView(APIView):
    """A draft nudge for one learner, written now (LLM or template)."""

    access = Access(write=ADMIN_COACH)
    throttle_scope = "nudge_generation"

    @extend_schema(
        summary="Write a draft nudge for this learner",
        description="LLM-written when a key is configured and the `nudges_llm_generation` flag "
        "holds for the learner's cohort; otherwise, or when the LLM fails or a guardrail "
        "rejects its text, the template of the learner's top risk factor, with "
        "`fallback_reason` (`no_key` when no LLM key is configured).",
        request=NudgeRequestSerializer,
        responses={201: NudgeSerializer, **ERRORS},
    )
    def post(self, request: Request, learner_id: Any) -> Response:
        # A learner outside the caller's cohorts is a 404 whatever the body says.
        learner_cohort_in_scope(actor=request.user, learner_id=learner_id)
        serializer = NudgeRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        nudge = nudge_generate(
            learner_id=learner_id,
            channel=serializer.validated_data["channel"],
            prompt_key=serializer.validated_data.get("prompt_key"),
            actor=audit_actor(request),
        )
        return Response(
            NudgeSerializer(nudge, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )


class PromptViewSet(viewsets.GenericViewSet):
    """Prompt versions: never edited; a change is a new version, activation is one call."""

    access = Access(read=STAFF, write=ADMIN)
    serializer_class = PromptOutputSerializer

    def get_queryset(self) -> QuerySet[PromptTemplate]:
        return prompt_list(
            key=self.request.query_params.get("key"),
            locale=self.request.query_params.get("locale"),
        ).select_related("created_by")

    @extend_schema(
        summary="List prompt versions",
        parameters=[
            OpenApiParameter("key", OpenApiTypes.STR, description="Only this prompt key."),
            OpenApiParameter("locale", OpenApiTypes.STR, description="Only this locale."),
        ],
        responses={200: PromptOutputSerializer(many=True), **ERRORS},
    )
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(summary="A prompt version", responses={200: PromptOutputSerializer, **ERRORS})
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(self.get_serializer(prompt_get(pk)).data)

    @extend_schema(
        summary="Write a new version of a prompt (the next number for its key and locale)",
        request=PromptCreateSerializer,
        responses={
            201: PromptOutputSerializer,
            409: OpenApiResponse(description="Another version was written at the same time."),
            **ERRORS,
        },
    )
    def create(self, request: Request) -> Response:
        serializer = PromptCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        prompt = prompt_version_create(**serializer.validated_data, actor=audit_actor(request))
        return Response(self.get_serializer(prompt).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Activate this version (rollback = activate an older one)",
        request=None,
        responses={200: PromptOutputSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"])
    def activate(self, request: Request, pk: str) -> Response:
        prompt = prompt_activate(prompt=prompt_get(pk), actor=audit_actor(request))
        return Response(self.get_serializer(prompt).data)


class EventStreamRenderer(renderers.BaseRenderer):
    """``text/event-stream``: a refusal (4xx) rendered as one ``error`` event."""

    media_type = "text/event-stream"
    format = "sse"
    charset = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        return _sse("error", data).encode()


def _sse(kind: str, data: Any) -> str:
    return f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _stream(events: Iterator[PreviewEvent]) -> Iterator[str]:
    for event in events:
        yield _sse(event.kind, event.data)


class NudgePreviewStreamView(APIView):
    """The nudge a learner would get, streamed as the LLM writes it; nothing is stored."""

    access = Access(read=ADMIN_COACH)
    throttle_scope = "nudge_generation"
    listed_in_index = False  # it needs ?learner=: nothing to follow without one
    renderer_classes = [JSONRenderer, EventStreamRenderer]

    @extend_schema(
        summary="Preview a nudge as server-sent events",
        description='Events: `delta` (`{"text"}`: more of the LLM\'s answer), `error` '
        '(`{"reason"}`) and a final `done` with the message to show: `source` (`llm` or '
        "`template`), `fallback_reason` (`no_key` when no LLM key is configured: the template "
        "is shown), `subject`, `body`, `guardrail_failures`, `prompt_version`.",
        parameters=[NudgePreviewQuerySerializer],
        responses={
            (200, "text/event-stream"): OpenApiResponse(
                response=OpenApiTypes.STR, description="The event stream."
            ),
            **ERRORS,
        },
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        query = NudgePreviewQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        events = nudge_preview(
            learner_id=query.validated_data["learner"],
            prompt_key=query.validated_data.get("prompt_key"),
            actor=audit_actor(request),
        )
        response = StreamingHttpResponse(_stream(events), content_type="text/event-stream")
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"
        return response
