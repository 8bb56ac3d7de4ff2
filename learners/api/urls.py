"""Routes of the learners app under ``/api/v1/``."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from learners.api.views import CohortViewSet, EventIngestView, LearnerViewSet

router = SimpleRouter()
router.register("cohorts", CohortViewSet, basename="cohort")
router.register("learners", LearnerViewSet, basename="learner")

urlpatterns = [
    path("events/", EventIngestView.as_view(), name="events-ingest"),
    *router.urls,
]
