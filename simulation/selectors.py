"""Reads of simulations: who sees which runs, their results as the viewer may read them, and two
runs side by side.

Admins and analysts see every run; coaches see the runs they asked for. Results hold learner ids
only: analysts get no rows about single learners at all (aggregates only), others get the rows
of learners they may still see, each labelled as they may read it (name, or pseudonym).
"""

from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet

from engagement.errors import ValidationFailed
from engagement.ids import row_by_id
from engagement.models import Role
from engagement.roles import role_of, sees_personal_data
from learners import contracts
from simulation.kinds import KINDS
from simulation.models import Simulation

ALL_RUNS_ROLES = frozenset({Role.ADMIN.value, Role.ANALYST.value})
MISSING = "No simulation with this id."


def simulation_list(
    *, actor: Any, filters: Mapping[str, Any] | None = None
) -> QuerySet[Simulation]:
    """The runs the caller may see, newest first, optionally of one ``kind`` and ``status``."""
    role = role_of(actor)
    queryset = Simulation.objects.select_related("job", "requested_by").order_by(
        "-created_at", "-id"
    )
    if role == Role.COACH:
        queryset = queryset.filter(requested_by=actor)
    elif role not in ALL_RUNS_ROLES:
        queryset = queryset.none()
    filters = filters or {}
    if filters.get("kind"):
        queryset = queryset.filter(kind=filters["kind"])
    if filters.get("status"):
        queryset = queryset.filter(job__status=filters["status"])
    return queryset


def simulation_get(*, actor: Any, simulation_id: Any) -> Simulation:
    return row_by_id(simulation_list(actor=actor), simulation_id, missing=MISSING)


def _rows(value: Any) -> list[list[dict[str, Any]]]:
    """The lists of learner rows under one learner key: a list of rows, or a mapping of such
    lists (one per rule, say)."""
    if isinstance(value, list):
        return [value]
    if isinstance(value, Mapping):
        return [rows for rows in value.values() if isinstance(rows, list)]
    return []


def simulation_results(*, actor: Any, simulation: Simulation) -> dict[str, Any] | None:
    """The run's results as this caller may read them (two queries at most, whatever the
    number of rows): analysts lose every learner key; others keep the rows of learners in their
    scope now, each with its ``label``."""
    results = simulation.results
    if results is None:
        return None
    keys = [key for key in KINDS[simulation.kind].learner_keys if key in results]
    if not keys:
        return dict(results)
    if not sees_personal_data(actor):
        return {key: value for key, value in results.items() if key not in keys}
    ids = {
        row["learner_id"]
        for key in keys
        for rows in _rows(results[key])
        for row in rows
        if isinstance(row, Mapping) and "learner_id" in row
    }
    in_scope = contracts.learner_cohorts_in_scope(actor=actor, learner_ids=ids)
    labels = contracts.learner_labels(actor=actor, learner_ids=in_scope)
    shown = {str(learner_id): label for learner_id, label in labels.items()}

    def labelled(rows: list[Any]) -> list[dict[str, Any]]:
        return [
            {**row, "label": shown[str(row["learner_id"])]}
            for row in rows
            if isinstance(row, Mapping) and str(row.get("learner_id")) in shown
        ]

    answer = dict(results)
    for key in keys:
        value = results[key]
        answer[key] = (
            labelled(value)
            if isinstance(value, list)
            else {
                name: labelled(rows) if isinstance(rows, list) else rows
                for name, rows in value.items()
            }
        )
    return answer


def _headline(simulation: Simulation) -> dict[str, Any]:
    if simulation.results is None:
        return {}
    return dict(KINDS[simulation.kind].headline(simulation.results))


def simulation_compare(*, actor: Any, a: Any, b: Any) -> dict[str, Any]:
    """Two runs of one kind side by side: the params that differ and each headline figure of
    both, with the difference (b - a) where both are numbers."""
    first = simulation_get(actor=actor, simulation_id=a)
    second = simulation_get(actor=actor, simulation_id=b)
    if first.kind != second.kind:
        raise ValidationFailed(detail={"b": ["Compare two runs of the same kind."]})
    names = sorted(set(first.params) | set(second.params))
    params = {
        name: {"a": first.params.get(name), "b": second.params.get(name)}
        for name in names
        if first.params.get(name) != second.params.get(name)
    }
    head_a, head_b = _headline(first), _headline(second)
    figures = []
    for name in dict.fromkeys([*head_a, *head_b]):
        value_a, value_b = head_a.get(name), head_b.get(name)
        numbers = all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in (value_a, value_b)
        )
        figures.append(
            {
                "name": name,
                "a": value_a,
                "b": value_b,
                "difference": value_b - value_a if numbers else None,  # type: ignore[operator]
            }
        )
    return {"kind": first.kind, "a": first, "b": second, "params": params, "headline": figures}
