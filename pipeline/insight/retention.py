"""Retention contacts against a holdout: the split and the interval, as the warehouse computes them.

The warehouse does the work (``int_retention_assignment``, ``mart_retention_effect``, macros/retention.sql);
this module is the same rule in Python, for the demo generator, which must simulate the policy with the
very split the warehouse will draw, and for the tests, which check the two agree.

Split
    ``u = int(first 8 hex digits of md5("<account_id>|<YYYY-MM-DD of the cohort month>|<seed>"), 16) / 2**32``,
    a uniform number in [0, 1) that depends on nothing but the account, the month and the seed: the same
    data gives the same split, on DuckDB, on PostgreSQL and here. ``u < retention_holdout_share`` is the
    holdout.

Interval
    The risk ratio RR = (a / n1) / (c / n0) of the contact group's churn (a of n1) against the holdout's (c of
    n0), with the Katz log interval ``exp(ln RR -/+ 1.96 sqrt(1/a - 1/n1 + 1/c - 1/n0))``; the relative
    reduction is 1 - RR, its bounds 1 - the ratio's. No interval without a churner on both sides.

Cohorts needed
    The interval's half-width on the log scale shrinks as one over the square root of the accounts, so with
    cohorts of the size seen so far and the estimate as it stands, ``k * (1.96 * se / |ln RR|)^2`` cohorts in
    all would exclude zero; none will when the estimate is no reduction at all.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

Z_95 = 1.96


def split_uniform(account_ids: Iterable[str], cohort_months: Iterable[str], seed: int) -> np.ndarray:
    """The split's uniform number in [0, 1) per (account, cohort month 'YYYY-MM-DD')."""
    values = [
        int(hashlib.md5(f"{a}|{m}|{int(seed)}".encode(), usedforsecurity=False).hexdigest()[:8], 16) / 2**32
        for a, m in zip(account_ids, cohort_months, strict=True)
    ]
    return np.asarray(values, dtype=np.float64)


def is_holdout(account_ids: Iterable[str], cohort_months: Iterable[str], seed: int, share: float) -> np.ndarray:
    return split_uniform(account_ids, cohort_months, seed) < share


@dataclass(frozen=True)
class Effect:
    risk_ratio: float | None
    low: float | None  # of the risk ratio
    high: float | None
    log_se: float | None

    @property
    def relative_reduction(self) -> float | None:
        return None if self.risk_ratio is None else 1 - self.risk_ratio

    @property
    def reduction_interval(self) -> tuple[float | None, float | None]:
        return (None if self.high is None else 1 - self.high, None if self.low is None else 1 - self.low)

    @property
    def distinguishable_from_zero(self) -> bool:
        return self.high is not None and self.low is not None and (self.high < 1 or self.low > 1)


def risk_ratio(churned_treated: int, treated: int, churned_control: int, control: int) -> Effect:
    """Katz log interval of the risk ratio treated / control (see the module docstring)."""
    if treated <= 0 or control <= 0 or churned_control <= 0:
        return Effect(None, None, None, None)
    ratio = (churned_treated / treated) / (churned_control / control)
    if churned_treated <= 0:
        return Effect(ratio, None, None, None)
    se = math.sqrt(1 / churned_treated - 1 / treated + 1 / churned_control - 1 / control)
    return Effect(ratio, ratio * math.exp(-Z_95 * se), ratio * math.exp(Z_95 * se), se)


def cohorts_needed(effect: Effect, cohorts: int) -> int | None:
    """Cohorts in all, of the size seen so far, for the interval to exclude zero at the current estimate."""
    if effect.risk_ratio is None or effect.log_se is None or effect.risk_ratio >= 1 or cohorts < 1:
        return None
    return math.ceil(cohorts * (Z_95 * effect.log_se / abs(math.log(effect.risk_ratio))) ** 2)
