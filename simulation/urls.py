"""The simulation app's dashboard pages under ``/dashboard/``."""

from django.urls import path

from simulation import views

urlpatterns = [
    path("simulations/", views.simulation_list_page, name="dashboard-simulations"),
    path(
        "simulations/compare/",
        views.simulation_compare_page,
        name="dashboard-simulations-compare",
    ),
    path(
        "simulations/<uuid:simulation_id>/",
        views.simulation_detail,
        name="dashboard-simulation",
    ),
    path(
        "simulations/<uuid:simulation_id>/cancel/",
        views.simulation_cancel_page,
        name="dashboard-simulation-cancel",
    ),
]
