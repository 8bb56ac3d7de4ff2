"""``/dashboard/experiments/``: the experiments the caller may see with their headline result,
and one experiment's results per arm against the holdout: learners assigned and exposed, those
who came back within the attribution window, the rate, and the difference in percentage points
with its 95 % interval (Newcombe's hybrid score) and p-value (two-proportion z-test). An admin
promotes a winning prompt version from there.

Counts and rates only, no learner named: every role reads them (a coach's counts cover their
cohorts). The figures come from :mod:`nudges.experiment_selectors`, as on the API; promoting is
:func:`nudges.experiments.experiment_promote`, as on the API.
"""

import uuid

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from engagement.dashboard import page_user, paginate, staff_page
from engagement.errors import Conflict
from engagement.roles import ADMIN, role_of
from nudges import experiment_selectors, experiments

EXPERIMENTS_PER_PAGE = 25


@staff_page()
def experiment_list(request: HttpRequest) -> HttpResponse:
    """The experiments the caller may see, newest first, each with its headline result."""
    page = paginate(
        request, experiment_selectors.experiment_list(actor=request.user), EXPERIMENTS_PER_PAGE
    )
    summaries = experiment_selectors.experiment_summaries(
        experiments=list(page.object_list), actor=request.user
    )
    return render(request, "nudges/experiments.html", {"page": page, "summaries": summaries})


@staff_page()
def experiment_detail(request: HttpRequest, experiment_id: uuid.UUID) -> HttpResponse:
    """The results table of one experiment, the campaigns running it, and for an admin the
    promote buttons."""
    experiment = experiment_selectors.experiment_get(
        actor=request.user, experiment_id=experiment_id
    )
    context = {
        "experiment": experiment,
        "results": experiment_selectors.experiment_results(
            experiment=experiment, actor=request.user
        ),
        "campaigns": experiment_selectors.experiment_campaigns(
            experiment=experiment, actor=request.user
        ),
        "template_only": experiment_selectors.template_only_reason(experiment=experiment),
        "may_promote": role_of(request.user) in ADMIN,
    }
    return render(request, "nudges/experiment.html", context)


@staff_page(ADMIN, methods=("POST",))
def experiment_promote_page(request: HttpRequest, experiment_id: uuid.UUID) -> HttpResponseRedirect:
    """Promote the posted arm (its prompt version becomes the active one; the experiment
    stops), then back to the experiment; an experiment already stopped says so."""
    experiment = experiment_selectors.experiment_get(
        actor=request.user, experiment_id=experiment_id
    )
    variant = request.POST.get("variant", "")
    try:
        experiments.experiment_promote(
            experiment=experiment, variant_name=variant, actor=page_user(request)
        )
    except Conflict:
        messages.error(request, _("The experiment is stopped: its winner is already chosen."))
    else:
        messages.success(
            request, _("%(variant)s is promoted and the experiment stopped.") % {"variant": variant}
        )
    return redirect("dashboard-experiment", experiment_id=experiment.pk)
