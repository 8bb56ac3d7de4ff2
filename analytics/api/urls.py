"""Routes of the analytics app under ``/api/v1/analytics/``."""

from django.urls import path

from analytics.api import views

urlpatterns = [
    path("analytics/overview/", views.OverviewView.as_view(), name="analytics-overview"),
    path("analytics/cohorts/", views.CohortDistributionView.as_view(), name="analytics-cohorts"),
    path(
        "analytics/engagement-trend/",
        views.EngagementTrendView.as_view(),
        name="analytics-engagement-trend",
    ),
    path("analytics/risk-trend/", views.RiskTrendView.as_view(), name="analytics-risk-trend"),
    path("analytics/caseloads/", views.CaseloadView.as_view(), name="analytics-caseloads"),
    path("analytics/attention/", views.AttentionView.as_view(), name="analytics-attention"),
    path("analytics/changes/", views.ChangesView.as_view(), name="analytics-changes"),
]
