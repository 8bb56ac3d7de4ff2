"""The simulation kinds, by name (see ``simulation.kinds.base``)."""

from simulation.kinds import backtest, intervention, thresholds
from simulation.kinds.base import SimulationKind

_ALL: tuple[SimulationKind, ...] = (backtest.KIND, intervention.KIND, thresholds.KIND)

KINDS: dict[str, SimulationKind] = {kind.name: kind for kind in _ALL}
