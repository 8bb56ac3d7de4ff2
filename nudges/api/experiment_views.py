"""Experiments: create, list, detail, results per arm, promote the winner."""

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from engagement.api.permissions import Access
from engagement.api.responses import ERRORS
from engagement.principals import audit_actor
from engagement.roles import ADMIN, STAFF
from nudges.api.experiment_serializers import (
    ExperimentInputSerializer,
    ExperimentOutputSerializer,
    ExperimentResultsSerializer,
    PromoteInputSerializer,
)
from nudges.experiment_selectors import experiment_get, experiment_list, experiment_results
from nudges.experiments import experiment_create, experiment_promote
from nudges.models import Experiment


@extend_schema_view(
    list=extend_schema(
        summary="List experiments",
        responses={200: ExperimentOutputSerializer(many=True), **ERRORS},
    ),
    retrieve=extend_schema(
        summary="An experiment with its variants",
        responses={200: ExperimentOutputSerializer, **ERRORS},
    ),
    create=extend_schema(
        summary="Create an experiment: variants by weight and a holdout",
        request=ExperimentInputSerializer,
        responses={201: ExperimentOutputSerializer, **ERRORS},
    ),
    results=extend_schema(
        summary="Re-engagement per arm against the holdout (counts and rates only)",
        responses={200: ExperimentResultsSerializer, **ERRORS},
    ),
    promote=extend_schema(
        summary="Promote the winner: activate its prompt version and stop the experiment",
        request=PromoteInputSerializer,
        responses={
            200: ExperimentOutputSerializer,
            **ERRORS,
            409: OpenApiResponse(description="The experiment is stopped: its winner is chosen."),
        },
    ),
)
class ExperimentViewSet(viewsets.GenericViewSet):
    """Every staff role reads experiments and their results (counts, no one named; a coach's
    results count their cohorts' learners); programme admins create and promote."""

    access = Access(read=STAFF, write=ADMIN)
    serializer_class = ExperimentOutputSerializer

    def get_queryset(self) -> QuerySet[Experiment]:
        return experiment_list(actor=self.request.user)

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(
            self.get_serializer(experiment_get(actor=request.user, experiment_id=pk)).data
        )

    def create(self, request: Request) -> Response:
        serializer = ExperimentInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        experiment = experiment_create(actor=audit_actor(request), **serializer.validated_data)
        body = self.get_serializer(
            experiment_get(actor=request.user, experiment_id=experiment.pk)
        ).data
        return Response(body, status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["get"])
    def results(self, request: Request, pk: str) -> Response:
        found = experiment_results(
            experiment=experiment_get(actor=request.user, experiment_id=pk), actor=request.user
        )
        return Response(ExperimentResultsSerializer(found).data)

    @action(detail=True, methods=["post"])
    def promote(self, request: Request, pk: str) -> Response:
        serializer = PromoteInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        experiment = experiment_promote(
            experiment=experiment_get(actor=request.user, experiment_id=pk),
            variant_name=serializer.validated_data["variant"],
            actor=audit_actor(request),
        )
        return Response(
            self.get_serializer(
                experiment_get(actor=request.user, experiment_id=experiment.pk)
            ).data
        )
