from django.apps import AppConfig


class SimulationConfig(AppConfig):
    name = "simulation"
    verbose_name = "Simulation"

    def ready(self) -> None:
        """Add the simulation job kind to the platform."""
        from engagement.registry import registry
        from simulation.tasks import SIMULATION_RUN, SIMULATION_RUN_LABEL

        registry.add_job_kind(SIMULATION_RUN, SIMULATION_RUN_LABEL)
