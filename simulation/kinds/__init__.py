"""The simulation kinds, by name (see ``simulation.kinds.base``)."""

from simulation.kinds import projection, what_if
from simulation.kinds.base import SimulationKind

_ALL: tuple[SimulationKind, ...] = (what_if.KIND, projection.KIND)

KINDS: dict[str, SimulationKind] = {kind.name: kind for kind in _ALL}
