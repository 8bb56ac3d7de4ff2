"""Routes of nudges themselves (owned by the lifecycle area)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from nudges.api.nudge_views import InboxReadView, InboxView, NudgeViewSet

router = SimpleRouter()
router.register("nudges", NudgeViewSet, basename="nudge")

urlpatterns = [
    path("learners/<str:learner_id>/inbox/", InboxView.as_view(), name="learner-inbox"),
    path(
        "learners/<str:learner_id>/inbox/<str:nudge_id>/read/",
        InboxReadView.as_view(),
        name="learner-inbox-read",
    ),
    *router.urls,
]
