"""Drift between the population a model was fitted on and the one it scores.

PSI (population stability index) per model input, on ten quantile bins of the reference population
(missing values are a bin of their own). Conventional reading: below 0.1 stable, 0.1-0.25 a shift to
look at (warn), above 0.25 a shift that invalidates the model (fail). The same index on the predicted
probabilities (scored month against the out-of-time evaluation window) measures score shift.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.churn.evaluation import population_stability_index, quantile_edges
from pipeline.churn.features import CATEGORICAL_FEATURES, model_inputs

PSI_WARN = 0.1
PSI_FAIL = 0.25


@dataclass(frozen=True)
class DriftReport:
    psi: dict[str, float]

    @property
    def worst(self) -> tuple[str, float]:
        name = max(self.psi, key=lambda feature: self.psi[feature])
        return name, self.psi[name]

    def over(self, threshold: float) -> dict[str, float]:
        return {k: round(v, 4) for k, v in sorted(self.psi.items(), key=lambda kv: -kv[1]) if v > threshold}


def _numeric(frame: pd.DataFrame) -> pd.DataFrame:
    derived = model_inputs(frame)
    return derived[[c for c in derived.columns if c not in CATEGORICAL_FEATURES]]


def feature_drift(reference: pd.DataFrame, current: pd.DataFrame) -> DriftReport:
    ref, cur = _numeric(reference), _numeric(current)
    psi = {}
    for column in ref.columns:
        if ref[column].notna().any():
            edges = quantile_edges(ref[column].to_numpy(dtype=float))
            psi[column] = population_stability_index(
                ref[column].to_numpy(dtype=float), cur[column].to_numpy(dtype=float), edges
            )
    for column in CATEGORICAL_FEATURES:
        levels = sorted(set(reference[column].dropna()) | set(current[column].dropna()))
        codes = {level: i for i, level in enumerate(levels)}
        ref_codes = reference[column].map(codes).to_numpy(dtype=float)
        cur_codes = current[column].map(codes).to_numpy(dtype=float)
        psi[column] = population_stability_index(ref_codes, cur_codes, np.arange(len(levels)) + 0.5)
    return DriftReport(psi=psi)


def score_shift(reference_probability: np.ndarray, current_probability: np.ndarray) -> float:
    edges = quantile_edges(np.asarray(reference_probability, dtype=float))
    return population_stability_index(reference_probability, current_probability, edges)
