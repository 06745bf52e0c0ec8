"""The ground truth the generator planted, written next to (never inside) the landing zone.

- ``churn_probabilities.parquet``: account_id, month (first day), p_churn_6m: every account-month where
  the account is a customer at the end of the month, with its true probability of churning in the next
  six months (see :mod:`pipeline.demo.model` for how it is computed).
- ``account_months.parquet``: the same account-months with the latent ``risk_state``, the hazard of
  churning next month (``churn_hazard_next_month``) and the true ``net_revenue_eur`` invoiced (after
  corrections, credit notes included).
- ``churn_events.parquet``: account_id, churn_month, churn_type (closed | silent), by DESIGN.md's
  definition: closed = month of closed_date; silent = month after the last invoice, listed only when the
  six months after it are inside the history (a silent churn later than that is not yet a churn).
- ``accounts.parquet``: planted per-account facts (size, segment, static churn log-odds, simulated churn).
- ``invited_nps.parquet``: every survey invitation with its would-be NPS and response propensity.
- ``drivers.json``: each driver's planted class and effects.
- ``nps_and_growth.json``: how account NPS and revenue growth are linked (the planted satisfaction and the risk
  state), with the realised correlation of each account's satisfaction and its invited contacts' NPS.
- ``segments.json``: the planted behavioural and needs segments (archetypes); ``accounts.parquet`` has each
  account's ``planted_segment``.
- ``planted_defects.parquet`` and ``corrections.parquet``: see :mod:`pipeline.demo.ledger`.
- ``summary.json``: parameters, formats of every file, and what the planted company looks like.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from pipeline.demo import formats, model
from pipeline.demo.calendar import Calendar
from pipeline.demo.population import CLOSED, NO_CHURN, SILENT, Accounts

SILENT_MONTHS = 6  # DESIGN.md: silent churn needs six months without invoiced revenue


@dataclass
class AccountMonths:
    """Account-months the truth is about, collected month by month."""

    account: list[np.ndarray] = field(default_factory=list)
    month: list[int] = field(default_factory=list)
    revenue: list[np.ndarray] = field(default_factory=list)

    def add(self, t: int, active: np.ndarray, revenue: np.ndarray) -> None:
        self.account.append(active)
        self.month.append(t)
        self.revenue.append(revenue)


def write_truth(
    truth_dir: Path,
    calendar: Calendar,
    accounts: Accounts,
    account_ids: pa.Array,
    account_months: AccountMonths,
    invited: pa.Table,
    defects: pa.Table,
    corrections: pa.Table,
    summary: dict,
) -> tuple[list[str], dict]:
    truth_dir.mkdir(parents=True, exist_ok=True)
    written: list[str] = []

    def parquet(name: str, table: pa.Table) -> None:
        formats.write_parquet(table, truth_dir / name)
        written.append(name)

    probability = model.SixMonthChurnProbability(accounts.static_logit)
    chunks_p, chunks_m = [], []
    for active, t, revenue in zip(account_months.account, account_months.month, account_months.revenue, strict=True):
        state = accounts.risk_state[active, t]
        month = np.full(active.shape[0], calendar.month_start(t))
        ids = account_ids.take(pa.array(active))
        p = probability(accounts.static_logit[active], state)
        chunks_p.append(pa.table({"account_id": ids, "month": pa.array(month, pa.date32()), "p_churn_6m": pa.array(p)}))
        chunks_m.append(
            pa.table(
                {
                    "account_id": ids,
                    "month": pa.array(month, pa.date32()),
                    "risk_state": pa.array(state),
                    "churn_hazard_next_month": pa.array(model.monthly_hazard(accounts.static_logit[active], state)),
                    "net_revenue_eur": pa.array(np.round(revenue, 2)),
                }
            )
        )
    probabilities = pa.concat_tables(chunks_p)
    parquet("churn_probabilities.parquet", probabilities)
    parquet("account_months.parquet", pa.concat_tables(chunks_m))

    events = churn_events(calendar, accounts)
    parquet(
        "churn_events.parquet",
        pa.table(
            {
                "account_id": account_ids.take(pa.array(events[0])),
                "churn_month": pa.array(calendar.month_start(events[1]), pa.date32()),
                "churn_type": pa.array(np.where(events[2] == CLOSED, "closed", "silent")),
            }
        ),
    )
    churned = accounts.churn_month != NO_CHURN
    parquet(
        "accounts.parquet",
        pa.table(
            {
                "account_id": account_ids,
                "created_date": pa.array(accounts.created_date, pa.date32()),
                "size_eur": pa.array(np.round(accounts.size_eur, 2)),
                "size_band": pa.array(np.array(["small", "medium", "large"])[accounts.size_band]),
                "satisfaction": pa.array(np.round(accounts.satisfaction, 6)),
                "planted_segment": pa.array(np.array([a.name for a in model.ARCHETYPES])[accounts.segment]),
                "static_churn_logit": pa.array(accounts.static_logit),
                "simulated_churn_month": pa.array(
                    np.where(
                        churned,
                        calendar.month_start(np.where(churned, accounts.churn_month, 0)),
                        np.datetime64("NaT"),
                    ),
                    pa.date32(),
                ),
                "simulated_churn_kind": pa.array(
                    np.where(
                        accounts.churn_kind == CLOSED,
                        "closed",
                        # numpy's stubs have no overload with None as a choice; the result is an object array.
                        np.where(accounts.churn_kind == SILENT, "silent", None),  # type: ignore[call-overload]
                    ),
                    pa.string(),
                ),
                "churn_confirmed": pa.array(np.isin(np.arange(accounts.count), events[0])),
            }
        ),
    )
    parquet("invited_nps.parquet", invited)
    parquet("planted_defects.parquet", defects)
    parquet("corrections.parquet", corrections)

    (truth_dir / "drivers.json").write_text(json.dumps(model.drivers_truth(), indent=2, sort_keys=True) + "\n")
    written.append("drivers.json")
    growth = {**model.nps_and_growth_truth(), "realised": satisfaction_in_nps(accounts, account_ids, invited)}
    (truth_dir / "nps_and_growth.json").write_text(json.dumps(growth, indent=2, sort_keys=True) + "\n")
    written.append("nps_and_growth.json")
    (truth_dir / "segments.json").write_text(json.dumps(model.segments_truth(), indent=2, sort_keys=True) + "\n")
    written.append("segments.json")
    stats = realised_statistics(calendar, accounts, probabilities, account_months, invited)
    summary = {**summary, "realised": stats}
    (truth_dir / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    written.append("summary.json")
    return written, stats


def satisfaction_in_nps(accounts: Accounts, account_ids: pa.Array, invited: pa.Table) -> dict:
    """How far the planted satisfaction shows in the answers: its correlation with the mean would-be NPS of
    each account's invited relationship contacts (every invitation, answered or not)."""
    relationship = np.array(invited.column("survey_type").to_pylist()) == "relationship"
    index = {account: i for i, account in enumerate(account_ids.to_pylist())}
    invited_accounts = np.array(invited.column("account_id").to_pylist())[relationship]
    rows = np.array([index[a] for a in invited_accounts], dtype=np.int64)
    nps = invited.column("would_be_nps").to_numpy()[relationship].astype(float)
    count = np.bincount(rows, minlength=accounts.count)
    asked = count > 0
    mean_nps = np.bincount(rows, weights=nps, minlength=accounts.count)[asked] / count[asked]
    correlation = float(np.corrcoef(accounts.satisfaction[asked], mean_nps)[0, 1]) if asked.sum() > 2 else None
    return {
        "accounts_invited": int(asked.sum()),
        "correlation_satisfaction_mean_would_be_nps": None if correlation is None else round(correlation, 4),
    }


