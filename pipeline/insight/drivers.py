"""Driver analysis: performance, importance and penalty-reward asymmetry of every ``driver_*`` rating.

- Performance: the mean rating (0-10).
- Importance for being a promoter rather than a passive: Johnson's relative weights (Johnson 2000), on
  the respondents who answered 7-10, with "promoter (9-10)" as the outcome. Relative weights split the
  model's R² into each driver's share even when the ratings are correlated (they are: a respondent's
  mood colours every rating), where regression coefficients would trade importance between correlated
  drivers. Chosen over Shapley/dominance analysis because it is exact, needs one eigen-decomposition
  instead of 2^k regressions, and agrees with dominance analysis to within rounding in practice.
- Penalty-reward analysis: the respondent's 0-10 recommendation score regressed on a "low (0-6)" and a
  "high (9-10)" dummy for every driver at once, against the middle (7-8); the low dummy's coefficient is
  the penalty, the high dummy's the reward, with heteroskedasticity-robust (HC1) 95% confidence
  intervals. The asymmetry index is (reward - |penalty|) / (reward + |penalty|).
- Class: an effect *matters* when it is at least ``materiality`` points and its confidence interval
  excludes zero. Penalty matters, reward does not: hygiene; reward only: differentiator; both:
  performance; neither: weak.
- With churn as the outcome (the account churned within six months of the answer): the same dummies in a
  linear probability model, and the share of leavers who had rated the driver high, so that
  "satisfied but left" is visible.

Figures on fewer than ``min_respondents`` respondents, or a penalty or reward on fewer than
``min_group`` low or high ratings, are withheld (null), never shown as if they meant something. Thin or
absent input (no answers, no driver ratings, no ``considering_alternatives`` or churn outcome) gives the same
columns and dtypes (:data:`DTYPES`, :data:`GAP_DTYPES`): fewer rows, or rows whose figures are null and whose
summary says why.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.rules import BusinessRules, current_rules

DRIVER_PREFIX = "driver_"
LOW_MAX, HIGH_MIN = 6, 9
RECOMMENDATION, CHURN = "recommendation", "churn_within_6m"
CLASSES = ("hygiene", "differentiator", "performance", "weak")
CONSIDERING, CHURNED = "considering_alternatives", "churned_within_6m"
# The dtype pandas gives a column of text ("str" from pandas 3, object before): the tables' text columns.
TEXT = pd.Series(["text"]).dtype

# The published table's columns, in order.
COLUMNS = [
    "scope_type",
    "scope",
    "outcome",
    "driver",
    "driver_label",
    "respondents",
    "performance",
    "importance_weight",
    "importance_share",
    "importance_r_squared",
    "low_ratings",
    "high_ratings",
    "penalty",
    "penalty_ci_low",
    "penalty_ci_high",
    "reward",
    "reward_ci_low",
    "reward_ci_high",
    "asymmetry_index",
    "driver_class",
    "leavers",
    "leavers_who_rated_high_share",
    "summary",
]
_COUNTS = ("respondents", "low_ratings", "high_ratings")
_TEXTS = ("scope_type", "scope", "outcome", "driver", "driver_label", "driver_class", "summary")
# leavers is a float: null on the recommendation rows, as in every run.
DTYPES = {c: TEXT if c in _TEXTS else "int64" if c in _COUNTS else "float64" for c in COLUMNS}

# The competitor driver gaps' columns, in order, and their dtypes.
GAP_COLUMNS = [
    "driver",
    "driver_label",
    "considering_respondents",
    "other_respondents",
    "considering_mean_rating",
    "other_mean_rating",
    "rating_gap",
    "rating_gap_ci_low",
    "rating_gap_ci_high",
    "standardised_gap",
    "gap_rank",
    "summary",
]
GAP_DTYPES = {
    **dict.fromkeys(GAP_COLUMNS, "float64"),
    "driver": TEXT,
    "driver_label": TEXT,
    "considering_respondents": "int64",
    "other_respondents": "int64",
    "gap_rank": "Int64",
    "summary": TEXT,
}
# The gaps' one row when no driver was rated at all: the asset reports the largest considering count (which
# fails on no rows) and the mart's driver may not be null.
NO_DRIVERS, NO_DRIVERS_LABEL = "(none)", "No driver ratings"


def typed(table: pd.DataFrame, dtypes: dict[str, object]) -> pd.DataFrame:
    """``table`` with exactly these columns and dtypes: an empty or all-null column has no dtype of its own."""
    return table.reindex(columns=list(dtypes)).astype(dtypes)


def with_optional_answers(respondents: pd.DataFrame) -> pd.DataFrame:
    """The optional answers an export may leave out (considering another supplier, the churn outcome) as nulls."""
    missing = [c for c in (CONSIDERING, CHURNED) if c not in respondents]
    return respondents.assign(**dict.fromkeys(missing, np.nan)) if missing else respondents


@dataclass(frozen=True)
class DriverConfig:
    min_respondents: int = 100  # a regression of twelve dummies needs at least this many answers
    min_group: int = 10  # low or high ratings needed before a penalty or reward is shown
    materiality: float = 0.5  # points on the 0-10 answer an effect needs to count
    churn_materiality: float = 0.02  # change in the six-month churn rate an effect needs to count
    confidence: float = 0.95
    # The NPS classes and the "considering another supplier" threshold; None = the rules in force.
    rules: BusinessRules | None = None

    def business_rules(self) -> BusinessRules:
        return self.rules or current_rules()


def driver_columns(frame: pd.DataFrame) -> list[str]:
    """Every ``driver_*`` column present: the set is not fixed."""
    return sorted(c for c in frame.columns if c.startswith(DRIVER_PREFIX))


def driver_label(column: str) -> str:
    """``driver_price_value`` -> ``Price value``."""
    words = column.removeprefix(DRIVER_PREFIX).replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def relative_weights(predictors: np.ndarray, outcome: np.ndarray) -> tuple[np.ndarray, float]:
    """Johnson's relative weights of each predictor column and the model's R².

    With R the predictors' correlation matrix, R = V diag(λ) Vᵀ, Λ = V diag(√λ) Vᵀ (the predictors'
    loadings on their closest orthogonal counterparts), β = Λ⁻¹ r_xy (the outcome on the counterparts);
    the weight of predictor j is Σ_k Λ_jk² β_k². The weights add up to R².
    """
    x = np.asarray(predictors, dtype=float)
    y = np.asarray(outcome, dtype=float)
    correlation = np.corrcoef(np.column_stack([x, y]), rowvar=False)
    r_xx, r_xy = correlation[:-1, :-1], correlation[:-1, -1]
    eigenvalues, eigenvectors = np.linalg.eigh(r_xx)
    loadings = eigenvectors @ np.diag(np.sqrt(np.clip(eigenvalues, 0.0, None))) @ eigenvectors.T
    beta = np.linalg.solve(loadings, r_xy)
    weights = (loadings**2) @ (beta**2)
    return weights, float(weights.sum())


def _dummies(ratings: pd.DataFrame) -> pd.DataFrame:
    columns = {}
    for driver in ratings.columns:
        columns[f"{driver}__low"] = (ratings[driver] <= LOW_MAX).astype(float)
        columns[f"{driver}__high"] = (ratings[driver] >= HIGH_MIN).astype(float)
    return pd.DataFrame(columns, index=ratings.index)


def penalty_reward(ratings: pd.DataFrame, outcome: pd.Series, confidence: float = 0.95) -> pd.DataFrame:
    """Per driver: penalty and reward with confidence intervals, and how many low and high ratings.

    ``ratings`` holds complete cases (no missing rating); ``outcome`` is the 0-10 answer or a 0/1 churn flag.
    """
    import statsmodels.api as sm  # imported here: the assets module (loaded often by Dagster) imports this one

    dummies = _dummies(ratings)
    # A dummy that never varies (nobody rated the driver low) cannot be estimated: leave it out.
    usable = [c for c in dummies.columns if 0 < dummies[c].sum() < len(dummies)]
    design = sm.add_constant(dummies[usable], has_constant="add")
    fit = sm.OLS(outcome.astype(float).to_numpy(), design).fit(cov_type="HC1")
    intervals = fit.conf_int(alpha=1 - confidence)
    rows = []
    for driver in ratings.columns:
        row = {"driver": driver}
        for side, name in (("low", "penalty"), ("high", "reward")):
            column = f"{driver}__{side}"
            row[f"{side}_ratings"] = int(dummies[column].sum())
            known = column in usable
            row[name] = float(fit.params[column]) if known else np.nan
            row[f"{name}_ci_low"] = float(intervals.loc[column, 0]) if known else np.nan
            row[f"{name}_ci_high"] = float(intervals.loc[column, 1]) if known else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def asymmetry_index(penalty: float, reward: float) -> float:
    """(r - |p|) / (r + |p|): -1 pure hygiene, +1 pure differentiator; NaN when both are zero."""
    denominator = reward + abs(penalty)
    return (reward - abs(penalty)) / denominator if denominator > 0 else np.nan


def classify(row: pd.Series | dict, materiality: float) -> str | None:
    """hygiene / differentiator / performance / weak from the penalty and reward and their intervals."""
    if any(pd.isna(row[k]) for k in ("penalty", "reward", "penalty_ci_high", "reward_ci_low")):
        return None
    low_matters = row["penalty"] <= -materiality and row["penalty_ci_high"] < 0
    high_matters = row["reward"] >= materiality and row["reward_ci_low"] > 0
    return {
        (True, False): "hygiene",
        (False, True): "differentiator",
        (True, True): "performance",
        (False, False): "weak",
    }[(low_matters, high_matters)]


_CLASS_WORDS = {
    "hygiene": "is a hygiene factor",
    "differentiator": "is a differentiator",
    "performance": "is a performance driver",
    "weak": "is a weak driver",
}
_CLASS_ADVICE = {
    "hygiene": "fixing it stops complaints but does not earn loyalty",
    "differentiator": "excelling here makes customers recommend us",
    "performance": "both a low and a high rating move the recommendation",
    "weak": "it hardly moves the recommendation either way",
}


def recommendation_sentence(label: str, row: dict) -> str:
    if row["driver_class"] is None:
        return f"{label}: too few answers ({row['respondents']}) to tell."
    return (
        f"{label} {_CLASS_WORDS[row['driver_class']]}: a low rating (0-6) costs {abs(row['penalty']):.1f} points "
        f"of the 0-10 recommendation, a high rating (9-10) adds {row['reward']:.1f}; "
        f"{_CLASS_ADVICE[row['driver_class']]}."
    )


def churn_sentence(label: str, row: dict) -> str:
    if pd.isna(row["penalty"]) or pd.isna(row["reward"]):
        return f"{label}: too few answers with a known outcome ({row['respondents']}) to tell."
    parts = [
        f"{label}: a low rating goes with a six-month churn rate {100 * row['penalty']:+.1f} points, "
        f"a high rating {100 * row['reward']:+.1f} points, against a middle rating"
    ]
    if row["leavers"] and not pd.isna(row["leavers_who_rated_high_share"]):
        parts.append(
            f"; {100 * row['leavers_who_rated_high_share']:.0f}% of the {row['leavers']} leavers had rated it 9-10 "
            "(satisfied but left)"
        )
    return "".join(parts) + "."


def _analyse_scope(frame: pd.DataFrame, drivers: list[str], config: DriverConfig) -> list[dict]:
    complete = frame.dropna(subset=drivers)
    rows: list[dict] = []
    n = len(complete)
    enough = n >= config.min_respondents and len(drivers) > 0
    # Importance for promoter rather than passive (answers from the passive score up).
    rules = config.business_rules()
    weights = dict.fromkeys(drivers, np.nan)
    r_squared = np.nan
    upper = complete[complete["nps_score"] >= rules.nps_passive_min_score]
    if enough and len(upper) >= config.min_respondents:
        promoter = (upper["nps_score"] >= rules.nps_promoter_min_score).astype(float)
        # A driver everyone rated alike has no correlation to split: no weights then (null).
        if 0 < promoter.sum() < len(promoter) and (upper[drivers].nunique() > 1).all():
            try:
                values, r_squared = relative_weights(upper[drivers].to_numpy(float), promoter.to_numpy())
                weights = dict(zip(drivers, values, strict=True))
            except np.linalg.LinAlgError:
                r_squared = np.nan
    effects = (
        penalty_reward(complete[drivers], complete["nps_score"], config.confidence).set_index("driver")
        if enough
        else None
    )
    for driver in drivers:
        row = _base_row(complete, driver, n)
        row.update(outcome=RECOMMENDATION, importance_weight=weights[driver], importance_r_squared=r_squared)
        row["importance_share"] = weights[driver] / r_squared if r_squared and r_squared > 0 else np.nan
        _fill_effects(row, effects, driver, config)
        row["driver_class"] = classify(row, config.materiality) if enough else None
        row["summary"] = recommendation_sentence(driver_label(driver), row)
        rows.append(row)

    # The same drivers against what the account did next: churn within six months of the answer.
    known = complete[complete["churned_within_6m"].notna()]
    churn_effects = None
    if drivers and len(known) >= config.min_respondents and 0 < known["churned_within_6m"].sum() < len(known):
        churn_effects = penalty_reward(
            known[drivers], known["churned_within_6m"].astype(float), config.confidence
        ).set_index("driver")
    leavers = known[known["churned_within_6m"] == 1]
    for driver in drivers:
        row = _base_row(known, driver, len(known))
        row.update(outcome=CHURN, importance_weight=np.nan, importance_share=np.nan, importance_r_squared=np.nan)
        _fill_effects(row, churn_effects, driver, config)
        row["driver_class"] = None
        row["leavers"] = len(leavers)
        row["leavers_who_rated_high_share"] = (
            float((leavers[driver] >= HIGH_MIN).mean()) if len(leavers) >= config.min_group else np.nan
        )
        row["summary"] = churn_sentence(driver_label(driver), row)
        rows.append(row)
    return rows


def _base_row(frame: pd.DataFrame, driver: str, n: int) -> dict:
    return {
        "driver": driver,
        "driver_label": driver_label(driver),
        "respondents": int(n),
        "performance": float(frame[driver].mean()) if n else np.nan,
        "low_ratings": int((frame[driver] <= LOW_MAX).sum()),
        "high_ratings": int((frame[driver] >= HIGH_MIN).sum()),
        "leavers": None,
        "leavers_who_rated_high_share": np.nan,
    }


def _fill_effects(row: dict, effects: pd.DataFrame | None, driver: str, config: DriverConfig) -> None:
    for side, name in (("low", "penalty"), ("high", "reward")):
        shown = effects is not None and row[f"{side}_ratings"] >= config.min_group
        for suffix in ("", "_ci_low", "_ci_high"):
            row[f"{name}{suffix}"] = (
                float(effects.loc[driver, f"{name}{suffix}"]) if shown and effects is not None else np.nan
            )
    row["asymmetry_index"] = (
        asymmetry_index(row["penalty"], row["reward"])
        if not (pd.isna(row["penalty"]) or pd.isna(row["reward"]))
        else np.nan
    )


def analyse_drivers(respondents: pd.DataFrame, config: DriverConfig = DriverConfig()) -> pd.DataFrame:
    """The driver analysis overall, by survey wave and by segment.

    ``respondents``: one row per relationship-survey response with ``survey_id`` (the wave),
    ``segment`` (e.g. the size band), ``nps_score`` (0-10), ``churned_within_6m`` (0/1, null while not yet
    known) and one column per ``driver_*`` rating (null where not asked or skipped).
    """
    respondents = with_optional_answers(respondents)
    drivers = driver_columns(respondents)
    scopes: list[tuple[str, str, pd.DataFrame]] = [("overall", "All respondents", respondents)]
    scopes += [("wave", str(w), part) for w, part in respondents.groupby("survey_id", sort=True)]
    scopes += [("segment", str(s), part) for s, part in respondents.groupby("segment", sort=True)]
    rows = []
    for scope_type, scope, part in scopes:
        # Drivers nobody in this scope was asked about are left out of its model.
        present = [d for d in drivers if part[d].notna().any()]
        for row in _analyse_scope(part, present, config):
            rows.append({"scope_type": scope_type, "scope": scope, **row})
    table = pd.DataFrame(rows, columns=COLUMNS)
    # Withhold everything but the counts below the minimum n (the sentence says why).
    thin = table["respondents"] < config.min_respondents
    for column in ("performance", "importance_weight", "importance_share", "importance_r_squared"):
        table.loc[thin, column] = np.nan
    # No driver rated in any scope: no rows, with the columns and dtypes of every run.
    return typed(table, DTYPES)


def competitor_driver_gaps(respondents: pd.DataFrame, config: DriverConfig = DriverConfig()) -> pd.DataFrame:
    """Which drivers separate respondents who are considering another supplier (at least the rule
    ``considering_alternatives_threshold``, 7 by default, on ``considering_alternatives``) from those who
    are not: mean rating of each group, the gap with a
    Welch 95% interval, and the standardised gap (Cohen's d) to rank drivers on one scale.

    One row per driver; with no driver rated at all, one row (:data:`NO_DRIVERS`) whose summary says so."""
    from scipy import stats

    respondents = with_optional_answers(respondents)
    known = respondents[respondents[CONSIDERING].notna()]
    considering = known[CONSIDERING] >= config.business_rules().considering_alternatives_threshold
    rows = []
    for driver in driver_columns(respondents):
        a = known.loc[considering, driver].dropna().astype(float)
        b = known.loc[~considering, driver].dropna().astype(float)
        row = {
            "driver": driver,
            "driver_label": driver_label(driver),
            "considering_respondents": len(a),
            "other_respondents": len(b),
        }
        if len(a) >= config.min_group and len(b) >= config.min_group:
            gap = a.mean() - b.mean()
            se = np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
            half = np.nan  # everyone in each group gave the same rating: a gap without an interval
            if se > 0:
                dof = se**4 / (
                    (a.var(ddof=1) / len(a)) ** 2 / (len(a) - 1) + (b.var(ddof=1) / len(b)) ** 2 / (len(b) - 1)
                )
                half = stats.t.ppf(0.5 + config.confidence / 2, dof) * se
            pooled = np.sqrt(((len(a) - 1) * a.var(ddof=1) + (len(b) - 1) * b.var(ddof=1)) / (len(a) + len(b) - 2))
            row.update(
                considering_mean_rating=a.mean(),
                other_mean_rating=b.mean(),
                rating_gap=gap,
                rating_gap_ci_low=gap - half,
                rating_gap_ci_high=gap + half,
                standardised_gap=gap / pooled if pooled > 0 else np.nan,
            )
        rows.append(row)
    if not rows:
        rows.append(
            {
                "driver": NO_DRIVERS,
                "driver_label": NO_DRIVERS_LABEL,
                "considering_respondents": 0,
                "other_respondents": 0,
            }
        )
    table = pd.DataFrame(rows)
    for column in (
        "considering_mean_rating",
        "other_mean_rating",
        "rating_gap",
        "rating_gap_ci_low",
        "rating_gap_ci_high",
        "standardised_gap",
    ):
        if column not in table:
            table[column] = np.nan
    table["gap_rank"] = table["standardised_gap"].rank(method="first").astype("Int64")
    table["summary"] = [
        (
            f"{r.driver_label}: those considering another supplier rate it {r.considering_mean_rating:.1f}, "
            f"the others {r.other_mean_rating:.1f} (gap {r.rating_gap:+.1f}, 95% CI {r.rating_gap_ci_low:+.1f} "
            f"to {r.rating_gap_ci_high:+.1f})."
        )
        if not (pd.isna(r.rating_gap) or pd.isna(r.rating_gap_ci_low))
        else _withheld_gap_sentence(r, respondents, considering)
        for r in table.itertuples()
    ]
    return typed(table, GAP_DTYPES)


def _withheld_gap_sentence(r, respondents: pd.DataFrame, considering: pd.Series) -> str:
    """The sentence of a driver whose gap is not shown, saying why (``considering``: one flag per
    respondent who answered the question)."""
    if r.driver == NO_DRIVERS:
        return (
            f"No driver ratings among the {len(respondents)} survey answers ({int(considering.sum())} considering "
            "another supplier): nothing to compare."
        )
    if considering.empty:
        return f"{r.driver_label}: nobody answered whether they consider another supplier: nothing to compare."
    if not pd.isna(r.rating_gap):
        return (
            f"{r.driver_label}: those considering another supplier rate it {r.considering_mean_rating:.1f}, "
            f"the others {r.other_mean_rating:.1f} (gap {r.rating_gap:+.1f}; every answer in each group the same, "
            "so no interval)."
        )
    return f"{r.driver_label}: too few answers to compare."
