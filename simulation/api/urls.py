"""Routes of simulations (``/api/v1/simulations/``)."""

from rest_framework.routers import SimpleRouter

from simulation.api.views import SimulationViewSet

router = SimpleRouter()
router.register("simulations", SimulationViewSet, basename="simulation")

urlpatterns = router.urls
