from django.apps import AppConfig


class SimulationConfig(AppConfig):
    name = "simulation"
    verbose_name = "Simulation"

    def ready(self) -> None:
        """Add the simulation job kind, the API and its throttle to the platform."""
        from engagement.registry import registry
        from simulation.api import THROTTLE_SCOPE
        from simulation.tasks import SIMULATION_RUN, SIMULATION_RUN_LABEL

        registry.add_job_kind(SIMULATION_RUN, SIMULATION_RUN_LABEL)
        registry.add_throttle_rate(THROTTLE_SCOPE, variable="THROTTLE_SIMULATION", default="20/min")
        registry.add_api_urls("simulation.api.urls")
        registry.add_schema_enum_names(
            {"SimulationKindEnum": "simulation.models.SimulationKindName"}
        )
