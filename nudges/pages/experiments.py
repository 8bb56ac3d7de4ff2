"""``/dashboard/experiments/<id>/``: an experiment's results per arm against the holdout: learners
assigned and exposed, those who came back within the attribution window, the rate, and the
difference with its 95 % interval and p-value (two-proportion z-test).

Counts and rates only, no learner named: every role reads it (a coach's counts cover their
cohorts). The figures come from :mod:`nudges.experiment_selectors`, as on the API, imported
where they are read.
"""

import uuid

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from engagement.dashboard import staff_page
from nudges import experiment_selectors


@staff_page()
def experiment_detail(request: HttpRequest, experiment_id: uuid.UUID) -> HttpResponse:
    """The results table of one experiment."""

    experiment = experiment_selectors.experiment_get(
        actor=request.user, experiment_id=experiment_id
    )
    results = experiment_selectors.experiment_results(experiment=experiment, actor=request.user)
    return render(request, "nudges/experiment.html", {"experiment": experiment, "results": results})
