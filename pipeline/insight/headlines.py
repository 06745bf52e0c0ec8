"""The headline findings in plain words, read from the finished marts: what management would read first.

Shown as metadata of the ``insight/headlines`` asset in the Dagster UI (and by ``pipeline summary``), so
that a run ends with sentences, not only row counts. Every sentence is built from a mart's figures; no
figure here is computed anywhere else.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from pipeline.rules import current_rules

MARTS = "marts"
# mart_competitor_signals' row gathering the signals where no competitor was named (its SQL writes it).
NO_COMPETITOR_NAMED = "No competitor named"


def _frame(conn: duckdb.DuckDBPyConnection, sql: str) -> pd.DataFrame:
    return conn.sql(sql).df()


def status_headline(conn: duckdb.DuckDBPyConnection) -> str:
    """What this release withholds or gives in a weaker form, and why (mart_analysis_status)."""
    rows = _frame(
        conn,
        f"select analysis, status, reason, enable_hint from {MARTS}.mart_analysis_status "
        "where status <> 'available' order by analysis_order",
    )
    if rows.empty:
        return "Every analysis is available."
    parts = []
    for status, label in (("withheld", "Withheld"), ("degraded", "Weaker")):
        chosen = rows[rows["status"] == status]
        if len(chosen):
            items = [
                f"{r.analysis} ({r.reason}" + (f"; to enable: {r.enable_hint}" if r.enable_hint else "") + ")"
                for r in chosen.itertuples()
            ]
            parts.append(f"{label}: " + "; ".join(items))
    return ". ".join(parts) + "."


def nps_headline(conn: duckdb.DuckDBPyConnection) -> str:
    rows = _frame(
        conn,
        f"select nps_statement from {MARTS}.mart_nps_summary where period_type = 'last_12_months' and segment_key = 0",
    )
    if rows.empty:
        return "No relationship-survey answers in the last 12 months."
    return "Relationship NPS, last 12 months: " + rows["nps_statement"].iloc[0]


def driver_headline(conn: duckdb.DuckDBPyConnection) -> str:
    rows = _frame(
        conn,
        f"select driver_label, driver_class from {MARTS}.mart_driver_analysis "
        "where scope_type = 'overall' and outcome = 'recommendation' and driver_class is not null "
        "order by driver_label",
    )
    if rows.empty:
        return "Too few survey answers to classify the drivers."
    by_class = rows.groupby("driver_class")["driver_label"].apply(lambda s: ", ".join(s)).to_dict()
    parts = []
    for name, words in (
        ("hygiene", "hygiene (fixing them stops complaints, does not earn loyalty)"),
        ("differentiator", "differentiators (they make customers recommend us)"),
        ("performance", "performance drivers (both ways)"),
        ("weak", "weak"),
    ):
        if name in by_class:
            parts.append(f"{words}: {by_class[name]}")
    return "Drivers: " + "; ".join(parts) + "."


def value_headline(conn: duckdb.DuckDBPyConnection) -> str:
    tiers = _frame(
        conn,
        f"select value_tier, count(*) as accounts, sum(gross_margin_ttm_eur) as gross_profit "
        f"from {MARTS}.mart_account_360 where is_active_customer group by 1 order by 1",
    ).set_index("value_tier")
    at_risk = _frame(
        conn,
        f"select sum(margin_at_risk_eur) as margin_at_risk, sum(customer_lifetime_value_eur) as lifetime_value "
        f"from {MARTS}.mart_account_360 where is_active_customer",
    ).iloc[0]
    active = int(tiers["accounts"].sum())
    if not active or "A" not in tiers.index:
        return "No active accounts with gross profit yet."
    a_share = tiers.loc["A", "accounts"] / active
    tiers_text = (
        f"{int(tiers.loc['A', 'accounts'])} of {active} active accounts ({a_share:.0%}) are tier A and bring "
        f"{current_rules().tier_a_share:.0%} of gross profit"
    )
    if pd.isna(at_risk["lifetime_value"]):
        return tiers_text + "; lifetime value is withheld until there is a churn model (see the analysis status)."
    return (
        f"{tiers_text}; lifetime value EUR {float(at_risk['lifetime_value']) / 1e6:.1f}m, of which "
        f"EUR {float(at_risk['margin_at_risk'] or 0) / 1e6:.2f}m is at risk of churn."
    )


def care_headline(conn: duckdb.DuckDBPyConnection) -> str:
    care = _frame(
        conn,
        f"select care_model, count(*) as accounts from {MARTS}.mart_account_360 "
        "where care_model is not null group by 1 order by 2 desc",
    )
    if care.empty:
        return "No care model yet (no active accounts)."
    unscored = _frame(
        conn,
        f"select count(*) as accounts from {MARTS}.mart_account_360 "
        "where care_model_basis = 'tier and growth headroom (no churn score)'",
    )["accounts"].iloc[0]
    basis = f" ({int(unscored)} of them on tier and growth headroom only: no churn score)" if unscored else ""
    return "Care models: " + ", ".join(f"{r.care_model} {r.accounts}" for r in care.itertuples()) + basis + "."


def coverage_headline(conn: duckdb.DuckDBPyConnection) -> str:
    coverage = _frame(
        conn,
        f"select count(*) as accounts, sum(share_of_revenue) as revenue_share from {MARTS}.mart_survey_coverage",
    ).iloc[0]
    return (
        f"{int(coverage['accounts'])} active accounts have no survey voice in 12 months "
        f"({float(coverage['revenue_share'] or 0):.0%} of revenue): mart_survey_coverage is the next invitation list."
    )


def competitor_headline(conn: duckdb.DuckDBPyConnection) -> str:
    rows = _frame(
        conn,
        f"select signal_summary from {MARTS}.mart_competitor_signals "
        f"where competitor_name <> '{NO_COMPETITOR_NAMED}' "
        "order by accounts_considering_alternatives desc nulls last, lost_opportunity_amount_12m_eur desc limit 1",
    )
    return rows["signal_summary"].iloc[0] if len(rows) else "No competitor signals."


def churn_model_headline(conn: duckdb.DuckDBPyConnection) -> str:
    """How well the champion finds churners out of time: the lift DESIGN.md asks for (about three)."""
    rows = _frame(
        conn,
        f"select evaluation_window, top_decile_lift, roc_auc from {MARTS}.mart_model_performance "
        "where is_champion and top_decile_lift is not null limit 1",
    )
    if rows.empty:
        return "Churn model: none yet (no scores; mart_analysis_status says why)."
    row = rows.iloc[0]
    return (
        f"Churn model, out of time, {row.evaluation_window}: the riskiest tenth of accounts churned "
        f"{float(row.top_decile_lift):.1f} times as often as the rest (ROC-AUC {float(row.roc_auc):.2f})."
    )


# The accounts to act on first: active, in the care model "retain", most revenue at risk first. The brief
# reads the same rows from the release ({mart_account_360} is the table's place in either).
ACCOUNTS_TO_ACT_ON_SQL = """
    select account_name, value_tier, churn_probability, expected_revenue_at_risk_eur, recommended_action
    from {mart_account_360}
    where is_active_customer and care_model = 'retain'
    order by expected_revenue_at_risk_eur desc nulls last, churn_probability desc nulls last, account_id
    limit {limit}
"""


def accounts_to_act_on(conn: duckdb.DuckDBPyConnection, limit: int = 5) -> list[tuple]:
    return conn.execute(
        ACCOUNTS_TO_ACT_ON_SQL.format(mart_account_360=f"{MARTS}.mart_account_360", limit=int(limit))
    ).fetchall()


def crm_quality_headline(conn: duckdb.DuckDBPyConnection) -> str:
    rows = _frame(
        conn,
        f"select analyses_weakened from {MARTS}.mart_crm_data_quality where account_owner_key = 'All owners'",
    )
    return "CRM: " + rows["analyses_weakened"].iloc[0] + "." if len(rows) else "CRM: no active accounts."


HEADLINES = {
    "analysis_status": status_headline,
    "nps": nps_headline,
    "drivers": driver_headline,
    "value": value_headline,
    "care_models": care_headline,
    "survey_coverage": coverage_headline,
    "competitors": competitor_headline,
    "churn_model": churn_model_headline,
    "crm_data_quality": crm_quality_headline,
}


def headlines(conn: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return {name: make(conn) for name, make in HEADLINES.items()}
