"""The warehouse tables the churn model writes (schema ``ml``); dbt reads them as sources.

``ml.model_performance`` is rewritten from the model store after each training. ``ml.churn_scores`` is
replaced one snapshot month at a time (delete + insert in one transaction), so a
re-run or backfill of a month leaves exactly one score per account and month.
"""

from __future__ import annotations

import duckdb
import pandas as pd

SCORES_DDL = """
create table if not exists ml.churn_scores (
    account_id varchar not null,
    snapshot_month date not null,
    churn_probability double not null,
    risk_decile integer not null,
    risk_band varchar not null,
    revenue_12m_eur decimal(18, 2),
    expected_revenue_at_risk_eur decimal(18, 2),
    reason_1 varchar,
    reason_2 varchar,
    reason_3 varchar,
    reasons varchar,
    model_version varchar not null,
    scored_at timestamp not null,
    run_id varchar,
    primary key (account_id, snapshot_month)
)
"""


def write_scores(conn: duckdb.DuckDBPyConnection, scores: pd.DataFrame, month: str, run_id: str) -> int:
    conn.execute("create schema if not exists ml")
    conn.execute(SCORES_DDL)
    frame = scores.assign(run_id=run_id)
    conn.register("new_scores", frame)
    try:
        conn.execute("begin transaction")
        conn.execute("delete from ml.churn_scores where snapshot_month = ?", [pd.Timestamp(month).date()])
        columns = ", ".join(frame.columns)
        conn.execute(f"insert into ml.churn_scores ({columns}) select {columns} from new_scores")  # noqa: S608
        conn.execute("commit")
    except Exception:
        conn.execute("rollback")
        raise
    finally:
        conn.unregister("new_scores")
    return len(frame)


def write_model_performance(conn: duckdb.DuckDBPyConnection, performance: pd.DataFrame) -> None:
    """Replace ``ml.model_performance`` (every stored version, by decile) from the model store."""
    conn.execute("create schema if not exists ml")
    conn.register("performance_frame", performance)
    try:
        conn.execute("create or replace table ml.model_performance as select * from performance_frame")
    finally:
        conn.unregister("performance_frame")
