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

A group invited but without answers keeps its row, its figures null and its statement saying so; no
invitations at all give no rows, with the columns and dtypes of every run (:data:`DTYPES`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.rules import BusinessRules, current_rules

FINE_CELL = ("size_band", "contact_role")
COARSE_CELL = ("size_band",)
MIN_CELL_RESPONDENTS = 10
Z_95 = 1.96
# The dtype pandas gives a column of text ("str" from pandas 3, object before).
TEXT = pd.Series(["text"]).dtype


def nps_with_margin(
    scores: np.ndarray, weights: np.ndarray | None = None, rules: BusinessRules | None = None
) -> tuple[float, float, float]:
    """(NPS, 95% margin of error, effective n) of 0-10 scores, optionally weighted; the NPS classes are
    the business rules' (vars nps_promoter_min_score, nps_passive_min_score)."""
    rules = rules or current_rules()
    scores = np.asarray(scores, dtype=float)
    weights = np.ones_like(scores) if weights is None else np.asarray(weights, dtype=float)
    if scores.size == 0 or weights.sum() <= 0:
        return np.nan, np.nan, 0.0
    total = weights.sum()
    promoters = weights[scores >= rules.nps_promoter_min_score].sum() / total
    detractors = weights[scores < rules.nps_passive_min_score].sum() / total
    effective_n = total**2 / np.sum(weights**2)
    variance = promoters + detractors - (promoters - detractors) ** 2
    margin = Z_95 * 100.0 * np.sqrt(max(variance, 0.0) / effective_n)
    return 100.0 * (promoters - detractors), margin, effective_n


def _cell_labels(invitations: pd.DataFrame, min_cell_respondents: int) -> pd.Series:
    """Each invitation's weighting cell: fine where it has enough respondents, else coarse, else all.

    The row-level definition; :func:`adjusted_nps` applies the same rule to cell counts."""
    responded = invitations["responded"].astype(bool)
    fine = invitations["size_band"].astype(str) + "|" + invitations["contact_role"].astype(str)
    coarse = "coarse:" + invitations["size_band"].astype(str)
    fine_counts = responded.groupby(fine).sum()
    label = fine.where(fine.map(fine_counts) >= min_cell_respondents, coarse)
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


CELL_COUNTS = ["invitations", "respondents", "promoters", "detractors"]


def cell_counts(
    invitations: pd.DataFrame, group_columns: list[str], rules: BusinessRules | None = None
) -> pd.DataFrame:
    """Invitations, respondents, promoters and detractors per group and fine cell (size band x role).

    Everything the weighting needs: every respondent of a cell gets the same weight, so the weighted NPS
    and Kish's effective n follow from these counts (hundreds of rows instead of millions of invitations).
    """
    rules = rules or current_rules()
    responded = invitations["responded"].astype(bool).to_numpy()
    score = pd.to_numeric(invitations["nps_score"]).astype(float).to_numpy()
    keys = [*group_columns, *FINE_CELL]
    counts = invitations[keys].assign(
        invitations=1,
        respondents=responded.astype("int64"),
        promoters=(responded & (score >= rules.nps_promoter_min_score)).astype("int64"),
        detractors=(responded & (score < rules.nps_passive_min_score)).astype("int64"),
    )
    return counts.groupby(keys, sort=True, dropna=False)[CELL_COUNTS].sum().reset_index()


def _weighted_nps(cells: pd.DataFrame, min_cell_respondents: int) -> pd.DataFrame:
    """Per group (column ``group_number``): adjusted NPS, margin, effective n and cells used,
    from fine-cell counts (one row per group and fine cell). The cell rule is :func:`_cell_labels`'; the
    weight of a respondent in cell c is (invited_c / invited) / (respondents_c / respondents)."""
    cells = cells.copy()
    fine = cells["size_band"].astype(str) + "|" + cells["contact_role"].astype(str)
    coarse = "coarse:" + cells["size_band"].astype(str)
    cells["label"] = fine.where(cells["respondents"] >= min_cell_respondents, coarse)
    label_respondents = cells.groupby(["group_number", "label"])["respondents"].transform("sum")
    cells["label"] = cells["label"].where(label_respondents >= min_cell_respondents, "all")
    labels = cells.groupby(["group_number", "label"], sort=False)[CELL_COUNTS].sum().reset_index()
    totals = labels.groupby("group_number")[["invitations", "respondents"]].transform("sum")
    answered = labels["respondents"] > 0
    weight = (labels["invitations"] / totals["invitations"]) / (labels["respondents"] / totals["respondents"])
    weight = weight.where(answered, 0.0)
    labels = labels.assign(
        sum_w=labels["respondents"] * weight,
        sum_w2=labels["respondents"] * weight**2,
        promoter_w=labels["promoters"] * weight,
        detractor_w=labels["detractors"] * weight,
        cell_used=answered.astype("int64"),
    )
    weighted_sums = ["sum_w", "sum_w2", "promoter_w", "detractor_w", "cell_used"]
    sums = labels.groupby("group_number", sort=False)[weighted_sums].sum()
    promoters = sums["promoter_w"] / sums["sum_w"]
    detractors = sums["detractor_w"] / sums["sum_w"]
    effective_n = (sums["sum_w"] ** 2 / sums["sum_w2"]).where(sums["sum_w"] > 0, 0.0)
    variance = (promoters + detractors - (promoters - detractors) ** 2).clip(lower=0.0)
    return pd.DataFrame(
        {
            "adjusted_nps": 100.0 * (promoters - detractors),
            "adjusted_nps_margin_of_error": Z_95 * 100.0 * np.sqrt(variance / effective_n),
            "effective_respondents": effective_n,
            "weighting_cells": sums["cell_used"].astype("int64"),
        }
    )


def adjusted_nps(
    invitations: pd.DataFrame,
    group_columns: list[str],
    min_cell_respondents: int = MIN_CELL_RESPONDENTS,
    rules: BusinessRules | None = None,
) -> pd.DataFrame:
    """Raw and adjusted NPS per group of invitations.

    ``invitations``: one row per relationship-survey invitation with ``responded`` (bool), ``nps_score``
    (0-10 where responded), the cell columns (``size_band``, ``contact_role``) and the group columns.
    """
    return adjusted_nps_from_cells(cell_counts(invitations, group_columns, rules), group_columns, min_cell_respondents)


def adjusted_nps_from_cells(
    cells: pd.DataFrame, group_columns: list[str], min_cell_respondents: int = MIN_CELL_RESPONDENTS
) -> pd.DataFrame:
    """:func:`adjusted_nps` on counts per group and fine cell (as from :func:`cell_counts`; rows of the
    same group and cell are added up first)."""
    keys = [*group_columns, *FINE_CELL]
    cells = cells.groupby(keys, sort=True, dropna=False)[CELL_COUNTS].sum().reset_index()
    groups = cells.groupby(group_columns, sort=True, dropna=False)[CELL_COUNTS].sum()
    respondents = groups["respondents"]
    promoters, detractors = groups["promoters"] / respondents, groups["detractors"] / respondents
    raw_variance = (promoters + detractors - (promoters - detractors) ** 2).clip(lower=0.0)
    table = pd.DataFrame(
        {
            "invitations": groups["invitations"].astype("int64"),
            "respondents": respondents.astype("int64"),
            "raw_nps": 100.0 * (promoters - detractors),
            "raw_nps_margin_of_error": Z_95 * 100.0 * np.sqrt(raw_variance / respondents),
        }
    ).reset_index()
    # Group numbers in the order of ``groups`` (sorted, missing keys last), so the rows line up.
    cells["group_number"] = cells.groupby(group_columns, sort=True, dropna=False).ngroup()
    weighted = _weighted_nps(cells, min_cell_respondents).reindex(range(len(table)))
    for column in weighted.columns:
        table[column] = weighted[column].to_numpy()
    unanswered = table["respondents"] == 0
    figures = ["raw_nps", "raw_nps_margin_of_error", "adjusted_nps", "adjusted_nps_margin_of_error"]
    table.loc[unanswered, figures] = np.nan
    table.loc[unanswered, "effective_respondents"] = 0.0
    table.loc[unanswered, "weighting_cells"] = 0
    table["weighting_cells"] = table["weighting_cells"].astype("int64")
    # Typed even with no groups (an empty list would make it a float column).
    statements = [bias_statement(r) for r in table.to_dict("records")]
    table["bias_statement"] = pd.Series(statements, index=table.index, dtype=TEXT)
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
# The by-period table's columns, in order, and their dtypes.
DTYPES = {
    "period_type": TEXT,
    "period": TEXT,
    "segment_key": "int64",
    "invitations": "int64",
    "respondents": "int64",
    "raw_nps": "float64",
    "raw_nps_margin_of_error": "float64",
    "adjusted_nps": "float64",
    "adjusted_nps_margin_of_error": "float64",
    "effective_respondents": "float64",
    "weighting_cells": "int64",
    "bias_statement": TEXT,
}
COLUMNS = list(DTYPES)


def adjusted_nps_by_period(
    invitations: pd.DataFrame, min_cell_respondents: int = MIN_CELL_RESPONDENTS, rules: BusinessRules | None = None
) -> pd.DataFrame:
    """Raw and adjusted NPS by quarter and over the last twelve months, for all segments and each one.

    ``invitations`` as read from ``int_relationship_invitations`` (``year_quarter``,
    ``is_in_last_12_months``, ``segment_key`` and the cell columns).
    """
    cells = cell_counts(invitations, ["year_quarter", "is_in_last_12_months", "segment_key"], rules)
    quarters = cells.assign(period_type="quarter", period=cells["year_quarter"])
    recent = cells[cells["is_in_last_12_months"].astype(bool)]
    recent = recent.assign(period_type="last_12_months", period=LAST_12_MONTHS)
    periods = pd.concat([quarters, recent], ignore_index=True)
    every_segment = pd.concat([periods.assign(segment_key=ALL_SEGMENTS), periods], ignore_index=True)
    table = adjusted_nps_from_cells(every_segment, ["period_type", "period", "segment_key"], min_cell_respondents)
    table["segment_key"] = table["segment_key"].astype("int64")
    # No invitations: no rows, typed as in every run (the period columns of an empty warehouse are untyped).
    return table[COLUMNS].astype(DTYPES)
