"""The learners app's pages under ``/dashboard/``."""

from django.urls import path

from learners.pages import caseload

urlpatterns = [
    path("learners/", caseload.caseload, name="dashboard-learners"),
    path("learners/export.csv", caseload.caseload_export, name="dashboard-learners-export"),
]
