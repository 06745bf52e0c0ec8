"""Per-account attribution of the churn score, and the reasons in business words.

The calibrated model is ``p = sigmoid(-(a * f(x) + b))``: Platt scaling of the fitted pipeline's log-odds
``f``. The calibrated log-odds are therefore an affine function of ``f``, and Shapley values of ``f``
times ``-a`` are exact Shapley values of the calibrated log-odds (they sum to ``logit(p)`` minus the
average logit of the reference rows):

- logistic regression: ``f`` is linear in the prepared columns, so the (interventional) Shapley value of
  a column is ``coef * (z - mean z over the reference rows)``, exact and cheap;
- gradient boosting: TreeSHAP (``shap.TreeExplainer``, path-dependent: exact Shapley values of the
  trees' own conditional expectations, additive to the raw log-odds; the interventional variant was ~20x
  slower for the same reasons on our data);
- the mean of both (``training.LogOddsAverage``): the mean of the two, since Shapley values are linear in
  the model.

Prepared columns are summed back to the inputs they come from (one-hot levels to their category, missing
indicators to their feature), and inputs to the reason they stand for. Reasons with a positive share
(pushing risk up) are worded from the account's own figures.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from pipeline.churn.features import CATEGORICAL_FEATURES
from pipeline.churn.training import LogOddsAverage

# Which reason each model input stands for.
REASON_OF_INPUT: dict[str, str] = {
    "log_activities_per_month_3m": "engagement",
    "log_activities_per_month_12m": "engagement",
    "log_meetings_per_month_3m": "meetings",
    "log_meetings_per_month_12m": "meetings",
    "log_meeting_share_12m": "meetings",
    "log_days_since_last_meeting": "meetings",
    "revenue_1m_vs_12m": "revenue_trend",
    "revenue_3m_vs_12m": "revenue_trend",
    "revenue_trend_yoy": "revenue_trend",
    "revenue_trend_3m": "revenue_trend",
    "months_since_last_invoice": "invoicing",
    "late_payment_share_12m": "payments",
    "late_payment_share_3m": "payments",
    "late_payments_per_month_12m": "payments",
    "nps_latest": "voice",
    "nps_change": "voice",
    "recommend_score_latest": "voice",
    "surveyed_12m": "voice",
    "considering_alternatives_latest": "competition",
    "named_preferred_competitor": "competition",
    "has_known_competitor": "competition",
}
# Everything else (industry, size, country, tenure, revenue level, margin, share of wallet) is the profile.
PROFILE = "profile"


def _source_input(column: str, inputs: list[str]) -> str:
    """The model input a prepared column comes from."""
    if column.startswith("missingindicator_"):
        return column.removeprefix("missingindicator_")
    if column in inputs:
        return column
    for category in CATEGORICAL_FEATURES:
        if column.startswith(category + "_"):
            return category
    return column


def calibrated_logit_slope(model: CalibratedClassifierCV) -> float:
    """d logit(p) / d f for the Platt-scaled model (p = 1 / (1 + exp(a f + b)))."""
    calibrator = model.calibrated_classifiers_[0].calibrators[0]
    return -float(calibrator.a_)


def input_contributions(model: CalibratedClassifierCV, frame: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """Contributions of each model input to each row's calibrated log-odds, one column per input."""
    fitted = model.calibrated_classifiers_[0].estimator.estimator  # FrozenEstimator -> fitted model
    if isinstance(fitted, LogOddsAverage):
        # Shapley values are linear in the model: those of a mean of log-odds are the mean of the members'.
        parts = [_pipeline_contributions(member, frame, reference) for _, member in fitted.members_]
        by_input = sum(parts[1:], parts[0]) / len(parts)
    else:
        by_input = _pipeline_contributions(fitted, frame, reference)
    return by_input * calibrated_logit_slope(model)


