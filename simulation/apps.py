from django.apps import AppConfig


class SimulationConfig(AppConfig):
    name = "simulation"
    verbose_name = "Simulation"

    def ready(self) -> None:
        """Add the simulation job kind, the API and its throttle, and the dashboard pages to the
        platform."""
        from django.utils.translation import gettext_lazy as _

        from engagement.dashboard import NavEntry
        from engagement.registry import registry
        from simulation.api import THROTTLE_SCOPE
        from simulation.pages.job_links import simulation_run_links
        from simulation.tasks import SIMULATION_RUN, SIMULATION_RUN_LABEL

        registry.add_job_kind(SIMULATION_RUN, SIMULATION_RUN_LABEL, links=simulation_run_links)
        registry.add_throttle_rate(THROTTLE_SCOPE, variable="THROTTLE_SIMULATION", default="20/min")
        registry.add_api_urls("simulation.api.urls")
        registry.add_schema_enum_names(
            {"SimulationKindEnum": "simulation.models.SimulationKindName"}
        )
        registry.add_site_urls("dashboard/", "simulation.urls")
        registry.add_dashboard_nav(
            NavEntry(
                key="simulations",
                label=_("Simulations"),
                url_name="dashboard-simulations",
                order=55,
            )
        )
