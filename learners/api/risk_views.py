"""Risk model versions (list, metrics, train, activate) and on-demand rescoring."""

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from engagement.api.permissions import Access, staff_user
from engagement.api.responses import ERRORS, accepted_response
from engagement.api.serializers import JobOutputSerializer
from engagement.principals import audit_actor
from engagement.roles import ADMIN, STAFF
from learners import selectors, services
from learners.api.serializers import (
    RescoreInputSerializer,
    RiskModelActivateSerializer,
    RiskModelOutputSerializer,
    RiskModelTrainSerializer,
)
from learners.models import RiskModel
from learners.risk.selectors import risk_model_get
from learners.risk.services import risk_model_activate


@extend_schema_view(
    list=extend_schema(
        summary="List risk model versions",
        responses={200: RiskModelOutputSerializer(many=True), **ERRORS},
    ),
    retrieve=extend_schema(
        summary="A model version with its evaluation metrics and calibration",
        responses={200: RiskModelOutputSerializer, **ERRORS},
    ),
    train=extend_schema(
        summary="Train a new version on the platform's history (background job)",
        request=RiskModelTrainSerializer,
        responses={202: JobOutputSerializer, **ERRORS},
    ),
    activate=extend_schema(
        summary="Activate this version (rollback = activate an older one)",
        request=RiskModelActivateSerializer,
        responses={
            200: RiskModelOutputSerializer,
            409: OpenApiResponse(
                description="Worse than the active model, or not better than the best naive "
                "baseline, on its test set: `detail` with both figures (`roc_auc` and "
                "`active_roc_auc` or `best_baseline_roc_auc`)."
            ),
            **ERRORS,
        },
    ),
)
class RiskModelViewSet(viewsets.GenericViewSet):
    """Versioned risk models: exactly one is active."""

    access = Access(read=STAFF, write=ADMIN)
    serializer_class = RiskModelOutputSerializer
    lookup_field = "version"
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self) -> QuerySet[RiskModel]:
        return selectors.risk_model_list()

    def get_serializer_context(self) -> dict[str, Any]:
        """A coach's metrics name only the coach's cohorts (see ``learners.risk.metrics_scope``)."""
        cohorts = selectors.cohort_refs_in_scope(actor=self.request.user)
        return {**super().get_serializer_context(), "cohorts_in_scope": cohorts}

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request: Request, version: str) -> Response:
        return Response(self.get_serializer(risk_model_get(version=int(version))).data)

    @action(detail=False, methods=["post"])
    def train(self, request: Request) -> Response:
        serializer = RiskModelTrainSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        job = services.risk_model_train_request(
            **serializer.validated_data,
            requested_by=staff_user(request),
            idempotency_key=request.headers.get("Idempotency-Key", ""),
        )
        return accepted_response(job, request)

    @action(detail=True, methods=["post"])
    def activate(self, request: Request, version: str) -> Response:
        serializer = RiskModelActivateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        model = risk_model_activate(
            model=risk_model_get(version=int(version)),
            actor=audit_actor(request),
            **serializer.validated_data,
        )
        return Response(self.get_serializer(model).data)


class RescoreView(APIView):
    """Rescore learners now (all, one cohort, or only those with new activity) as a background job."""

    access = Access(write=ADMIN)

    @extend_schema(
        summary="Rescore learners (background job)",
        request=RescoreInputSerializer,
        responses={202: JobOutputSerializer, **ERRORS},
    )
    def post(self, request: Request) -> Response:
        serializer = RescoreInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        job = services.learners_rescore_request(
            **serializer.validated_data,
            requested_by=staff_user(request),
            idempotency_key=request.headers.get("Idempotency-Key", ""),
        )
        return accepted_response(job, request)