def _pipeline_contributions(pipeline: Pipeline, frame: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """Shapley values of one fitted pipeline's (uncalibrated) log-odds, summed to its inputs."""
    derive, prepare, estimator = (pipeline.named_steps[s] for s in ("inputs", "prepare", "model"))
    prepared = prepare.transform(derive.transform(frame))
    names = list(prepare.get_feature_names_out())
    if isinstance(estimator, LogisticRegression):
        values = (
            np.asarray(prepared) - np.asarray(prepare.transform(derive.transform(reference))).mean(axis=0)
        ) * estimator.coef_[0]
    else:
        import shap  # imported here: it is slow to import and only scoring needs it

        explainer = shap.TreeExplainer(estimator, feature_perturbation="tree_path_dependent", model_output="raw")
        values = explainer.shap_values(np.asarray(prepared, dtype=float), check_additivity=False)
        values = values[1] if isinstance(values, list) else values
    inputs = list(derive.transform(frame.head(1)).columns)
    by_input = pd.DataFrame(np.asarray(values, dtype=float), columns=names, index=frame.index)
    return by_input.T.groupby(lambda c: _source_input(c, inputs)).sum().T.reindex(columns=inputs, fill_value=0.0)


def reason_contributions(contributions: pd.DataFrame) -> pd.DataFrame:
    """Input contributions summed by reason."""
    return contributions.T.groupby(lambda c: REASON_OF_INPUT.get(c, PROFILE)).sum().T


def _pct(value: float) -> str:
    return f"{abs(value) * 100:.0f}%"


def word_reason(reason: str, row: pd.Series) -> str | None:
    """One reason in business words, from the account's own figures (None when the account's figures do
    not read as a risk in words, for example a top NPS answer: the next reason is used instead)."""
    if reason == "engagement":
        return f"{int(row['activities_3m'])} sales activities in the last 3 months ({int(row['activities_12m'])} in 12)"
    if reason == "meetings":
        days = row["days_since_last_meeting"]
        return "no meeting on record" if pd.isna(days) else f"no meeting in {int(days)} days"
    if reason == "revenue_trend":
        yoy, recent = row["revenue_trend_yoy"], row["revenue_trend_3m"]
        # The model reads the recent months first (revenue of the last one and three months against the year).
        if not pd.isna(recent) and recent < 0:
            return f"revenue down {_pct(recent)} on the previous three months"
        if not pd.isna(yoy) and yoy < 0:
            return f"revenue down {_pct(yoy)} year on year"
        return None
    if reason == "invoicing":
        months = row["months_since_last_invoice"]
        return "no invoice on record" if pd.isna(months) else f"no invoice for {int(months)} months"
    if reason == "payments":
        share = row["late_payment_share_12m"]
        late = int(row["late_payments_12m"])
        return f"{late} invoice{'s' if late != 1 else ''} paid late in 12 months" + (
            "" if pd.isna(share) else f" ({_pct(share)} of those due)"
        )
    if reason == "voice":
        latest, previous = row["recommend_score_latest"], row["recommend_score_previous"]
        if pd.isna(latest):
            return "no survey answer in the last 12 months" if row["respondents_12m"] == 0 else "no NPS answer"
        if not pd.isna(previous) and round(previous) > round(latest):
            return f"NPS fell from {previous:.0f} to {latest:.0f}"
        return f"latest NPS answer {latest:.0f} of 10" if latest < 7 else None
    if reason == "competition":
        if row["named_preferred_competitor"]:
            return "named a preferred competitor in the survey"
        alternatives = row["considering_alternatives_latest"]
        if not pd.isna(alternatives) and alternatives >= 5:
            return f"considering alternatives ({alternatives:.0f} of 10)"
        if row["has_known_competitor"]:
            return "a competitor is active at the account (CRM)"
        return None
    return (
        f"profile: {row['size_band'].split(' ')[0].lower()} {row['industry']} account in {row['country_code']} "
        "(a higher churn rate than the average)"
    )


# A reason must raise the account's log-odds by at least this much (about 5% more risk) to be named.
MIN_CONTRIBUTION = 0.05


def top_reasons(frame: pd.DataFrame, by_reason: pd.DataFrame, count: int = 3) -> list[list[str]]:
    """The ``count`` reasons pushing each account's risk up the most, worded (fewer if fewer push up)."""
    values = by_reason.to_numpy()
    names = np.asarray(by_reason.columns)
    order = np.argsort(-values, axis=1, kind="stable")
    worded = []
    for position, row in enumerate(frame.to_dict("records")):
        reasons: list[str] = []
        for j in order[position]:
            if len(reasons) == count or values[position, j] < MIN_CONTRIBUTION:
                break
            text = word_reason(names[j], pd.Series(row))
            if text is not None:
                reasons.append(text)
        worded.append(reasons)
    return worded
