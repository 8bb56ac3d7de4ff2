"""Routes of the learners app under ``/api/v1/``."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from learners.api.import_views import ImportUploadViewSet
from learners.api.risk_views import RescoreView, RiskModelViewSet
from learners.api.views import CohortViewSet, EventIngestView, LearnerViewSet
from learners.api.xapi_views import XapiAboutView, XapiStatementsView

router = SimpleRouter()
router.register("cohorts", CohortViewSet, basename="cohort")
router.register("learners", LearnerViewSet, basename="learner")
router.register("imports", ImportUploadViewSet, basename="import-upload")
router.register("risk/models", RiskModelViewSet, basename="risk-model")

urlpatterns = [
    path("events/", EventIngestView.as_view(), name="events-ingest"),
    path("risk/rescore/", RescoreView.as_view(), name="risk-rescore"),
    # No trailing slash: xAPI clients append the resource name to the endpoint.
    path("xapi/statements", XapiStatementsView.as_view(), name="xapi-statements"),
    path("xapi/about", XapiAboutView.as_view(), name="xapi-about"),
    *router.urls,
]
