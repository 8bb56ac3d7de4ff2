"""Campaigns: create, list, detail, preview (a dry run) and run (a background job)."""

from collections.abc import Sequence
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from engagement.api.permissions import Access, staff_user
from engagement.api.responses import ERRORS, accepted_response
from engagement.api.serializers import JobOutputSerializer
from engagement.principals import audit_actor
from engagement.roles import ADMIN_COACH, STAFF
from nudges import campaigns
from nudges.api.campaign_serializers import (
    CampaignInputSerializer,
    CampaignOutputSerializer,
    CampaignPreviewInputSerializer,
    CampaignPreviewSerializer,
)
from nudges.campaign_selectors import campaign_get, campaign_list, campaign_nudge_counts
from nudges.models import Campaign

INACTIVE = {409: OpenApiResponse(description="The campaign is inactive.")}


@extend_schema_view(
    list=extend_schema(
        summary="List campaigns", responses={200: CampaignOutputSerializer(many=True), **ERRORS}
    ),
    retrieve=extend_schema(
        summary="A campaign with its nudges counted by status",
        responses={200: CampaignOutputSerializer, **ERRORS},
    ),
    create=extend_schema(
        summary="Create a campaign (coaches: within their cohorts)",
        request=CampaignInputSerializer,
        responses={201: CampaignOutputSerializer, **ERRORS},
    ),
    preview=extend_schema(
        summary="Dry run: how many learners a run would select now, and sample messages",
        request=CampaignPreviewInputSerializer,
        responses={200: CampaignPreviewSerializer, **ERRORS},
    ),
    run=extend_schema(
        summary="Run the campaign (background job); a run already under way is returned",
        request=None,
        responses={202: JobOutputSerializer, **INACTIVE, **ERRORS},
    ),
    deactivate=extend_schema(
        summary="Stop the campaign: it no longer runs, on its schedule or on request",
        request=None,
        responses={200: CampaignOutputSerializer, **ERRORS},
    ),
    activate=extend_schema(
        summary="Start a stopped campaign again",
        request=None,
        responses={200: CampaignOutputSerializer, **ERRORS},
    ),
)
class CampaignViewSet(viewsets.GenericViewSet):
    """Who to nudge, how, and whether staff review the drafts; analysts read the counts."""

    access = Access(read=STAFF, write=ADMIN_COACH)
    serializer_class = CampaignOutputSerializer

    def get_queryset(self) -> QuerySet[Campaign]:
        return campaign_list(actor=self.request.user)

    def _output(self, campaigns_shown: Sequence[Campaign]) -> Any:
        counts = campaign_nudge_counts([campaign.pk for campaign in campaigns_shown])
        return CampaignOutputSerializer(
            campaigns_shown, many=True, context={"nudge_counts": counts}
        ).data

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self._output(page or []))

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(self._output([campaign_get(actor=request.user, campaign_id=pk)])[0])

    def create(self, request: Request) -> Response:
        serializer = CampaignInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        campaign = campaigns.campaign_create(actor=audit_actor(request), **serializer.to_service())
        return Response(self._output([campaign])[0], status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["post"])
    def preview(self, request: Request, pk: str) -> Response:
        serializer = CampaignPreviewInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        preview = campaigns.campaign_preview(
            campaign=campaign_get(actor=request.user, campaign_id=pk),
            actor=staff_user(request),
            sample=serializer.validated_data["sample"],
        )
        body = CampaignPreviewSerializer(preview, context={"request": request}).data
        return Response(body)

    @action(detail=True, methods=["post"])
    def run(self, request: Request, pk: str) -> Response:
        job = campaigns.campaign_run_request(
            campaign=campaign_get(actor=request.user, campaign_id=pk),
            requested_by=staff_user(request),
            idempotency_key=request.headers.get("Idempotency-Key", ""),
        )
        return accepted_response(job, request)

    @action(detail=True, methods=["post"])
    def deactivate(self, request: Request, pk: str) -> Response:
        return self._set_active(request, pk, active=False)

    @action(detail=True, methods=["post"])
    def activate(self, request: Request, pk: str) -> Response:
        return self._set_active(request, pk, active=True)

    def _set_active(self, request: Request, pk: str, *, active: bool) -> Response:
        campaign = campaigns.campaign_set_active(
            campaign=campaign_get(actor=request.user, campaign_id=pk),
            active=active,
            actor=audit_actor(request),
        )
        return Response(self._output([campaign])[0])
