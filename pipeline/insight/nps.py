"""Honest NPS: the response-bias-adjusted NPS with its Kish effective n and margin of error.

Raw NPS counts every answer once, so a segment that answers twice as readily weighs twice as much.
Post-stratification re-weighs respondents so that each cell (size band x contact role, from the CRM)
counts by its share of the *invited* contacts instead of its share of answers: respondent i in cell c gets
weight w_i = (invited_c / invited) / (respondents_c / respondents). That removes the part of the
non-response bias the CRM can see (larger accounts and decision makers answer more, and answer higher);
it cannot remove bias that depends on the answer itself (the very happy and the very unhappy answering
more than the lukewarm), which no weighting on CRM data sees. The summary says so.

Weighting costs precision: Kish's effective n = (Σw)² / Σw² replaces n in the margin of error
1.96 * 100 * sqrt((p_P + p_D - (p_P - p_D)²) / n_eff), with p_P and p_D the weighted shares.

A cell with fewer than ``min_cell_respondents`` respondents borrows from its coarser cell (the size band
alone), and that from the whole group, so that no handful of answers carries a large weight.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

FINE_CELL = ("size_band", "contact_role")
COARSE_CELL = ("size_band",)
MIN_CELL_RESPONDENTS = 10
Z_95 = 1.96


def nps_with_margin(scores: np.ndarray, weights: np.ndarray | None = None) -> tuple[float, float, float]:
    """(NPS, 95% margin of error, effective n) of 0-10 scores, optionally weighted."""
    scores = np.asarray(scores, dtype=float)
    weights = np.ones_like(scores) if weights is None else np.asarray(weights, dtype=float)
    if scores.size == 0 or weights.sum() <= 0:
        return np.nan, np.nan, 0.0
    total = weights.sum()
    promoters = weights[scores >= 9].sum() / total
    detractors = weights[scores <= 6].sum() / total
    effective_n = total**2 / np.sum(weights**2)
    variance = promoters + detractors - (promoters - detractors) ** 2
    margin = Z_95 * 100.0 * np.sqrt(max(variance, 0.0) / effective_n)
    return 100.0 * (promoters - detractors), margin, effective_n


def _cell_labels(invitations: pd.DataFrame, min_cell_respondents: int) -> pd.Series:
    """Each invitation's weighting cell: fine where it has enough respondents, else coarse, else all."""

    def key(columns: tuple[str, ...]) -> pd.Series:
        return invitations[list(columns)].astype(str).agg("|".join, axis=1)

    responded = invitations["responded"].astype(bool)
    fine, coarse = key(FINE_CELL), key(COARSE_CELL)
    fine_counts = responded.groupby(fine).sum()
    label = fine.where(fine.map(fine_counts) >= min_cell_respondents, "coarse:" + coarse)
    label_counts = responded.groupby(label).sum()
    return label.where(label.map(label_counts) >= min_cell_respondents, "all")


def poststratification_weights(
    invitations: pd.DataFrame, min_cell_respondents: int = MIN_CELL_RESPONDENTS
) -> pd.Series:
    """Weights of the responding invitations (index of ``invitations`` where ``responded``), mean 1."""
    cells = _cell_labels(invitations, min_cell_respondents)
    responded = invitations["responded"].astype(bool)
    invited_share = cells.value_counts(normalize=True)
    respondent_share = cells[responded].value_counts(normalize=True)
    return (cells[responded].map(invited_share) / cells[responded].map(respondent_share)).astype(float)


def adjusted_nps(
    invitations: pd.DataFrame, group_columns: list[str], min_cell_respondents: int = MIN_CELL_RESPONDENTS
) -> pd.DataFrame:
    """Raw and adjusted NPS per group of invitations.

    ``invitations``: one row per relationship-survey invitation with ``responded`` (bool), ``nps_score``
    (0-10 where responded), the cell columns (``size_band``, ``contact_role``) and the group columns.
    """
    rows = []
    for group, part in invitations.groupby(group_columns, sort=True, dropna=False):
        group = group if isinstance(group, tuple) else (group,)
        answered = part[part["responded"].astype(bool)]
        raw, raw_margin, _ = nps_with_margin(answered["nps_score"].to_numpy())
        if len(answered):
            weights = poststratification_weights(part, min_cell_respondents)
            adjusted, margin, effective_n = nps_with_margin(answered["nps_score"].to_numpy(), weights.to_numpy())
            cells_used = int(_cell_labels(part, min_cell_respondents)[answered.index].nunique())
        else:
            adjusted, margin, effective_n, cells_used = np.nan, np.nan, 0.0, 0
        rows.append(
            {
                **dict(zip(group_columns, group, strict=True)),
                "invitations": len(part),
                "respondents": len(answered),
                "raw_nps": raw,
                "raw_nps_margin_of_error": raw_margin,
                "adjusted_nps": adjusted,
                "adjusted_nps_margin_of_error": margin,
                "effective_respondents": effective_n,
                "weighting_cells": cells_used,
            }
        )
    table = pd.DataFrame(rows)
    table["bias_statement"] = [bias_statement(r) for r in table.to_dict("records")]
    return table


def bias_statement(row: dict) -> str:
    """The summary in words: does weighting change the picture by more than the margin of error?"""
    raw, adjusted, margin = row["raw_nps"], row["adjusted_nps"], row["adjusted_nps_margin_of_error"]
    if any(pd.isna(v) for v in (raw, adjusted, margin)):
        return "Too few answers to adjust for who answered."
    difference = adjusted - raw
    weighted = (
        f"Weighted to the invited mix of size bands and roles, NPS is {adjusted:.0f} ± {margin:.0f} "
        f"(effective n {row['effective_respondents']:.0f} of {row['respondents']} answers) against a raw {raw:.0f}"
    )
    if abs(difference) > margin:
        direction = "overstates" if difference < 0 else "understates"
        verdict = (
            f": the raw figure {direction} NPS by {abs(difference):.0f} points, more than the margin of error, "
            "because some segments answer more readily than others"
        )
    else:
        verdict = ": the difference is within the margin of error"
    return (
        weighted
        + verdict
        + ". Bias from the happiest and unhappiest answering more than the lukewarm is not visible in CRM data "
        "and remains."
    )


ALL_SEGMENTS = 0  # segment_key of the "all segments" rows, as in mart_nps_summary
LAST_12_MONTHS = "Last 12 months"


def adjusted_nps_by_period(invitations: pd.DataFrame, min_cell_respondents: int = MIN_CELL_RESPONDENTS) -> pd.DataFrame:
    """Raw and adjusted NPS by quarter and over the last twelve months, for all segments and each one.

    ``invitations`` as read from ``int_relationship_invitations`` (``year_quarter``,
    ``is_in_last_12_months``, ``segment_key`` and the cell columns).
    """
    quarters = invitations.assign(period_type="quarter", period=invitations["year_quarter"])
    recent = invitations[invitations["is_in_last_12_months"].astype(bool)]
    recent = recent.assign(period_type="last_12_months", period=LAST_12_MONTHS)
    periods = pd.concat([quarters, recent], ignore_index=True)
    every_segment = pd.concat([periods.assign(segment_key=ALL_SEGMENTS), periods], ignore_index=True)
    table = adjusted_nps(every_segment, ["period_type", "period", "segment_key"], min_cell_respondents)
    table["segment_key"] = table["segment_key"].astype("int64")
    return table
