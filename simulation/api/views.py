"""``/api/v1/simulations/``: request a run (a background job), list and read runs as the caller
may, cancel one, and compare two. Staff only: API keys are refused."""

from typing import Any

from django.db.models import QuerySet
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.views import APIView

from engagement.api.permissions import Access, staff_user
from engagement.api.responses import ERRORS
from engagement.roles import STAFF
from simulation.api import THROTTLE_SCOPE
from simulation.api.serializers import (
    SimulationCompareQuerySerializer,
    SimulationCompareSerializer,
    SimulationDetailSerializer,
    SimulationInputSerializer,
    SimulationListQuerySerializer,
    SimulationSerializer,
)
from simulation.models import Simulation
from simulation.selectors import (
    simulation_compare,
    simulation_get,
    simulation_list,
    simulation_results,
)
from simulation.services import simulation_cancel, simulation_request

FINISHED = {409: OpenApiResponse(description="The run has already finished.")}


def _query(serializer_class: type[Serializer[Any]], request: Request) -> dict[str, Any]:
    """The query parameters, validated: a 400 names each one refused."""
    query = serializer_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    return dict(query.validated_data)


@extend_schema_view(
    list=extend_schema(
        summary="List simulations (coaches: their own runs)",
        parameters=[SimulationListQuerySerializer],
        responses={200: SimulationSerializer(many=True), **ERRORS},
    ),
    retrieve=extend_schema(
        summary="A simulation with its results as you may read them",
        responses={200: SimulationDetailSerializer, **ERRORS},
    ),
    create=extend_schema(
        summary="Run a simulation (background job)",
        description="The params are checked now, for you (a cohort outside your scope is "
        "`No such cohort.`), and stored with the seed (drawn when absent) and the model version "
        "(the active one when absent), so that the run can be repeated exactly. The answer is "
        "`202` with the simulation; its job's URL is in `Location`. A repeated `Idempotency-Key` "
        "header returns the run it made. At most THROTTLE_SIMULATION requests per user.",
        request=SimulationInputSerializer,
        responses={
            202: SimulationDetailSerializer,
            409: OpenApiResponse(description="The Idempotency-Key was used with other params."),
            **ERRORS,
        },
    ),
    cancel=extend_schema(
        summary="Cancel a queued or running simulation (its requester or an admin)",
        request=None,
        responses={200: SimulationDetailSerializer, **FINISHED, **ERRORS},
    ),
)
class SimulationViewSet(viewsets.GenericViewSet):
    """Backtests, what-ifs, projections, intervention plans and threshold tuning: never a
    write to live data. Admins and analysts see every run (analysts: aggregates only); coaches
    run on their cohorts and see their own runs."""

    access = Access(read=STAFF, write=STAFF)
    serializer_class = SimulationSerializer
    filter_backends: list[Any] = []
    # Ids only, so that ``simulations/compare/`` (SimulationCompareView) is not taken for a run.
    lookup_value_regex = "[0-9a-fA-F-]+"

    @property
    def throttle_scope(self) -> str | None:
        """Requests are throttled on their own scope; reads only by the caller's overall rate."""
        return THROTTLE_SCOPE if getattr(self, "action", None) == "create" else None

    def get_queryset(self) -> QuerySet[Simulation]:
        return simulation_list(actor=self.request.user)

    def _detail(self, request: Request, simulation: Simulation) -> Any:
        results = simulation_results(actor=request.user, simulation=simulation)
        context = {"request": request, "results": results}
        return SimulationDetailSerializer(simulation, context=context).data

    def list(self, request: Request) -> Response:
        filters = _query(SimulationListQuerySerializer, request)
        page = self.paginate_queryset(simulation_list(actor=request.user, filters=filters))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        simulation = simulation_get(actor=request.user, simulation_id=pk)
        return Response(self._detail(request, simulation))

    def create(self, request: Request) -> Response:
        serializer = SimulationInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        created = simulation_request(
            actor=staff_user(request),
            **serializer.validated_data,
            idempotency_key=request.headers.get("Idempotency-Key", ""),
        )
        # Read again, as the caller may see it: where tasks run eagerly it has finished, and a
        # repeated key names a run that must be the caller's to read.
        simulation = simulation_get(actor=request.user, simulation_id=created.pk)
        job_url = request.build_absolute_uri(
            reverse("job-detail", kwargs={"pk": simulation.job_id})
        )
        return Response(
            self._detail(request, simulation),
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": job_url},
        )

    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        simulation = simulation_cancel(
            simulation=simulation_get(actor=request.user, simulation_id=pk),
            actor=staff_user(request),
        )
        return Response(self._detail(request, simulation))


class SimulationCompareView(APIView):
    """Two runs side by side; who may see which runs is the list's rule."""

    access = Access(read=STAFF)
    listed_in_index = False  # it needs ?a=&b=: nothing to follow without them

    @extend_schema(
        summary="Two runs of one kind side by side: differing params and headline figures",
        parameters=[SimulationCompareQuerySerializer],
        responses={200: SimulationCompareSerializer, **ERRORS},
    )
    def get(self, request: Request) -> Response:
        query = _query(SimulationCompareQuerySerializer, request)
        compared = simulation_compare(actor=request.user, a=query["a"], b=query["b"])
        body = SimulationCompareSerializer(compared, context={"request": request}).data
        return Response(body)