def churn_events(calendar: Calendar, accounts: Accounts) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(account index, churn month, kind) of the churns DESIGN.md's definition sees in the history."""
    closed = accounts.churn_kind == CLOSED
    confirmed_silent = (accounts.churn_kind == SILENT) & (
        accounts.churn_month + SILENT_MONTHS - 1 <= calendar.months - 1
    )
    rows = np.flatnonzero(closed | confirmed_silent)
    return rows, accounts.churn_month[rows], accounts.churn_kind[rows]


def realised_statistics(
    calendar: Calendar,
    accounts: Accounts,
    probabilities: pa.Table,
    account_months: AccountMonths,
    invited: pa.Table,
) -> dict:
    """What the planted company turned out to be, for the summary (and a quick look by a human)."""
    months = calendar.months
    stats: dict = {}
    # Annual churn: share of customers at the end of a month that churn within the next twelve.
    if months > 12:
        base = (accounts.created_month <= months - 13) & (accounts.churn_month > months - 13)
        later = accounts.churn_month[base]
        stats["annual_churn_rate_last_year"] = round(float((later <= months - 1).mean()), 4)
    # Revenue concentration over the last twelve months.
    last = max(0, len(account_months.revenue) - 12)
    ttm = np.zeros(accounts.count)
    for active, revenue in zip(account_months.account[last:], account_months.revenue[last:], strict=True):
        ttm[active] += revenue
    positive = np.sort(ttm[ttm > 0])[::-1]
    top = max(1, round(0.2 * positive.shape[0]))
    stats["top20_share_of_ttm_revenue"] = round(float(positive[:top].sum() / positive.sum()), 4)
    # Lift of the true probability: top decile's six-month churn against the rest, final labels only.
    p = probabilities.column("p_churn_6m").to_numpy()
    month_index = np.concatenate(
        [np.full(a.shape[0], t) for a, t in zip(account_months.account, account_months.month, strict=True)]
    )
    account = np.concatenate(account_months.account)
    final = month_index <= months - 1 - 2 * SILENT_MONTHS
    churn_month = np.where(
        accounts.churn_kind == CLOSED,
        accounts.churn_month,
        np.where(accounts.churn_month + SILENT_MONTHS - 1 <= months - 1, accounts.churn_month, NO_CHURN),
    )[account]
    label = (churn_month > month_index) & (churn_month <= month_index + 6)
    if final.any():
        threshold = np.quantile(p[final], 0.9)
        top_rate = label[final & (p >= threshold)].mean()
        rest_rate = label[final & (p < threshold)].mean()
        stats["six_month_churn_rate"] = round(float(label[final].mean()), 4)
        stats["mean_p_churn_6m"] = round(float(p[final].mean()), 4)
        stats["top_decile_lift"] = round(float(top_rate / rest_rate), 3) if rest_rate > 0 else None
    nps = invited.column("would_be_nps").to_numpy()
    responded = invited.column("responded").to_numpy(zero_copy_only=False).astype(bool)
    relationship = np.array(invited.column("survey_type").to_pylist()) == "relationship"

    def net_promoter(x: np.ndarray) -> float:
        return round(float(100 * ((x >= 9).mean() - (x <= 6).mean())), 1) if x.size else float("nan")

    stats["relationship_nps_all_invited"] = net_promoter(nps[relationship])
    stats["relationship_nps_respondents"] = net_promoter(nps[relationship & responded])
    stats["relationship_response_rate"] = round(float(responded[relationship].mean()), 4)
    stats["relationship_responses"] = int((relationship & responded).sum())
    stats["accounts_churned_closed"] = int((accounts.churn_kind == CLOSED).sum())
    stats["accounts_churned_silent"] = int((accounts.churn_kind == SILENT).sum())
    return stats
