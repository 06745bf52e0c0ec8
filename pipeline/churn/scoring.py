"""Scoring one snapshot month with the champion: probability, decile, band, revenue at risk, reasons.

Deciles are ranked within the scored month (1 = the tenth most at risk). Risk bands follow the deciles,
so the "high" band is always the group the model's lift is measured on: high = decile 1, elevated =
deciles 2-3, moderate = deciles 4-6, low = deciles 7-10. Expected revenue at risk = churn probability x
the account's revenue of the last twelve months.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.churn import attribution, evaluation, training
from pipeline.churn.features import FEATURES
from pipeline.churn.store import StoredModel
from pipeline.rules import BusinessRules, current_rules

SCORE_COLUMNS = (
    "account_id",
    "snapshot_month",
    "churn_probability",
    "risk_decile",
    "risk_band",
    "revenue_12m_eur",
    "expected_revenue_at_risk_eur",
    "reason_1",
    "reason_2",
    "reason_3",
    "reasons",
    "model_version",
    "scored_at",
)


def risk_band(decile: np.ndarray, rules: BusinessRules | None = None) -> np.ndarray:
    """The risk band of each decile: the vars risk_band_*_max_decile (dbt_project.yml)."""
    return (rules or current_rules()).risk_band(decile)


def score_snapshot(
    champion: StoredModel,
    frame: pd.DataFrame,
    reference: pd.DataFrame,
    scored_at: pd.Timestamp,
    rules: BusinessRules | None = None,
) -> pd.DataFrame:
    """Score every row of one snapshot month of the (validated) feature table."""
    if frame.empty:
        return pd.DataFrame(columns=list(SCORE_COLUMNS))
    left_out = champion.metadata.get("features_left_out", [])
    inputs = training.blank(frame, left_out)
    probability = training.predict(champion.model, frame, left_out)
    decile = evaluation.risk_deciles(probability)
    contributions = attribution.input_contributions(champion.model, inputs, training.blank(reference, left_out))
    reasons = attribution.top_reasons(frame, attribution.reason_contributions(contributions))
    revenue = frame["revenue_12m_eur"].astype(float).to_numpy()
    padded = [r + [None] * (3 - len(r)) for r in reasons]
    return pd.DataFrame(
        {
            "account_id": frame["account_id"].to_numpy(),
            "snapshot_month": pd.to_datetime(frame["snapshot_month"]).dt.date.to_numpy(),
            "churn_probability": probability,
            "risk_decile": decile,
            "risk_band": risk_band(decile, rules),
            "revenue_12m_eur": revenue,
            "expected_revenue_at_risk_eur": np.round(probability * revenue, 2),
            "reason_1": [r[0] for r in padded],
            "reason_2": [r[1] for r in padded],
            "reason_3": [r[2] for r in padded],
            "reasons": ["; ".join(r) if r else None for r in reasons],
            "model_version": champion.version,
            "scored_at": scored_at,
        }
    )


def reference_sample(frame: pd.DataFrame, rows: int = 5000, seed: int = 0) -> pd.DataFrame:
    """The reference population kept with a model (for attributions and drift): a seeded sample of the
    rows it was fitted on."""
    return frame[list(FEATURES)].sample(n=min(rows, len(frame)), random_state=seed).reset_index(drop=True)
