"""Routes of the LLM client's endpoints under ``/api/v1/``."""

from django.urls import path

from nudges.api.llm_views import UsageView

urlpatterns = [
    path("llm/usage/", UsageView.as_view(), name="llm-usage"),
]
