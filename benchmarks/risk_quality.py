"""Risk quality on realistic synthetic data: every naive baseline, the rules and each trained kind.

For each population (``seed_demo --shape mooc``: open courses only, shaped like public MOOC logs;
``--shape mixed``: the demo data, open courses beside degree cohorts) the script seeds a scratch
database, builds the training set at each cutoff day (``learners.risk.dataset.training_set``),
splits it in time (``time_split``: earlier cohorts train, later ones test) and measures on the
same test learners:

- the naive rankings (no model): fewest events since enrolment, fewest active days since
  enrolment, longest since the last activity; counted straight from the events in SQL, as
  rankings (ROC AUC and PR AUC only: they are not probabilities);
- ``rules`` as shipped in version 1 (frozen in migration 0005) and as in ``RULES_PARAMETERS`` now;
- logistic regression on the log counts per event kind since enrolment (plain scikit-learn,
  fitted on the training cohorts; high band = its top 20 % on them, as trained kinds do);
- every trainable kind of ``learners.risk.model`` (a ``train_<kind>`` function for a
  ``RiskModelKind``), trained on the training cohorts.

``--fit-rules`` also prints a logistic fit of the features the rules weigh (each weight held to
the sign of the shipped one), in their own units (log-odds per unit), on the whole population
as of day 28: the evidence behind the size of the rules' weights
(docs/risk.md, "Why these rules weights"). ``--timing-learners N`` times building the training
set and training each kind on a mixed population of N learners.

Only 127.0.0.1 is used; the scratch database (``--database``) is dropped and created for each
population and dropped at the end.

    .venv/bin/python benchmarks/risk_quality.py --database risk_d --fit-rules \\
        --timing-learners 100000 --json-out benchmarks/results/risk_quality.json
"""

import argparse
import importlib
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import psycopg

ROOT = Path(__file__).resolve().parent.parent
SERVER = "postgres://postgres@127.0.0.1:5432"
HIGH_SHARE = 0.2

sys.path.insert(0, str(ROOT))


def _django(database: str) -> None:
    os.environ["DATABASE_URL"] = f"{SERVER}/{database}"
    os.environ.setdefault("DEBUG", "true")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "engagement.settings")
    import django

    django.setup()


def _disconnect() -> None:
    """Close Django's connections, pooled ones too, before their database is dropped."""
    from django.db import connections

    for connection in connections.all():
        connection.close()
        if hasattr(connection, "close_pool"):
            connection.close_pool()


def _recreate(database: str) -> None:
    from django.core.management import call_command

    _disconnect()
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {database}")
    call_command("migrate", verbosity=0)


def _drop(database: str) -> None:
    _disconnect()
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


def _seed(*, shape: str, learners: int, cohorts: int, days: int, seed: int) -> float:
    from learners.demo.writer import demo_population_seed

    started = time.perf_counter()
    demo_population_seed(
        cohorts=cohorts,
        learners=learners,
        days=days,
        seed=seed,
        today=datetime.now(UTC).date(),
        shape=shape,
    )
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")
    return time.perf_counter() - started


# Counts since enrolment, straight from the events --------------------------------------------


def _counts(learner_ids: Sequence[Any], cutoff_days: int) -> dict[Any, dict[str, float]]:
    """Per learner, as of ``enrolled_at + cutoff_days``: events per kind, all events, active
    days (24-hour periods from enrolment with an event) and days since the last event."""
    from django.db import connection

    from learners.models import EventKind

    kinds = list(EventKind.values)
    per_kind = ", ".join(f"count(e.id) FILTER (WHERE e.kind = '{kind}')" for kind in kinds)
    sql = f"""
        SELECT l.id, count(e.id), {per_kind},
               count(DISTINCT floor(extract(epoch FROM e.occurred_at - l.enrolled_at) / 86400)),
               extract(epoch FROM l.enrolled_at + make_interval(days => %s)
                                  - coalesce(max(e.occurred_at), l.enrolled_at)) / 86400
        FROM learners_learner l
        LEFT JOIN learners_activityevent e
          ON e.learner_id = l.id AND e.occurred_at < l.enrolled_at + make_interval(days => %s)
        WHERE l.id = ANY(%s)
        GROUP BY l.id
    """  # noqa: S608 (the kinds are the model's own choices, not input)
    with connection.cursor() as cursor:
        cursor.execute(sql, [cutoff_days, cutoff_days, list(learner_ids)])
        rows = cursor.fetchall()
    result = {}
    for row in rows:
        values = dict(zip(["events", *kinds], map(float, row[1 : 2 + len(kinds)]), strict=True))
        values["active_days"] = float(row[-2])
        values["days_since_last"] = float(row[-1])
        result[row[0]] = values
    return result


