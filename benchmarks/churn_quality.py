"""The churn model against the planted truth on a demo home: out-of-time AUC, Brier and top-decile lift of
the model and of the oracle (the planted probabilities) on the same evaluation rows.

    PIPELINE_HOME=/var/tmp/demo20k pipeline demo --accounts 20000 --months 36
    python benchmarks/churn_quality.py /var/tmp/demo20k
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

import duckdb
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.churn import evaluation, features, training  # noqa: E402


def main(home: Path) -> dict:
    warnings.filterwarnings("ignore")
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        frame = features.validate_features(features.load_feature_table(conn))
    started = time.perf_counter()
    result = training.train(frame, training.TrainingConfig())
    seconds = time.perf_counter() - started
    truth = pd.read_parquet(home / "truth" / "churn_probabilities.parquet")
    truth["month"] = pd.to_datetime(truth["month"])
    rows = result.evaluation_rows.merge(
        truth, left_on=["account_id", "snapshot_month"], right_on=["account_id", "month"], how="left"
    )
    oracle = evaluation.classification_metrics(rows["churned_within_6m"].astype(int), rows["p_churn_6m"])
    keys = ("roc_auc", "brier", "top_decile_lift")
    report = {
        "home": str(home),
        "train_seconds": round(seconds, 1),
        "hyperparameters": result.hyperparameters,
        "chosen": result.chosen,
        "oracle": {k: round(oracle[k], 4) for k in keys},
        "candidates": {n: {k: round(c.metrics[k], 4) for k in keys} for n, c in result.candidates.items()},
        "baselines": {n: round(b["roc_auc"], 4) for n, b in result.baselines.items()},
    }
    best = result.best.metrics
    report["gap"] = {
        "roc_auc": round(oracle["roc_auc"] - best["roc_auc"], 4),
        "brier_ratio": round(best["brier"] / oracle["brier"], 3),
        "lift_share": round(best["top_decile_lift"] / oracle["top_decile_lift"], 3),
    }
    return report


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1])), indent=2))
