"""The simulation kinds, by name (see ``simulation.kinds.base``)."""

from simulation.kinds import backtest, intervention, projection, thresholds, what_if
from simulation.kinds.base import SimulationKind

_ALL: tuple[SimulationKind, ...] = (
    backtest.KIND,
    what_if.KIND,
    projection.KIND,
    intervention.KIND,
    thresholds.KIND,
)

KINDS: dict[str, SimulationKind] = {kind.name: kind for kind in _ALL}
