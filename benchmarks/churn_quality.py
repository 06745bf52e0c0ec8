"""The churn model against the planted truth on a demo home: out-of-time AUC, Brier and top-decile lift of
the model and of the oracle (the planted probabilities) on the same evaluation rows; the lift share also
in expectation (planted probabilities in place of outcomes); and two truth-aided references: what a model
that knew the planted formula and, for the risk state, the best regression of the *true* state on the
model's own inputs would reach, given the account's true static log-odds, or only the part industry,
size and country determine.

    PIPELINE_HOME=/var/tmp/demo20k pipeline demo --accounts 20000 --months 36
    python benchmarks/churn_quality.py /var/tmp/demo20k [more homes ...]

With several homes (companies generated with different seeds) it also prints the mean of the bars'
figures over them: the bars are a property of the method, and one company's top decile is a small sample.
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.churn import evaluation, features, training
from pipeline.demo import model as planted
from pipeline.demo import vocabulary


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
    # How far the same company's figures move between samples of its accounts (paired bootstrap).
    spread = evaluation.against_oracle(
        rows["churned_within_6m"].astype(int),
        result.best.evaluation_probability,
        rows["p_churn_6m"],
        rows["account_id"],
    )
    report["gap"]["roc_auc_95"] = [round(v, 4) for v in spread["roc_auc_gap_95"]]
    report["gap"]["lift_share_95"] = [round(v, 3) for v in spread["lift_share_95"]]
    # The same share in expectation (the planted probabilities in place of who happened to churn).
    report["gap"]["expected_lift_share"] = round(spread["expected_lift_share"], 3)
    report["gap"]["expected_lift_share_95"] = [round(v, 3) for v in spread["expected_lift_share_95"]]
    ceiling = truth_aided_ceiling(home, frame, result.split, rows)
    planted_probability = rows["p_churn_6m"].to_numpy()

    def against(bound: dict) -> dict:
        return {
            "roc_auc_gap": round(oracle["roc_auc"] - bound["roc_auc"], 4),
            "lift_share": round(bound["top_decile_lift"] / oracle["top_decile_lift"], 3),
            "expected_lift_share": round(
                evaluation.top_decile_lift(planted_probability, bound["probability"])
                / evaluation.top_decile_lift(planted_probability, planted_probability),
                3,
            ),
        }

    report["ceiling"] = {"risk_state_r2": round(ceiling["r2"], 4), **against(ceiling["true_static"])}
    # The same bound without the static risk no data shows: how much of the gap that part explains.
    report["ceiling"]["observable_static"] = against(ceiling["observable_static"])
    return report


def truth_aided_ceiling(home: Path, frame: pd.DataFrame, split: training.Split, rows: pd.DataFrame) -> dict:
    """Gradient boosting regresses the true risk state on the model's inputs (fitted on the development
    months, where a model could learn), then the planted formula turns the true static log-odds and that
    estimate (integrated over its residual error) into six-month probabilities on the evaluation rows.
    No model of the warehouse has the truth's help; this bounds what the inputs allow."""
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.metrics import r2_score

    states = pd.read_parquet(home / "truth" / "account_months.parquet", columns=["account_id", "month", "risk_state"])
    states["month"] = pd.to_datetime(states["month"])
    static = pd.read_parquet(home / "truth" / "accounts.parquet", columns=["account_id", "static_churn_logit"])

    def known(months: list[pd.Timestamp]) -> tuple[pd.DataFrame, pd.DataFrame]:
        part = training.rows_in(frame, months)
        inputs = features.model_inputs(training.blank(part, []))
        for column in features.CATEGORICAL_FEATURES:
            inputs[column] = inputs[column].astype(str)
        keyed = part[["account_id", "snapshot_month"]].merge(
            states, left_on=["account_id", "snapshot_month"], right_on=["account_id", "month"], how="left"
        )
        return inputs, keyed

    development, development_truth = known(split.fit_months + split.calibration_months)
    inputs = [c for c in development.columns if development[c].notna().any()]
    categorical = [c for c in inputs if c in features.CATEGORICAL_FEATURES]
    regression = HistGradientBoostingRegressor(
        max_iter=400, learning_rate=0.1, max_leaf_nodes=31, categorical_features=categorical, random_state=0
    )
    for column in categorical:
        development[column] = development[column].astype("category")
    regression.fit(development[inputs], development_truth["risk_state"])
    residual = float(np.std(development_truth["risk_state"] - regression.predict(development[inputs])))

    evaluation_inputs, _ = known(split.evaluation_months)
    for column in categorical:
        evaluation_inputs[column] = pd.Categorical(
            evaluation_inputs[column], categories=development[column].cat.categories
        )
    estimate = regression.predict(evaluation_inputs[inputs])  # same row order as `rows` (evaluation_rows)
    truth_rows = rows.merge(static, on="account_id", how="left").merge(
        states,
        left_on=["account_id", "snapshot_month"],
        right_on=["account_id", "month"],
        how="left",
        suffixes=("", "_state"),
    )
    true_logits = truth_rows["static_churn_logit"].round(2).to_numpy()
    observable = observable_static_logits(home, frame)
    observable_logits = truth_rows["account_id"].map(observable).to_numpy()
    probability = planted.SixMonthChurnProbability(np.concatenate([true_logits, observable_logits]))
    y = rows["churned_within_6m"].astype(int)
    results = {}
    for name, logits in (("true_static", true_logits), ("observable_static", observable_logits)):
        rng = np.random.default_rng(0)
        draws = [probability(logits, estimate + rng.normal(0, residual, len(estimate))) for _ in range(20)]
        ceiling_probability = np.mean(draws, axis=0)
        results[name] = evaluation.classification_metrics(y, ceiling_probability)
        results[name]["probability"] = ceiling_probability
    results["r2"] = r2_score(truth_rows["risk_state"], estimate)
    return results


