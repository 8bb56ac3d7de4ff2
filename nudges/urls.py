"""The nudges app's dashboard pages under ``/dashboard/``."""

from django.urls import path

from nudges.pages import campaigns, experiments, nudges, panel, prompts

urlpatterns = [
    path("nudges/", nudges.nudge_list, name="dashboard-nudges"),
    path("nudges/send/", nudges.nudges_send_page, name="dashboard-nudges-send"),
    path("nudges/<uuid:nudge_id>/", nudges.nudge_detail, name="dashboard-nudge"),
    path(
        "nudges/<uuid:nudge_id>/<slug:action>/",
        nudges.nudge_action,
        name="dashboard-nudge-action",
    ),
    path(
        "learners/<uuid:learner_id>/nudges/",
        panel.nudge_draft,
        name="dashboard-learner-nudge-draft",
    ),
    path("campaigns/", campaigns.campaign_list, name="dashboard-campaigns"),
    path("campaigns/<uuid:campaign_id>/", campaigns.campaign_detail, name="dashboard-campaign"),
    path(
        "campaigns/<uuid:campaign_id>/preview/",
        campaigns.campaign_preview_page,
        name="dashboard-campaign-preview",
    ),
    path(
        "campaigns/<uuid:campaign_id>/run/",
        campaigns.campaign_run_page,
        name="dashboard-campaign-run",
    ),
    path(
        "campaigns/<uuid:campaign_id>/active/",
        campaigns.campaign_active_page,
        name="dashboard-campaign-active",
    ),
    path("experiments/", experiments.experiment_list, name="dashboard-experiments"),
    path(
        "experiments/<uuid:experiment_id>/",
        experiments.experiment_detail,
        name="dashboard-experiment",
    ),
    path(
        "experiments/<uuid:experiment_id>/promote/",
        experiments.experiment_promote_page,
        name="dashboard-experiment-promote",
    ),
    path("prompts/", prompts.prompt_list, name="dashboard-prompts"),
    path(
        "prompts/<uuid:prompt_id>/activate/",
        prompts.prompt_activate_page,
        name="dashboard-prompt-activate",
    ),
]
