"""Out-of-time metrics of a churn score: discrimination, calibration, lift by decile, revenue captured.

Decile 1 holds the tenth of the rows with the highest predicted risk (ties broken by row order, so the
deciles always have equal size). "Top-decile lift" is the churn rate of decile 1 divided by the churn rate
of the other nine deciles: "the top decile churns N times as often as the rest".
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score


def risk_deciles(score: np.ndarray) -> np.ndarray:
    """1 (highest score) .. 10 (lowest), equal-sized; stable for ties (earlier rows rank higher)."""
    score = np.asarray(score, dtype=float)
    order = np.argsort(-score, kind="stable")
    ranks = np.empty(len(score), dtype=np.int64)
    ranks[order] = np.arange(len(score))
    return (ranks * 10 // max(len(score), 1) + 1).astype(np.int64)


def top_decile_lift(y: np.ndarray, score: np.ndarray) -> float:
    y = np.asarray(y, dtype=float)
    top = risk_deciles(score) == 1
    rest_rate = y[~top].mean() if (~top).any() else np.nan
    return float(y[top].mean() / rest_rate) if rest_rate > 0 else float("nan")


def decile_table(y: np.ndarray, score: np.ndarray, revenue: np.ndarray | None = None) -> pd.DataFrame:
    y = np.asarray(y, dtype=float)
    frame = pd.DataFrame({"decile": risk_deciles(score), "churned": y, "score": np.asarray(score, dtype=float)})
    frame["revenue"] = 0.0 if revenue is None else np.asarray(revenue, dtype=float)
    frame["churned_revenue"] = frame["revenue"] * frame["churned"]
    table = frame.groupby("decile").agg(
        accounts=("churned", "size"),
        churners=("churned", "sum"),
        mean_predicted=("score", "mean"),
        revenue_eur=("revenue", "sum"),
        churned_revenue_eur=("churned_revenue", "sum"),
    )
    overall = y.mean() if len(y) else np.nan
    table["churn_rate"] = table["churners"] / table["accounts"]
    table["lift"] = table["churn_rate"] / overall if overall > 0 else np.nan
    table["cumulative_churners_share"] = table["churners"].cumsum() / max(table["churners"].sum(), 1)
    return table.reset_index()


def calibration_table(y: np.ndarray, probability: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Predicted against observed churn in equal-sized bins of predicted probability."""
    frame = pd.DataFrame({"y": np.asarray(y, dtype=float), "p": np.asarray(probability, dtype=float)})
    frame["bin"] = pd.qcut(frame["p"].rank(method="first"), bins, labels=False) + 1
    table = frame.groupby("bin").agg(accounts=("y", "size"), mean_predicted=("p", "mean"), observed=("y", "mean"))
    return table.reset_index()


def classification_metrics(y: np.ndarray, probability: np.ndarray, revenue: np.ndarray | None = None) -> dict:
    """Every headline figure of a probability on one window (y in {0, 1})."""
    y = np.asarray(y, dtype=int)
    p = np.clip(np.asarray(probability, dtype=float), 1e-6, 1 - 1e-6)
    deciles = decile_table(y, p, revenue)
    top = deciles.iloc[0]
    churned_revenue = deciles["churned_revenue_eur"].sum()
    return {
        "rows": len(y),
        "churners": int(y.sum()),
        "churn_rate": float(y.mean()),
        "roc_auc": float(roc_auc_score(y, p)),
        "pr_auc": float(average_precision_score(y, p)),
        "brier": float(brier_score_loss(y, p)),
        "log_loss": float(log_loss(y, p, labels=[0, 1])),
        "top_decile_lift": top_decile_lift(y, p),
        "top_decile_churn_rate": float(top["churn_rate"]),
        "top_decile_churners_share": float(top["churners"] / max(y.sum(), 1)),
        "revenue_at_risk_captured_top_decile": (
            float(top["churned_revenue_eur"] / churned_revenue) if churned_revenue > 0 else float("nan")
        ),
    }


