from django.apps import AppConfig


class LearnersConfig(AppConfig):
    name = "learners"
    verbose_name = "Learners"

    def ready(self) -> None:
        from engagement.user_scopes import user_scope_provider_register
        from learners.assignments import CohortAssignmentProvider

        user_scope_provider_register(CohortAssignmentProvider())
