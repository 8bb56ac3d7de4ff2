"""Routes of simulations (``/api/v1/simulations/``)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from simulation.api.views import SimulationCompareView, SimulationViewSet

router = SimpleRouter()
router.register("simulations", SimulationViewSet, basename="simulation")

urlpatterns = [
    path("simulations/compare/", SimulationCompareView.as_view(), name="simulation-compare"),
    *router.urls,
]
