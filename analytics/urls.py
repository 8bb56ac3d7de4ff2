"""The analytics pages under ``/dashboard/``."""

from django.urls import path

from analytics import views

urlpatterns = [
    path("", views.overview, name="dashboard"),
    path("cohorts/", views.cohorts, name="dashboard-cohorts"),
]
