"""Behavioural and needs segments of the active accounts (issue 22, item 4).

Features, one row per active account (``intermediate.int_account_segment_features``, trailing twelve months):

- spend level: log of the TTM revenue;
- spend trend: log of TTM revenue over the twelve months before (clipped to +-1.5; 0 without a prior year);
- contact: log(1 + CRM activities a month);
- product breadth: the effective number of product lines bought (1 / Herfindahl of revenue by line);
- order rhythm: log of invoices a month;
- needs (driver priority), when the company has a survey with driver ratings: for each driver, the account's
  mean rating over its relationship answers of the last 24 months minus its own mean over all drivers (what
  it rates low or high *relative to itself*), shrunk towards 0 by n / (n + 2) answers; missing for accounts
  without an answer, which are then placed by their behaviour alone (the mixture's likelihood leaves out
  what is missing: no imputed value, which would pile the unsurveyed accounts into a segment of their own).

Each feature is standardised (mean 0, standard deviation 1 over the active accounts that have it); a
feature without spread is left out. Method: a Gaussian mixture with diagonal covariances fitted by EM with
missing values marginalised out (:func:`fit_mixture`; k-means starts with a fixed seed, the best of
:data:`N_INIT`; variances floored at :data:`VARIANCE_FLOOR` so that a pile of equal values, e.g. accounts
buying exactly one product line, cannot become a segment by itself), the number of segments chosen by the
lowest BIC over ``segment_candidates_min..max`` among the fits whose every segment holds at least
``segment_min_share`` of the accounts. Each account goes to its most likely segment. Above
``SegmentConfig.fit_max_accounts`` active accounts the mixtures are fitted on a sample chosen by a hash of the
account id (:func:`fit_sample`) and every account is placed by the chosen fit (:meth:`MixtureFit.place`). A segment is
described in words by its features whose segment mean lies at least :data:`DESCRIBE_MIN_SD` standard
deviations from the all-accounts mean, largest first ("large, broad range, frequent contact"). Segments
are numbered by their TTM revenue, largest first.

Withheld, with a reason, when there are fewer than ``segment_min_accounts`` active accounts; the same
columns come back (:data:`ACCOUNT_DTYPES`, :data:`SEGMENT_DTYPES`), with no rows.
"""

from __future__ import annotations

import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pipeline.insight.drivers import DRIVER_PREFIX, TEXT, driver_label
from pipeline.rules import BusinessRules, current_rules

SEED = 20_261_203
N_INIT = 8
VARIANCE_FLOOR = 0.02  # in squared standard deviations of the standardised features
MAX_ITERATIONS = 500
DESCRIBE_MIN_SD = 0.5  # a feature describes a segment when its mean is this many sd from everyone's
DESCRIBE_MAX_TRAITS = 4
NEEDS_SHRINK_ANSWERS = 2.0  # the driver profile is shrunk by n / (n + this) answers
TREND_CLIP = 1.5
NEEDS_SUFFIX = "_relative"

# feature -> (words when above everyone's mean, words when below)
BEHAVIOUR_WORDS = {
    "spend_level": ("large", "small"),
    "spend_trend": ("rising spend", "falling spend"),
    "contact_rate": ("frequent contact", "little contact"),
    "product_breadth": ("broad range", "narrow range"),
    "order_rhythm": ("orders often", "orders rarely"),
}
BEHAVIOUR_FEATURES = tuple(BEHAVIOUR_WORDS)

