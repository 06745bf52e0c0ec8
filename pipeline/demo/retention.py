"""The planted retention policy: who the demo company contacts, who it holds out, and what a contact does.

Each month t from ``first_cohort`` on, the company ranks its active accounts by their true six-month churn
probability (its own risk proxy; the pipeline ranks by the churn model's score) and selects those that enter
its top ``selected_share`` (in it at t, not in it in the ``horizon - 1`` months before), the rule of
``int_retention_assignment``. The warehouse's split (:func:`pipeline.insight.retention.split_uniform`, the
same seed and share as dbt_project.yml's ``retention_split_seed`` and ``retention_holdout_share``) puts some
in the holdout; of the rest, ``contact_rate`` get a retention call in month t + 1, a CRM activity with
``campaign = retention``. A contact multiplies the account's monthly churn odds (at these hazards almost
exactly the hazard) by ``odds_multiplier`` for the horizon's months t + 1 .. t + 6. Selection once per
horizon means no account is in two cohorts whose outcome windows overlap, so a cohort's holdout was not
contacted for an earlier cohort during its window.

With ``odds_multiplier = 1`` the contacts are still made and logged, and nothing else changes: the churn
draws are the ones the company has without the policy (the churn stream is not touched by the policy).

``truth/retention_effect.json`` records the policy and the effect it implies: the expected relative
reduction of six-month churn, contact group against holdout (intention to treat), and contacted against
holdout (per protocol), both from the exact six-month probabilities with and without the contact;
``truth/retention_cohorts.parquet`` every selected account-month with its group, contact and outcome.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from pipeline.demo import model


@dataclass(frozen=True)
class RetentionPolicy:
    odds_multiplier: float = 0.6  # planted: a contact's effect on the monthly churn odds
    selected_share: float = 0.1  # the top decile of the company's risk proxy
    holdout_share: float = 0.2  # as dbt_project.yml's retention_holdout_share
    split_seed: int = 22  # as dbt_project.yml's retention_split_seed
    contact_rate: float = 0.85  # share of the contact group actually called
    first_cohort: int = 12  # the policy starts after a year of history
    horizon: int = model.HORIZON_MONTHS

    @property
    def logit_shift(self) -> float:
        return math.log(self.odds_multiplier)


@dataclass
class RetentionPlan:
    """What the policy did, filled in month by month while churn is simulated."""

    policy: RetentionPolicy
    account_ids: np.ndarray  # str per account index, as the landing zone writes them
    cohort_account: list[np.ndarray] = field(default_factory=list)
    cohort_month: list[int] = field(default_factory=list)
    cohort_holdout: list[np.ndarray] = field(default_factory=list)
    cohort_contacted: list[np.ndarray] = field(default_factory=list)

    def contacted_in(self, t: int) -> np.ndarray:
        """Accounts called in month t (cohort t - 1's contacted accounts)."""
        for month, account, contacted in zip(
            self.cohort_month, self.cohort_account, self.cohort_contacted, strict=True
        ):
            if month == t - 1:
                return account[contacted]
        return np.zeros(0, dtype=np.int64)


def select_entering(probability: np.ndarray, active: np.ndarray, share: float) -> np.ndarray:
    """Boolean over ``active`` indexes: in the top ``share`` of the probabilities (ties by index)."""
    k = math.ceil(share * active.shape[0])
    top = np.zeros(active.shape[0], dtype=bool)
    if k:
        top[np.argsort(-probability, kind="stable")[:k]] = True
    return top


def retention_truth(plan: RetentionPlan, calendar, static_logit: np.ndarray, risk_state: np.ndarray, churn_month):
    """The cohorts (a table's columns) and the effect the policy implies, over the cohorts whose horizon the
    history covers: expected six-month churn with and without a contact from the exact probabilities."""
    policy = plan.policy
    if not plan.cohort_month:
        return {}, {"policy": _policy_dict(policy), "cohorts": 0}
    account = np.concatenate(plan.cohort_account)
    month = np.concatenate(
        [np.full(a.shape[0], t) for a, t in zip(plan.cohort_account, plan.cohort_month, strict=True)]
    )
    holdout = np.concatenate(plan.cohort_holdout)
    contacted = np.concatenate(plan.cohort_contacted)
    without = model.SixMonthChurnProbability(static_logit)(static_logit[account], risk_state[account, month])
    shifted_logits = static_logit + policy.logit_shift
    with_contact = model.SixMonthChurnProbability(shifted_logits)(shifted_logits[account], risk_state[account, month])
    churned = (churn_month[account] > month) & (churn_month[account] <= month + policy.horizon)
    matured = month + policy.horizon <= calendar.months - 1
    expected_contacted = float(with_contact[matured].sum())
    expected_not = float(without[matured].sum())
    itt = (policy.contact_rate * expected_contacted + (1 - policy.contact_rate) * expected_not) / expected_not
    realised = {}
    for name, members in (
        ("contact_group", ~holdout & matured),
        ("holdout", holdout & matured),
        ("contacted", contacted & matured),
    ):
        realised[name] = {"accounts": int(members.sum()), "churned": int(churned[members].sum())}
    cohorts = {
        "account_id": plan.account_ids[account],
        "cohort_month": calendar.month_start(month),
        "holdout": holdout,
        "contacted": contacted,
        "churned_within_horizon": churned,
        "horizon_passed": matured,
        "p_churn_6m_without_contact": without,
        "p_churn_6m_with_contact": with_contact,
    }
    return cohorts, {
        "policy": _policy_dict(policy),
        "cohorts": len(plan.cohort_month),
        "cohorts_past_horizon": int(np.unique(month[matured]).shape[0]),
        "first_cohort_month": str(calendar.month_start(plan.cohort_month[0])),
        "expected_relative_reduction_itt": 1 - itt,
        "expected_relative_reduction_per_protocol": 1 - expected_contacted / expected_not,
        "realised": realised,
        "how": "expected six-month churn of the cohorts past the horizon, from the exact probabilities with "
        "the contact's odds multiplier and without; intention to treat mixes the two at the contact rate",
    }


def _policy_dict(policy: RetentionPolicy) -> dict:
    return {
        "odds_multiplier": policy.odds_multiplier,
        "selected_share": policy.selected_share,
        "holdout_share": policy.holdout_share,
        "split_seed": policy.split_seed,
        "contact_rate": policy.contact_rate,
        "first_cohort": policy.first_cohort,
        "horizon_months": policy.horizon,
        "marking": "crm/activities campaign = retention",
    }
