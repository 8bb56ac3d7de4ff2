"""The project's routes plus a stand-in for the job page (``dashboard-job``) the dashboard frame
adds, so the risk model page tests can follow a redirect to it before it lands."""

from django.http import HttpResponse
from django.urls import path

from engagement.urls import urlpatterns as project

urlpatterns = [
    *project,
    path(
        "dashboard/jobs/<uuid:job_id>/",
        lambda request, job_id: HttpResponse(),
        name="dashboard-job",
    ),
]