ACCOUNT_COLUMNS = ["account_id", "segment_number", "segment", "segment_probability"]
ACCOUNT_DTYPES = {"account_id": TEXT, "segment_number": "int64", "segment": TEXT, "segment_probability": "float64"}
SEGMENT_COLUMNS = [
    "segment_number",
    "segment",
    "description",
    "accounts",
    "account_share",
    "traits",
    "features_used",
    "segments_chosen",
    "criterion",
    "status",
]
# One row a run: whether the accounts were segmented ("segmented", "segmented on behaviour only", "withheld")
# and why; mart_analysis_status reads it.
STATUS_COLUMNS = ["status", "reason", "accounts", "segments_chosen", "features_used", "criterion"]
STATUS_DTYPES = {**dict.fromkeys(STATUS_COLUMNS, TEXT), "accounts": "int64", "segments_chosen": "Int64"}
SEGMENTED, BEHAVIOUR_ONLY, WITHHELD = "segmented", "segmented on behaviour only", "withheld"
SEGMENT_DTYPES = {
    **dict.fromkeys(SEGMENT_COLUMNS, TEXT),
    "segment_number": "int64",
    "accounts": "int64",
    "account_share": "float64",
    "segments_chosen": "int64",
}


@dataclass(frozen=True)
class SegmentConfig:
    rules: BusinessRules = field(default_factory=current_rules)
    seed: int = SEED
    # Above this many active accounts the mixtures are fitted on a sample of them (:func:`fit_sample`) and
    # every account is then placed by the chosen fit. A compute budget, not a business rule: 20,000 accounts
    # estimate a mixture of at most six segments on a dozen features closely, and the EM's cost grows with
    # the accounts (at 100,000 accounts the daily segmentation took 24 s of a 139 s daily refresh).
    fit_max_accounts: int = 20_000


@dataclass
class Segmentation:
    """The segments found: ``accounts`` (one row per active account), ``segments`` (one row per segment),
    the BIC of every candidate, the features used and, when withheld, why."""

    accounts: pd.DataFrame
    segments: pd.DataFrame
    criterion: pd.DataFrame  # segments, bic, smallest_share, eligible
    features: list[str]
    chosen: int | None
    withheld_reason: str | None = None
    notes: list[str] = field(default_factory=list)
    accounts_considered: int = 0

    @property
    def uses_needs(self) -> bool:
        return any(f.endswith(NEEDS_SUFFIX) for f in self.features)

    def status(self) -> pd.DataFrame:
        """The run's one-row status (:data:`STATUS_COLUMNS`)."""
        if self.withheld_reason is not None:
            status, reason = WITHHELD, self.withheld_reason
        else:
            status = SEGMENTED if self.uses_needs else BEHAVIOUR_ONLY
            reason = f"{len(self.accounts)} active accounts in {self.chosen} segments; " + "; ".join(self.notes)
        criterion = ", ".join(
            f"k={int(r.segments)}: BIC {r.bic:.0f}{'' if r.eligible else ' (a segment below the minimum share)'}"
            for r in self.criterion.itertuples()
        )
        return pd.DataFrame(
            {
                "status": [status],
                "reason": [reason],
                "accounts": [self.accounts_considered],
                "segments_chosen": pd.array([self.chosen], dtype="Int64"),
                "features_used": [", ".join(self.features)],
                "criterion": [criterion or "no candidate fitted"],
            }
        ).astype(STATUS_DTYPES)


