from django.apps import AppConfig


class LearnersConfig(AppConfig):
    name = "learners"
    verbose_name = "Learners"

    def ready(self) -> None:
        """Add the app's key scopes, throttle, routes, schedules, schema names, metrics,
        dashboard pages and bulk actions to the platform."""
        from engagement.dashboard import NavEntry
        from engagement.registry import registry
        from engagement.roles import ADMIN
        from learners.assignments import CohortAssignmentProvider
        from learners.bulk_actions import bulk_action_register
        from learners.conf import tunables
        from learners.monitoring import RiskCollector
        from learners.pages.caseload import BULK_ACTIONS
        from learners.pages.risk_models import READERS
        from learners.schedules import BEAT_SCHEDULE
        from learners.scopes import ApiKeyScope

        registry.add_settings(tunables())
        registry.add_api_key_scopes(ApiKeyScope.choices)
        registry.add_throttle_rate("ingest", variable="THROTTLE_INGEST", default="600/min")
        registry.add_api_urls("learners.api.urls")
        registry.add_site_urls("dashboard/", "learners.urls")
        registry.add_beat_schedule(BEAT_SCHEDULE)
        registry.add_site_urls("dashboard/", "learners.import_urls")
        registry.add_dashboard_nav(
            NavEntry(
                key="imports", label="Imports", url_name="dashboard-imports", roles=ADMIN, order=60
            )
        )
        registry.add_schema_enum_names(
            {
                "LearnerStatusEnum": "learners.models.LearnerStatus",
                "EventKindEnum": "learners.models.EventKind",
                "RiskBandEnum": "learners.models.RiskBand",
                "RiskFeedbackKindEnum": "learners.models.RiskFeedbackKind",
                "ImportKindEnum": "learners.models.ImportKind",
            }
        )
        registry.set_user_scope_provider(CohortAssignmentProvider())
        registry.add_metrics_collector(RiskCollector())
        registry.add_site_urls("dashboard/", "learners.risk_model_urls")
        registry.add_dashboard_nav(
            NavEntry(
                key="risk-models",
                label="Risk models",
                url_name="dashboard-risk-models",
                roles=READERS,
                order=50,
            )
        )
        registry.add_dashboard_nav(
            NavEntry(key="learners", label="Learners", url_name="dashboard-learners", order=20)
        )
        for action in BULK_ACTIONS:
            bulk_action_register(action)
