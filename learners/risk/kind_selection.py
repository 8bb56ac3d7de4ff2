"""Which trainable kind to store: each one is fitted on the earlier training cohorts and judged
on the later ones (whole cohorts, time-ordered, as ``time_split`` cuts train from test), the
best validation ROC AUC wins, and the winner is refitted on every training cohort.

The test cohorts never reach this module: choosing on them would make the test figures a
selection score rather than an estimate. Pure (data sets in, parameters out).
"""

from typing import Any

from engagement.errors import ValidationFailed
from learners.risk.bands import BandPolicy
from learners.risk.dataset import TrainingSet, time_split
from learners.risk.metrics import roc_auc
from learners.risk.model import model_scores, train_boosted, train_logistic

TRAINABLE_KINDS = ("logistic", "boosted")
#: ``auto`` chooses among ``TRAINABLE_KINDS``; naming one skips the choice.
KIND_CHOICES = ("auto", *TRAINABLE_KINDS)
#: The simpler kind, kept when there is no validation to choose on (and on a tie).
FALLBACK_KIND = "logistic"
VALIDATION_SHARE = 0.3


def kind_check(kind: str) -> None:
    """Refuse an unknown kind with ``ValidationFailed`` (the API, the command, the task)."""
    if kind not in KIND_CHOICES:
        reason = f"Must be one of: {', '.join(KIND_CHOICES)}."
        raise ValidationFailed(f"Invalid kind: {reason}", detail={"kind": [reason]})


def _train(kind: str, data: TrainingSet, policy: BandPolicy) -> dict[str, Any]:
    # Looked up at call time, so a test can swap a trainer for a spy.
    trainer = train_boosted if kind == "boosted" else train_logistic
    return trainer(data, policy=policy)


def validation_split(train: TrainingSet) -> tuple[TrainingSet, TrainingSet] | None:
    """Earlier training cohorts to fit, later ones to validate; None when that cannot judge a
    kind: fewer than two training cohorts, or a side with only one outcome."""
    if len(train.cohort_ids()) < 2:
        return None
    fit, check = time_split(train, test_share=VALIDATION_SHARE)
    if any(len(set(part.outcomes().tolist())) < 2 for part in (fit, check)):
        return None
    return fit, check


def fit_best_kind(
    train: TrainingSet, *, kind: str = "auto", policy: BandPolicy
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """``(kind, parameters fitted on all of train, selection record for the metrics)``; bands
    under ``policy`` (coach capacity and precision, ``learners.risk.bands``).

    With ``auto``, the kind with the best validation ROC AUC (ties and no validation:
    ``FALLBACK_KIND``); a named kind is fitted as asked, with its validation AUC recorded.
    """
    kind_check(kind)
    candidates = TRAINABLE_KINDS if kind == "auto" else (kind,)
    split = validation_split(train)
    validation: dict[str, float | None] = {}
    if split is not None:
        fit, check = split
        for candidate in candidates:
            scores = model_scores(_train(candidate, fit, policy), candidate, check)
            validation[candidate] = roc_auc(check.outcomes(), scores)
    judged = {name: auc for name, auc in validation.items() if auc is not None}
    if kind != "auto":
        chosen, reason = kind, "requested"
    elif judged:
        # max keeps the first of equals: TRAINABLE_KINDS lists the fallback first.
        chosen, reason = max(judged, key=judged.__getitem__), "best validation ROC AUC"
    else:
        chosen, reason = FALLBACK_KIND, "too little training history to validate on"
    selection = {
        "requested": kind,
        "chosen": chosen,
        "reason": reason,
        "validation_roc_auc": validation,
        "fit_cohorts": split[0].cohort_ids() if split else [],
        "validation_cohorts": split[1].cohort_ids() if split else [],
    }
    return chosen, _train(chosen, train, policy), selection