def feature_matrix(features: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The standardised features of each account and notes on what was left out (and why)."""
    notes: list[str] = []
    frame = pd.DataFrame(index=features["account_id"].astype(str).to_numpy())
    revenue = features["revenue_ttm_eur"].astype(float).clip(lower=0).to_numpy()
    prior = features["revenue_prior_ttm_eur"].astype(float).clip(lower=0).to_numpy()
    frame["spend_level"] = np.log1p(revenue)
    with np.errstate(divide="ignore", invalid="ignore"):
        trend = np.where((prior > 0) & (revenue > 0), np.log(revenue / prior), 0.0)
    frame["spend_trend"] = np.clip(trend, -TREND_CLIP, TREND_CLIP)
    frame["contact_rate"] = np.log1p(features["activities_per_month"].astype(float).fillna(0).to_numpy())
    frame["product_breadth"] = features["product_breadth"].astype(float).fillna(1.0).to_numpy()
    frame["order_rhythm"] = np.log(features["invoices_per_month"].astype(float).fillna(0).to_numpy() + 0.1)
    drivers = [c for c in features.columns if c.startswith(DRIVER_PREFIX) and c != "driver_answers"]
    answers = features["driver_answers"].astype(float).fillna(0).to_numpy() if "driver_answers" in features else None
    if drivers and answers is not None and (answers > 0).any():
        ratings = features[drivers].astype(float).to_numpy()
        with warnings.catch_warnings(), np.errstate(invalid="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)  # an account without ratings: its mean is NaN
            own_mean = np.nanmean(ratings, axis=1, keepdims=True)
            relative = (ratings - own_mean) * (answers / (answers + NEEDS_SHRINK_ANSWERS))[:, None]
        relative[answers == 0] = np.nan
        for j, driver in enumerate(drivers):
            frame[f"{driver}{NEEDS_SUFFIX}"] = relative[:, j]
        notes.append(
            f"needs from the driver ratings of {int((answers > 0).sum())} of {len(answers)} accounts; the others "
            "are segmented on their behaviour alone"
        )
    else:
        notes.append("no driver ratings (no survey with drivers): segmented on purchase and engagement only")
    spread = frame.std(ddof=0)
    flat = [c for c in frame.columns if not spread[c] > 1e-9 or frame[c].notna().sum() < 2]
    if flat:
        notes.append(f"left out for lack of spread: {', '.join(flat)}")
    frame = frame.drop(columns=flat)
    standardised = (frame - frame.mean()) / frame.std(ddof=0)
    return standardised, notes


def trait_words(feature: str, sign: float) -> str:
    if feature in BEHAVIOUR_WORDS:
        return BEHAVIOUR_WORDS[feature][0 if sign > 0 else 1]
    label = driver_label(feature.removesuffix(NEEDS_SUFFIX)).lower()
    return f"rates {label} {'high' if sign > 0 else 'low'}"


def describe(profile: pd.Series) -> list[tuple[str, float]]:
    """The traits of a segment: features at least DESCRIBE_MIN_SD from everyone's mean, largest first."""
    strong = profile[profile.abs() >= DESCRIBE_MIN_SD].sort_values(key=np.abs, ascending=False)
    return [(str(f), float(v)) for f, v in strong.head(DESCRIBE_MAX_TRAITS).items()]


@dataclass
class MixtureFit:
    segments: int
    log_likelihood: float
    bic: float
    probabilities: np.ndarray  # [account, segment]
    weights: np.ndarray  # [segment]
    means: np.ndarray  # [segment, feature]
    variances: np.ndarray  # [segment, feature]

    def place(self, x: np.ndarray) -> np.ndarray:
        """Each row of ``x`` (NaN: not observed)'s probability of each segment under this fit: one E-step."""
        observed = ~np.isnan(x)
        return _responsibilities(observed, np.where(observed, x, 0.0), self.weights, self.means, self.variances)[0]


def _responsibilities(
    observed: np.ndarray, filled: np.ndarray, weights: np.ndarray, mean: np.ndarray, var: np.ndarray
) -> tuple[np.ndarray, float]:
    """The E-step: each account's probability of each component over its observed features only (``filled``
    holds 0 where ``observed`` is false), and the log-likelihood of all the accounts."""
    log_density = (
        -0.5
        * (
            observed[:, None, :] * (np.log(2 * np.pi * var)[None] + (filled[:, None, :] - mean[None]) ** 2 / var[None])
        ).sum(axis=2)
        + np.log(np.maximum(weights, 1e-300))[None]
    )
    top = log_density.max(axis=1, keepdims=True)
    total = top[:, 0] + np.log(np.exp(log_density - top).sum(axis=1))
    return np.exp(log_density - total[:, None]), float(total.sum())


def fit_sample(account_ids: pd.Series, limit: int) -> np.ndarray:
    """Positions of the accounts the mixtures are fitted on: all of them up to ``limit``, else the ``limit``
    accounts with the smallest hash of their id. A hash, not a random draw: the same data gives the same
    sample, and an account stays in it from one day to the next while it stays active."""
    if len(account_ids) <= limit:
        return np.arange(len(account_ids))
    hashes = pd.util.hash_pandas_object(account_ids.astype(str).reset_index(drop=True), index=False).to_numpy()
    return np.sort(np.argsort(hashes, kind="stable")[:limit])


def fit_mixture(x: np.ndarray, k: int, seed: int, n_init: int = N_INIT) -> MixtureFit:
    """A diagonal Gaussian mixture of ``k`` components on ``x`` (NaN: not observed), by EM.

    An account's likelihood under a component is the product over its observed features only, so a missing
    feature neither counts for nor against any segment. Started from k-means on the observed values (missing
    as 0), ``n_init`` seeds from ``seed``; the fit with the highest likelihood wins. BIC = -2 log L + p log n,
    p = k - 1 weights + k x features means and variances."""
    from sklearn.cluster import KMeans  # here, not at import: the definitions load without scikit-learn

    observed = ~np.isnan(x)
    filled = np.where(observed, x, 0.0)
    n, d = x.shape
    best: MixtureFit | None = None
    for start in range(n_init):
        labels = KMeans(n_clusters=k, n_init=1, random_state=seed + start).fit(filled).labels_
        resp = np.eye(k)[labels]
        previous = -np.inf
        for _ in range(MAX_ITERATIONS):
            weights = resp.sum(axis=0) / n
            mass = np.maximum(resp.T @ observed, 1e-12)  # [segment, feature]
            mean = (resp.T @ filled) / mass
            var = np.maximum((resp.T @ filled**2) / mass - mean**2, 0.0) + VARIANCE_FLOOR
            resp, likelihood = _responsibilities(observed, filled, weights, mean, var)
            if likelihood - previous < 1e-7 * n:
                break
            previous = likelihood
        if best is None or likelihood > best.log_likelihood:
            parameters = k - 1 + 2 * k * d
            best = MixtureFit(k, likelihood, -2 * likelihood + parameters * np.log(n), resp, weights, mean, var)
    if best is None:
        raise ValueError("fit_mixture needs n_init >= 1")
    return best


def _empty(reason: str, features: list[str], notes: list[str], criterion: pd.DataFrame, n: int) -> Segmentation:
    accounts = pd.DataFrame({c: pd.Series(dtype=d) for c, d in ACCOUNT_DTYPES.items()})
    segments = pd.DataFrame({c: pd.Series(dtype=SEGMENT_DTYPES[c]) for c in SEGMENT_COLUMNS})
    return Segmentation(accounts, segments, criterion, features, None, reason, notes, n)


def segment_accounts(features: pd.DataFrame, config: SegmentConfig | None = None) -> Segmentation:
    """Segment the active accounts of ``features`` (one row each; see the module's docstring)."""
    config = config or SegmentConfig()
    rules = config.rules
    criterion = pd.DataFrame({"segments": [], "bic": [], "smallest_share": [], "eligible": []})
    if len(features) < rules.segment_min_accounts:
        reason = f"{len(features)} active accounts with purchases: segments need at least {rules.segment_min_accounts}"
        return _empty(reason, [], [], criterion, len(features))
    x_frame, notes = feature_matrix(features)
    used = list(x_frame.columns)
    if not used:
        return _empty("no feature with any spread across the active accounts", used, notes, criterion, len(x_frame))
    x_all = x_frame.to_numpy()
    sample = fit_sample(features["account_id"], config.fit_max_accounts)
    x = x_all[sample]
    if len(sample) < len(x_all):
        notes.append(f"fitted on a sample of {len(sample)} of the {len(x_all)} accounts (a hash of the account id)")
    rows, fits = [], {}
    candidates = [k for k in range(rules.segment_candidates_min, rules.segment_candidates_max + 1) if k <= len(x) // 2]
    # The candidates side by side: each fit is independent and deterministic, and numpy's elementwise E-step
    # leaves the GIL (on two cores the five fits of 20,000 accounts take 7.4 s instead of 11.2 s).
    # One thread of BLAS and OpenMP under each: scikit-learn's k-means sets and restores that limit process-wide
    # itself, which two fits at once could leave at one for the rest of the run; this context restores it.
    from threadpoolctl import threadpool_limits

    workers = max(1, min(len(candidates), len(os.sched_getaffinity(0))))
    with threadpool_limits(limits=1), ThreadPoolExecutor(max_workers=workers) as pool:
        fitted = dict(zip(candidates, pool.map(lambda k: fit_mixture(x, k, config.seed), candidates), strict=True))
    for k in candidates:
        fit = fitted[k]
        labels = fit.probabilities.argmax(axis=1)
        smallest = np.bincount(labels, minlength=k).min() / len(x)
        eligible = bool(smallest >= rules.segment_min_share)
        rows.append({"segments": k, "bic": fit.bic, "smallest_share": float(smallest), "eligible": eligible})
        fits[k] = fit
    criterion = pd.DataFrame(rows)
    eligible = criterion[criterion["eligible"]]
    if eligible.empty:
        reason = "no candidate number of segments gives every segment its minimum share"
        return _empty(reason, used, notes, criterion, len(x_frame))
    chosen = int(eligible.loc[eligible["bic"].idxmin(), "segments"])
    placed = fits[chosen].probabilities if len(sample) == len(x_all) else fits[chosen].place(x_all)
    labels = placed.argmax(axis=1)
    probability = placed.max(axis=1)

    # Number the segments by TTM revenue, largest first.
    revenue = features["revenue_ttm_eur"].astype(float).to_numpy()
    order = np.argsort(-np.bincount(labels, weights=revenue, minlength=chosen), kind="stable")
    number = np.empty(chosen, dtype=np.int64)
    number[order] = np.arange(1, chosen + 1)
    labels = number[labels]

    profiles = x_frame.groupby(labels).mean()
    names: dict[int, str] = {}
    descriptions: dict[int, str] = {}
    traits_text: dict[int, str] = {}
    for s in range(1, chosen + 1):
        traits = describe(profiles.loc[s]) if s in profiles.index else []
        words = [trait_words(f, v) for f, v in traits] or ["close to the average on every feature"]
        name = ", ".join(words[:3])
        if name in names.values():
            name = f"{name} ({s})"
        names[s] = name
        traits_text[s] = "; ".join(f"{f} {v:+.1f} sd" for f, v in traits)
        share = float((labels == s).mean())
        descriptions[s] = (
            f"Segment {s}: {(labels == s).sum()} accounts ({share:.0%}); sets itself apart by being "
            + (", ".join(f"{trait_words(f, v)} ({v:+.1f} sd)" for f, v in traits) or "close to the average")
            + "."
        )
    accounts = pd.DataFrame(
        {
            "account_id": features["account_id"].astype(str).to_numpy(),
            "segment_number": labels.astype(np.int64),
            "segment": [names[s] for s in labels],
            "segment_probability": np.round(probability, 4),
        }
    ).astype(ACCOUNT_DTYPES)
    criterion_text = "lowest BIC of a diagonal Gaussian mixture (missing needs marginalised) over " + ", ".join(
        f"k={int(r.segments)}: {r.bic:.0f}{'' if r.eligible else ' (a segment too small)'}"
        for r in criterion.itertuples()
    )
    segments = pd.DataFrame(
        {
            "segment_number": np.arange(1, chosen + 1, dtype=np.int64),
            "segment": [names[s] for s in range(1, chosen + 1)],
            "description": [descriptions[s] for s in range(1, chosen + 1)],
            "accounts": [int((labels == s).sum()) for s in range(1, chosen + 1)],
            "account_share": [float((labels == s).mean()) for s in range(1, chosen + 1)],
            "traits": [traits_text[s] for s in range(1, chosen + 1)],
            "features_used": ", ".join(used),
            "segments_chosen": chosen,
            "criterion": criterion_text,
            "status": "; ".join(notes),
        }
    ).astype(SEGMENT_DTYPES)[SEGMENT_COLUMNS]
    return Segmentation(accounts, segments, criterion, used, chosen, None, notes, len(x_frame))