def _column(counts: Mapping[Any, Mapping[str, float]], rows: Sequence[Any], name: str) -> Any:
    return np.array([counts[row.learner_id][name] for row in rows], dtype=float)


BASELINES: dict[str, Callable[[Mapping[Any, Mapping[str, float]], Sequence[Any]], Any]] = {
    "fewest events since enrolment": lambda counts, rows: -_column(counts, rows, "events"),
    "fewest active days since enrolment": lambda counts, rows: (
        -_column(counts, rows, "active_days")
    ),
    "days since last activity": lambda counts, rows: _column(counts, rows, "days_since_last"),
}


# Measuring -------------------------------------------------------------------------------------


def _figures(outcomes: Any, scores: Any, flagged: Any | None) -> dict[str, Any]:
    from learners.risk.metrics import brier, pr_auc, precision_recall, roc_auc

    return {
        "roc_auc": roc_auc(outcomes, scores),
        "pr_auc": pr_auc(outcomes, scores),
        "brier": None if flagged is None else brier(outcomes, scores),
        "high_band": None if flagged is None else precision_recall(outcomes, flagged),
        "high_share": None if flagged is None else round(float(np.mean(flagged)), 4),
    }


def _kind_counts_matrix(counts: Mapping[Any, Mapping[str, float]], rows: Sequence[Any]) -> Any:
    from learners.models import EventKind

    return np.log1p(np.column_stack([_column(counts, rows, kind) for kind in EventKind.values]))


def _per_kind_regression(counts: Any, train: Any, test: Any) -> tuple[dict[str, Any], float]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    started = time.perf_counter()
    fitted = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    fitted.fit(_kind_counts_matrix(counts, train.rows), train.outcomes())
    seconds = time.perf_counter() - started
    high = np.quantile(fitted.predict_proba(_kind_counts_matrix(counts, train.rows))[:, 1], 0.8)
    scores = fitted.predict_proba(_kind_counts_matrix(counts, test.rows))[:, 1]
    return _figures(test.outcomes(), scores, scores >= high), seconds


def trainable_kinds() -> dict[str, Callable[..., dict[str, Any]]]:
    """Every kind but ``rules`` that ``learners.risk.model`` can train (``train_<kind>``)."""
    from learners.models import RiskModelKind
    from learners.risk import model

    trainers = {kind: getattr(model, f"train_{kind}", None) for kind in RiskModelKind.values}
    return {kind: train for kind, train in trainers.items() if kind != "rules" and train}


def _shipped_rules_v1() -> dict[str, Any]:
    return importlib.import_module("learners.migrations.0005_rules_risk_model").RULES_PARAMETERS


def _rules(parameters: Mapping[str, Any], test: Any) -> dict[str, Any]:
    from learners.risk.model import model_scores

    scores = model_scores(parameters, "rules", test)
    return _figures(test.outcomes(), scores, scores >= parameters["thresholds"]["high"])


def measure(cutoff_days: int) -> dict[str, Any]:
    """Every ranking on the later cohorts' learners, as of ``cutoff_days`` after enrolment."""
    from learners.risk.dataset import time_split, training_set
    from learners.risk.metrics import evaluate
    from learners.risk.model import RULES_PARAMETERS

    data = training_set(cutoff_days=cutoff_days)
    train, test = time_split(data)
    counts = _counts([row.learner_id for row in data.rows], cutoff_days)
    outcomes = test.outcomes()
    rankings: dict[str, Any] = {
        name: _figures(outcomes, ranking(counts, test.rows), None)
        for name, ranking in BASELINES.items()
    }
    rankings["rules v1 (shipped)"] = _rules(_shipped_rules_v1(), test)
    rankings["rules (RULES_PARAMETERS)"] = _rules(RULES_PARAMETERS, test)
    rankings["logistic regression on log counts per kind"], _ = _per_kind_regression(
        counts, train, test
    )
    for kind, train_kind in trainable_kinds().items():
        measured = evaluate(train_kind(train), kind, test)
        rankings[f"trained {kind}"] = {
            key: measured[key] for key in ("roc_auc", "pr_auc", "brier", "high_band")
        } | {"high_share": None}
    return {
        "cutoff_days": cutoff_days,
        "n_train": len(train),
        "n_test": len(test),
        "test_base_rate": round(float(outcomes.mean()), 4),
        "rankings": rankings,
    }


