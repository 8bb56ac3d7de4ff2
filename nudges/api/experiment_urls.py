"""Routes of experiments (the experiments area)."""

from rest_framework.routers import SimpleRouter

from nudges.api.experiment_views import ExperimentViewSet

router = SimpleRouter()
router.register("experiments", ExperimentViewSet, basename="experiment")

urlpatterns = router.urls
