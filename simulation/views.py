"""``/dashboard/simulations/``: the caller's runs and the "New simulation" form, one run (its
progress while it works, then its results as tables and charts) with its cancel button, and two
runs side by side.

Thin: the form posts to :func:`simulation.services.simulation_request` (the API's service),
cancelling calls :func:`~simulation.services.simulation_cancel`, reads go through
:mod:`simulation.selectors` (coaches see the runs they asked for; analysts get no rows about
single learners).
"""

import uuid
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from engagement.dashboard import page_user, paginate, staff_page
from engagement.errors import Conflict, ValidationFailed
from engagement.models import JOB_ACTIVE_STATUSES, JobStatus, Role
from engagement.roles import ADMIN_COACH, role_of
from learners import contracts
from simulation import selectors, services
from simulation.forms import SimulationForm
from simulation.kinds import KINDS
from simulation.kinds.base import SimulationKind
from simulation.models import Simulation
from simulation.pages.featured import featured_sections
from simulation.pages.results import (
    Cell,
    Reader,
    headline_title,
    result_sections,
    show_figure,
    show_value,
    title,
)

RUNS_PER_PAGE = 25
#: The compare picker offers at most this many of the caller's runs of one kind, newest first.
PICKER_RUNS = 50


class KindForm(forms.Form):
    """Which kind the "New simulation" form is for (a GET form: choosing reloads the form)."""

    kind = forms.ChoiceField(label=gettext_lazy("Kind"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [  # type: ignore[attr-defined]
            (name, kind.label) for name, kind in KINDS.items()
        ]


def _chosen_kind(value: str) -> SimulationKind | None:
    """The kind asked for, else the first one (``None`` when no kind is installed)."""
    return KINDS.get(value) or next(iter(KINDS.values()), None)


def _list(request: HttpRequest, form: SimulationForm | None, *, status: int = 200) -> HttpResponse:
    page = paginate(request, selectors.simulation_list(actor=request.user), RUNS_PER_PAGE)
    context = {
        "page": page,
        "form": form,
        "kind_form": KindForm(initial={"kind": form.kind.name if form else ""}),
    }
    return render(request, "simulation/simulations.html", context, status=status)


@staff_page(methods=("GET", "POST"))
def simulation_list_page(request: HttpRequest) -> HttpResponse:
    """The caller's runs, newest first, with the form to start one (POST)."""
    if request.method != "POST":
        kind = _chosen_kind(request.GET.get("kind", ""))
        form = SimulationForm(kind=kind, actor=request.user) if kind else None
        return _list(request, form)
    kind = KINDS.get(request.POST.get("kind", ""))
    if kind is None:
        raise ValidationFailed(detail={"kind": [_("Choose a kind of simulation.")]})
    form = SimulationForm(request.POST, kind=kind, actor=request.user)
    if not form.is_valid():
        return _list(request, form, status=400)
    try:
        simulation = services.simulation_request(
            actor=page_user(request),
            kind=kind.name,
            params=form.params(),
            name=form.cleaned_data["name"],
        )
    except ValidationFailed as exc:
        form.add_service_errors(exc.detail)
        return _list(request, form, status=400)
    messages.success(request, _("Simulation requested: follow its progress here."))
    return redirect("dashboard-simulation", simulation_id=simulation.pk)


def _cohort_names(actor: Any) -> dict[str, str]:
    return {
        str(summary.cohort_id): summary.name for summary in contracts.cohort_summaries(actor=actor)
    }


def _param_rows(simulation: Simulation, cohort_names: dict[str, str]) -> list[tuple[str, Cell]]:
    """The stored params as (name, value) rows, cohorts by name."""
    rows = []
    for name, value in simulation.params.items():
        if name in {"cohort", "cohorts"}:
            ids = value if isinstance(value, list) else [value]
            value = ", ".join(cohort_names.get(str(cohort), str(cohort)) for cohort in ids)
        rows.append((title(name), show_value(value)))
    return rows


def _may_cancel(request: HttpRequest, simulation: Simulation) -> bool:
    return simulation.job.status in JOB_ACTIVE_STATUSES and (
        role_of(request.user) == Role.ADMIN or simulation.requested_by_id == request.user.pk
    )


def _same_kind_runs(request: HttpRequest, simulation: Simulation) -> list[Simulation]:
    """The caller's other finished runs of this kind, for "Compare with..."."""
    return list(
        selectors.simulation_list(
            actor=request.user, filters={"kind": simulation.kind, "status": JobStatus.SUCCEEDED}
        ).exclude(pk=simulation.pk)[:PICKER_RUNS]
    )


@staff_page()
def simulation_detail(request: HttpRequest, simulation_id: uuid.UUID) -> HttpResponse:
    """One run: its state (live while queued or running), params, and results."""
    simulation = selectors.simulation_get(actor=request.user, simulation_id=simulation_id)
    results = selectors.simulation_results(actor=request.user, simulation=simulation)
    kind = KINDS.get(simulation.kind)  # a kind no longer installed still shows its params
    cohort_names = _cohort_names(request.user)
    reader = Reader(learner_links=role_of(request.user) in ADMIN_COACH, cohort_names=cohort_names)
    featured, shown = featured_sections(simulation.kind, results or {}, reader=reader)
    rest = {key: value for key, value in (results or {}).items() if key not in shown}
    sections = result_sections(rest, reader=reader) if results is not None else []
    headline = kind.headline(simulation.results) if kind and simulation.results is not None else {}
    context = {
        "simulation": simulation,
        "job": simulation.job,
        "kind_label": kind.label if kind else simulation.get_kind_display(),
        "active": simulation.job.status in JOB_ACTIVE_STATUSES,
        "may_cancel": _may_cancel(request, simulation),
        "params": _param_rows(simulation, cohort_names),
        "headline": [
            (headline_title(name), show_figure(name, value)) for name, value in headline.items()
        ],
        "featured": featured,
        "sections": sections,
        "others": _same_kind_runs(request, simulation),
        "status_labels": dict(JobStatus.choices),
    }
    return render(request, "simulation/simulation.html", context)


@staff_page(methods=("POST",))
def simulation_cancel_page(request: HttpRequest, simulation_id: uuid.UUID) -> HttpResponseRedirect:
    """Cancel a queued or running run (its requester or an admin); a run that finished
    meanwhile is said so, not an error."""
    simulation = selectors.simulation_get(actor=request.user, simulation_id=simulation_id)
    try:
        services.simulation_cancel(simulation=simulation, actor=page_user(request))
    except Conflict:
        messages.error(request, _("This simulation had already finished; nothing was cancelled."))
    else:
        messages.success(request, _("The simulation was cancelled."))
    return redirect("dashboard-simulation", simulation_id=simulation.pk)


@staff_page()
def simulation_compare_page(request: HttpRequest) -> HttpResponse:
    """Two runs of one kind side by side: the params that differ and the headline figures with
    their differences; without both runs, the picker."""
    a, b = request.GET.get("a", ""), request.GET.get("b", "")
    first = selectors.simulation_get(actor=request.user, simulation_id=a) if a else None
    comparison = selectors.simulation_compare(actor=request.user, a=a, b=b) if a and b else None
    runs = selectors.simulation_list(
        actor=request.user, filters={"kind": first.kind} if first else None
    )[:PICKER_RUNS]
    context: dict[str, Any] = {"a": a, "b": b, "first": first, "runs": list(runs)}
    if comparison is not None:
        context["comparison"] = comparison
        context["params"] = [
            (title(name), show_value(values["a"]), show_value(values["b"]))
            for name, values in comparison["params"].items()
        ]
        context["figures"] = [
            (
                title(row["name"]),
                show_value(row["a"]),
                show_value(row["b"]),
                show_value(row["difference"]),
            )
            for row in comparison["headline"]
        ]
    return render(request, "simulation/compare.html", context)