def observable_static_logits(home: Path, frame: pd.DataFrame) -> pd.Series:
    """The planted static log-odds without the account's personal component: what industry, country and
    size (all in the warehouse) determine. The personal part (sd ``STATIC_RISK_NOISE``) no data shows."""
    accounts = pd.read_parquet(home / "truth" / "accounts.parquet", columns=["account_id", "size_eur"])
    log_size = np.log(accounts["size_eur"])
    size_z = (log_size - log_size.mean()) / log_size.std()  # as the generator standardises it
    crm = frame.groupby("account_id")[["industry", "country_code"]].last()
    industry, country = (accounts["account_id"].map(crm[c]) for c in ("industry", "country_code"))
    shift = {name: risk for name, _, risk in vocabulary.INDUSTRIES}
    logits = (
        planted.BASE_CHURN_LOGIT
        + industry.map(shift).fillna(0.0)
        + planted.FOREIGN_RISK * (country != "FI")
        - planted.SMALL_ACCOUNT_RISK * size_z
    )
    return pd.Series(np.round(logits.to_numpy(), 2), index=accounts["account_id"])


def summary(reports: list[dict]) -> dict:
    def mean(key: str) -> float:
        return round(sum(r["gap"][key] for r in reports) / len(reports), 4)

    return {
        "companies": len(reports),
        "mean_roc_auc_gap": mean("roc_auc"),
        "mean_brier_ratio": mean("brier_ratio"),
        "mean_lift_share": mean("lift_share"),
        "mean_expected_lift_share": mean("expected_lift_share"),
        "mean_ceiling_roc_auc_gap": round(sum(r["ceiling"]["roc_auc_gap"] for r in reports) / len(reports), 4),
        "mean_ceiling_lift_share": round(sum(r["ceiling"]["lift_share"] for r in reports) / len(reports), 4),
        "mean_ceiling_expected_lift_share": round(
            sum(r["ceiling"]["expected_lift_share"] for r in reports) / len(reports), 4
        ),
        "mean_observable_ceiling_expected_lift_share": round(
            sum(r["ceiling"]["observable_static"]["expected_lift_share"] for r in reports) / len(reports), 4
        ),
    }


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("homes", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, help="also write every company's figures and the means here")
    args = parser.parse_args()
    reports = []
    for home in args.homes:
        reports.append(main(home))
        print(json.dumps(reports[-1], indent=2), flush=True)
    means = summary(reports)
    print(json.dumps(means, indent=2))
    if args.out:
        args.out.write_text(json.dumps({"companies": reports, "means": means}, indent=2) + "\n")
