"""Routes of the LLM client's endpoints under ``/api/v1/``."""

from django.urls import path

from nudges.llm.api import UsageView

urlpatterns = [
    path("llm/usage/", UsageView.as_view(), name="llm-usage"),
]