# The evidence behind the rules' weights --------------------------------------------------------


def fit_rules_features(cutoff_days: int) -> dict[str, Any]:
    """A logistic fit of the features the rules weigh, each weight held to the sign of the
    shipped one (0 allowed: correlated features otherwise trade weights of either sign), on
    every learner with an outcome; weights in the features' own units (log-odds per unit)."""
    from learners.risk.dataset import training_set
    from learners.risk.features import FEATURE_NAMES
    from learners.risk.logistic import fit_signed_logistic
    from learners.risk.model import RULES_PARAMETERS

    data = training_set(cutoff_days=cutoff_days)
    weights = RULES_PARAMETERS["weights"]
    used = list(weights)
    matrix = data.matrix()[:, [FEATURE_NAMES.index(name) for name in used]]
    outcomes = data.outcomes()
    directions = [1 if weights[name] > 0 else -1 for name in used]
    # A light ridge: 1e-3 * ||w||^2 on the mean log-loss.
    fit = fit_signed_logistic(
        matrix, outcomes, directions, inverse_regularisation=500 / len(outcomes)
    )
    completers = matrix[outcomes == 0]
    return {
        "n": len(data),
        "base_rate": round(float(outcomes.mean()), 4),
        "features": {
            name: {
                "weight_per_unit": round(float(fit.coefficients[index] / fit.stds[index]), 3),
                "completers_median": round(float(np.median(completers[:, index])), 3),
            }
            for index, name in enumerate(used)
        },
    }


# Training time ---------------------------------------------------------------------------------


def training_time(cutoff_days: int) -> dict[str, Any]:
    from learners.risk.dataset import time_split, training_set

    started = time.perf_counter()
    data = training_set(cutoff_days=cutoff_days)
    seconds: dict[str, Any] = {"training_set": round(time.perf_counter() - started, 1)}
    train, _ = time_split(data)
    for kind, train_kind in trainable_kinds().items():
        started = time.perf_counter()
        train_kind(train)
        seconds[f"fit {kind}"] = round(time.perf_counter() - started, 1)
    counts = _counts([row.learner_id for row in train.rows], cutoff_days)
    _, seconds["fit logistic regression on log counts per kind"] = _per_kind_regression(
        counts, train, train
    )
    seconds["fit logistic regression on log counts per kind"] = round(
        seconds["fit logistic regression on log counts per kind"], 1
    )
    return {"n_with_outcome": len(data), "n_train": len(train), "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="lep_risk_quality", help="Scratch database.")
    parser.add_argument("--learners", type=int, default=6000)
    parser.add_argument("--cohorts", type=int, default=8)
    parser.add_argument("--days", type=int, default=400)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cutoff-days", type=int, nargs="+", default=[28, 30])
    parser.add_argument("--shapes", nargs="+", default=["mooc", "mixed"])
    parser.add_argument("--fit-rules", action="store_true", help="Print the rules-feature fit.")
    parser.add_argument("--timing-learners", type=int, default=0, help="0: no timing run.")
    parser.add_argument("--json-out", type=Path, default=None)
    options = parser.parse_args()
    _django(options.database)
    results: dict[str, Any] = {
        "date": datetime.now(UTC).date().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.processor()}",
        "population": {
            key: getattr(options, key) for key in ("learners", "cohorts", "days", "seed")
        },
        "trainable_kinds": list(trainable_kinds()),
        "shapes": {},
    }
    for shape in options.shapes:
        _recreate(options.database)
        size = {key: getattr(options, key) for key in ("learners", "cohorts", "days", "seed")}
        _seed(shape=shape, **size)
        results["shapes"][shape] = {
            "by_cutoff": [measure(cutoff) for cutoff in options.cutoff_days],
            **({"rules_fit": fit_rules_features(28)} if options.fit_rules else {}),
        }
        print(json.dumps({shape: results["shapes"][shape]}, indent=1), flush=True)
    if options.timing_learners:
        _recreate(options.database)
        seed_seconds = _seed(
            shape="mixed",
            learners=options.timing_learners,
            cohorts=12,
            days=options.days,
            seed=options.seed,
        )
        results["training_time"] = {
            "learners": options.timing_learners,
            "seed_seconds": round(seed_seconds, 1),
            **training_time(28),
        }
        print(json.dumps(results["training_time"], indent=1), flush=True)
    _drop(options.database)
    if options.json_out:
        options.json_out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
