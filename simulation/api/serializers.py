"""Serializers of the simulations API (``/api/v1/simulations/``): the request, the list's and
compare's query parameters, and a run as the caller may read it."""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from engagement.api.fields import TextField
from engagement.input_bounds import check_json
from engagement.models import JobStatus
from simulation.models import Simulation, SimulationKindName

#: The schema of a free-form JSON object (params, results): a kind decides its keys.
FREE_OBJECT: dict[str, Any] = {"type": "object", "additionalProperties": {}}


class SimulationInputSerializer(serializers.Serializer[Any]):
    """What to simulate; the kind's own params are checked by the service."""

    kind = serializers.ChoiceField(choices=SimulationKindName.choices)
    params = serializers.DictField(
        required=False,
        default=dict,
        help_text="The kind's params (see docs/simulation.md); every kind takes `seed` and "
        "`model_version`.",
    )
    name = TextField(max_length=200, required=False, allow_blank=True, default="")

    def validate_params(self, value: dict[str, Any]) -> dict[str, Any]:
        """Params are stored as given: only text and finite numbers a JSON column holds."""
        try:
            return dict(check_json(value, name="params"))
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from exc


class SimulationListQuerySerializer(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(
        choices=SimulationKindName.choices, required=False, help_text="Only runs of this kind."
    )
    status = serializers.ChoiceField(
        choices=JobStatus.choices, required=False, help_text="Only runs whose job has this status."
    )


class SimulationCompareQuerySerializer(serializers.Serializer[Any]):
    a = serializers.UUIDField(help_text="The first run's id.")
    b = serializers.UUIDField(help_text="The second run's id (of the same kind).")


class SimulationSerializer(serializers.ModelSerializer[Simulation]):
    """A run and its job's state, without its results (the list, compare)."""

    params = serializers.SerializerMethodField()
    status = serializers.ChoiceField(source="job.status", choices=JobStatus.choices, read_only=True)
    progress = serializers.FloatField(source="job.progress", read_only=True)
    error = serializers.CharField(source="job.error", read_only=True, allow_blank=True)
    started_at = serializers.DateTimeField(source="job.started_at", read_only=True, allow_null=True)
    finished_at = serializers.DateTimeField(
        source="job.finished_at", read_only=True, allow_null=True
    )
    job_url: serializers.HyperlinkedRelatedField[Any] = serializers.HyperlinkedRelatedField(
        source="job", view_name="job-detail", read_only=True, help_text="The run's job."
    )
    url = serializers.HyperlinkedIdentityField(view_name="simulation-detail")

    class Meta:
        model = Simulation
        fields = [
            "id",
            "kind",
            "name",
            "params",
            "seed",
            "model_version",
            "status",
            "progress",
            "error",
            "job",
            "job_url",
            "requested_by",
            "created_at",
            "started_at",
            "finished_at",
            "url",
        ]
        read_only_fields = fields

    @extend_schema_field(FREE_OBJECT)
    def get_params(self, obj: Simulation) -> dict[str, Any]:
        """The validated params, with the seed and model version the run used."""
        return dict(obj.params)


class SimulationDetailSerializer(SimulationSerializer):
    """A run with its results as the caller may read them (given in the context)."""

    results = serializers.SerializerMethodField(
        help_text="The kind's results (null until the run succeeds); rows about single learners "
        "carry a `label` as you may read it, and are left out for analysts."
    )

    class Meta(SimulationSerializer.Meta):
        fields = [*SimulationSerializer.Meta.fields, "results"]
        read_only_fields = fields

    @extend_schema_field({**FREE_OBJECT, "nullable": True})
    def get_results(self, obj: Simulation) -> dict[str, Any] | None:
        results: dict[str, Any] | None = self.context["results"]
        return results


class HeadlineFigureSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    a = serializers.FloatField(allow_null=True)
    b = serializers.FloatField(allow_null=True)
    difference = serializers.FloatField(allow_null=True, help_text="b - a where both are numbers.")


class ParamDifferenceSerializer(serializers.Serializer[Any]):
    a = serializers.JSONField(allow_null=True)
    b = serializers.JSONField(allow_null=True)


class SimulationCompareSerializer(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=SimulationKindName.choices)
    a = SimulationSerializer()
    b = SimulationSerializer()
    params = serializers.DictField(
        child=ParamDifferenceSerializer(), help_text="The params that differ, by name."
    )
    headline = HeadlineFigureSerializer(many=True, help_text="Each headline figure of both runs.")
