"""Routes of generation (owned by the generation area): included before the nudge routes, so
``nudges/stream/`` is not read as a nudge id."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from nudges.api.generation_views import LearnerNudgeView, NudgePreviewStreamView, PromptViewSet

router = SimpleRouter()
router.register("prompts", PromptViewSet, basename="prompt")

urlpatterns = [
    path("learners/<uuid:learner_id>/nudges/", LearnerNudgeView.as_view(), name="learner-nudges"),
    path("nudges/stream/", NudgePreviewStreamView.as_view(), name="nudge-stream"),
    *router.urls,
]
