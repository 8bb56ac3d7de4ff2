"""The risk model pages under ``/dashboard/`` (a module of their own: other pages of the app
register theirs separately)."""

from django.urls import path

from learners.pages import risk_models

urlpatterns = [
    path("risk-models/", risk_models.risk_models, name="dashboard-risk-models"),
    path(
        "risk-models/train/", risk_models.risk_model_train_page, name="dashboard-risk-model-train"
    ),
    path("risk-models/rescore/", risk_models.learners_rescore_page, name="dashboard-risk-rescore"),
    path("risk-models/<int:version>/", risk_models.risk_model, name="dashboard-risk-model"),
    path(
        "risk-models/<int:version>/activate/",
        risk_models.risk_model_activate_page,
        name="dashboard-risk-model-activate",
    ),
]
