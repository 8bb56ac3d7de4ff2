"""The simulation kinds, by name (see ``simulation.kinds.base``)."""

from simulation.kinds import intervention
from simulation.kinds.base import SimulationKind

_ALL: tuple[SimulationKind, ...] = (intervention.KIND,)

KINDS: dict[str, SimulationKind] = {kind.name: kind for kind in _ALL}
