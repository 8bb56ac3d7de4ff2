"""Routes of the nudges app under ``/api/v1/``: each area keeps its own route module."""

from django.urls import include, path

urlpatterns: list = [
    path("", include("nudges.api.generation_urls")),
    path("", include("nudges.api.nudge_urls")),
    path("", include("nudges.api.llm_urls")),
    path("", include("nudges.api.campaign_urls")),
    path("", include("nudges.api.experiment_urls")),
]
