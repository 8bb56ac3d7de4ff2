"""The ``logistic`` kind's fit: L2-regularised logistic regression with each coefficient held to
its feature's declared direction (``learners.risk.directions``), so no factor can tell a coach
that far less activity than peers lowered the risk.

scikit-learn's ``LogisticRegression`` cannot bound coefficients, so its default objective (L2,
``C = 1``, intercept not penalised), ``0.5 * ||w||^2 + C * sum(log-loss)`` on standardised
features, is minimised here by scipy's L-BFGS-B with a bound per coefficient (``>= 0``, ``<= 0``
or none). Where no bound binds, the optimum is scikit-learn's; where the free fit would give a
feature the wrong sign (correlated features trading weights), its coefficient stays at 0 and the
others take its share. Pure: arrays in, a fit out.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit

#: scikit-learn's default inverse regularisation strength, which trained versions always used.
INVERSE_REGULARISATION = 1.0


@dataclass(frozen=True)
class LogisticFit:
    """Coefficients on standardised features, and the train means and stds they standardise by."""

    intercept: float
    coefficients: np.ndarray
    means: np.ndarray
    stds: np.ndarray

    def logits(self, matrix: np.ndarray) -> np.ndarray:
        return ((matrix - self.means) / self.stds) @ self.coefficients + self.intercept

    def probabilities(self, matrix: np.ndarray) -> np.ndarray:
        return expit(self.logits(matrix))


def _bounds(direction: int) -> tuple[float | None, float | None]:
    """+1: the coefficient is at least 0; -1: at most 0; 0: free."""
    return {1: (0.0, None), -1: (None, 0.0), 0: (None, None)}[direction]


def fit_signed_logistic(
    matrix: np.ndarray,
    outcomes: np.ndarray,
    directions: Sequence[int],
    *,
    inverse_regularisation: float = INVERSE_REGULARISATION,
) -> LogisticFit:
    """The penalised maximum-likelihood fit with ``directions[j] * coefficient[j] >= 0``."""
    means = matrix.mean(axis=0)
    stds = matrix.std(axis=0)
    stds[stds == 0] = 1.0  # a constant feature: no division by zero, its coefficient ends at 0
    standardised = (matrix - means) / stds
    targets = outcomes.astype(float)
    rows = len(targets)
    # Divided by C * n: the same minimum, with an objective of order one for the tolerances.
    penalty = 1.0 / (inverse_regularisation * rows)

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        weights, intercept = theta[:-1], theta[-1]
        logits = standardised @ weights + intercept
        loss = float(np.mean(np.logaddexp(0.0, logits) - targets * logits))
        residuals = (expit(logits) - targets) / rows
        gradient = np.append(standardised.T @ residuals + penalty * weights, residuals.sum())
        return loss + 0.5 * penalty * float(weights @ weights), gradient

    result = minimize(
        objective,
        np.zeros(matrix.shape[1] + 1),
        jac=True,
        method="L-BFGS-B",
        bounds=[*map(_bounds, directions), (None, None)],
        options={"maxiter": 10_000, "ftol": 1e-15, "gtol": 1e-10},
    )
    return LogisticFit(float(result.x[-1]), result.x[:-1].copy(), means, stds)