def ranking_metrics(y: np.ndarray, score: np.ndarray) -> dict:
    """Figures that need only an ordering (for rules that give no probability)."""
    y = np.asarray(y, dtype=int)
    return {
        "roc_auc": float(roc_auc_score(y, score)),
        "pr_auc": float(average_precision_score(y, score)),
        "top_decile_lift": top_decile_lift(y, score),
    }


def population_stability_index(expected: np.ndarray, actual: np.ndarray, edges: np.ndarray) -> float:
    """PSI = sum (a - e) ln(a / e) over bins (edges from the reference population; missing values are
    their own bin). Shares are floored at 1e-4 so an empty bin does not make it infinite."""

    def shares(values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=float)
        missing = np.isnan(values)
        counts = np.bincount(np.searchsorted(edges, values[~missing], side="right"), minlength=len(edges) + 1)
        counts = np.append(counts, missing.sum()).astype(float)
        return np.maximum(counts / max(len(values), 1), 1e-4)

    e, a = shares(expected), shares(actual)
    return float(np.sum((a - e) * np.log(a / e)))


def quantile_edges(values: np.ndarray, bins: int = 10) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    if values.size == 0:
        return np.array([], dtype=float)
    return np.unique(np.quantile(values, np.linspace(0, 1, bins + 1)[1:-1]))


def against_oracle(
    y: np.ndarray,
    model_probability: np.ndarray,
    oracle_probability: np.ndarray,
    accounts: np.ndarray,
    draws: int = 500,
    seed: int = 0,
) -> dict:
    """The model against the planted truth on the same rows: ROC-AUC gap (oracle - model) and top-decile
    lift share (model / oracle), each with a 95% interval from a paired bootstrap over accounts.

    Paired (both scores on the same resampled rows) because the question is the model's shortfall, not
    either figure's own noise; over accounts because an account's three evaluation months are not
    independent draws. The top decile of a 20,000-account window holds about 4,500 rows, so the lift share
    alone moves by several points between samples of the same company.

    ``expected_lift_share`` is the same ratio with each row's churn replaced by its planted probability:
    the lift each ranking earns in expectation, free of which accounts happened to churn. It answers the
    bar's question (is the ranking as good as the truth's?) without the draw of the outcomes; only the
    sample of accounts remains in its interval."""
    y = np.asarray(y, dtype=int)
    model_probability = np.asarray(model_probability, dtype=float)
    oracle_probability = np.asarray(oracle_probability, dtype=float)
    codes, uniques = pd.factorize(np.asarray(accounts))
    by_account = np.argsort(codes, kind="stable")
    rows_of = np.split(by_account, np.cumsum(np.bincount(codes, minlength=len(uniques)))[:-1])

    def figures(rows: np.ndarray) -> tuple[float, float, float]:
        yy, model, oracle = y[rows], model_probability[rows], oracle_probability[rows]
        gap = roc_auc_score(yy, oracle) - roc_auc_score(yy, model)
        share = top_decile_lift(yy, model) / top_decile_lift(yy, oracle)
        expected_share = top_decile_lift(oracle, model) / top_decile_lift(oracle, oracle)
        return gap, share, expected_share

    point = figures(np.arange(len(y)))
    rng = np.random.default_rng(seed)
    sampled = np.array(
        [
            figures(np.concatenate([rows_of[i] for i in rng.integers(0, len(uniques), len(uniques))]))
            for _ in range(draws)
        ]
    )
    low, high = np.nanquantile(sampled, [0.025, 0.975], axis=0)
    return {
        "roc_auc_gap": float(point[0]),
        "roc_auc_gap_95": [float(low[0]), float(high[0])],
        "lift_share": float(point[1]),
        "lift_share_95": [float(low[1]), float(high[1])],
        "expected_lift_share": float(point[2]),
        "expected_lift_share_95": [float(low[2]), float(high[2])],
        "draws": draws,
    }
