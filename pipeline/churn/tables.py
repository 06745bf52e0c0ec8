"""The warehouse tables the churn model writes (schema ``ml``); dbt reads them as sources.

``ml.model_performance`` is rewritten from the model store after each training. ``ml.churn_scores`` is
replaced one snapshot month at a time (delete + insert in one transaction), so a
re-run or backfill of a month leaves exactly one score per account and month. ``ml.churn_model_status``
says after each training whether there is a model to score with and, when it is withheld, why and what
would enable it. All three exist (empty where nothing was trained) after the first training attempt, so
the marts over them build for a company whose history is still too short.
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


PERFORMANCE_DDL = """
create table if not exists ml.model_performance (
    model_version varchar, model_type varchar, trained_at timestamp, data_as_of varchar,
    evaluation_window varchar, training_rows bigint, is_champion boolean, evaluation_rows bigint,
    evaluation_churn_rate double, roc_auc double, pr_auc double, brier_score double, log_loss double,
    top_decile_lift double, revenue_at_risk_captured_top_decile double, recency_rule_roc_auc double,
    nps_rule_roc_auc double, code_version varchar, decile bigint, accounts bigint, churners bigint,
    churn_rate double, lift double, mean_predicted double, revenue_eur double, churned_revenue_eur double,
    cumulative_churners_share double
)
"""
STATUS_DDL = """
create table if not exists ml.churn_model_status (
    status varchar not null,
    reason varchar,
    enable_hint varchar,
    labelled_months integer,
    labelled_months_needed integer,
    champion_version varchar,
    checked_at timestamp not null,
    run_id varchar
)
"""


def ensure_tables(conn: duckdb.DuckDBPyConnection) -> None:
    """The ml tables, empty if absent: dbt's ml sources must exist whether or not a model was trained."""
    conn.execute("create schema if not exists ml")
    for ddl in (SCORES_DDL, PERFORMANCE_DDL, STATUS_DDL):
        conn.execute(ddl)


def write_model_status(conn: duckdb.DuckDBPyConnection, status: dict, run_id: str) -> None:
    """Replace ``ml.churn_model_status`` with this training's outcome (one row)."""
    ensure_tables(conn)
    columns = ["status", "reason", "enable_hint", "labelled_months", "labelled_months_needed", "champion_version"]
    conn.execute("begin transaction")
    try:
        conn.execute("delete from ml.churn_model_status")
        conn.execute(
            f"insert into ml.churn_model_status ({', '.join(columns)}, checked_at, run_id) "
            f"values ({', '.join('?' for _ in columns)}, current_timestamp, ?)",
            [status.get(c) for c in columns] + [run_id],
        )
        conn.execute("commit")
    except Exception:
        conn.execute("rollback")
        raise


def read_model_status(conn: duckdb.DuckDBPyConnection) -> tuple[str, str]:
    """(reason, enable_hint) of the newest training, or of there being none yet."""
    ensure_tables(conn)
    rows = conn.execute("select reason, coalesce(enable_hint, '') from ml.churn_model_status").fetchall()
    return rows[0] if rows else ("no churn model has been trained yet", "run the refresh_and_train job")


def write_scores(conn: duckdb.DuckDBPyConnection, scores: pd.DataFrame, month: str, run_id: str) -> int:
    ensure_tables(conn)
    frame = scores.assign(run_id=run_id)
    conn.register("new_scores", frame)
    try:
        conn.execute("begin transaction")
        conn.execute("delete from ml.churn_scores where snapshot_month = ?", [pd.Timestamp(month).date()])
        columns = ", ".join(frame.columns)
        conn.execute(f"insert into ml.churn_scores ({columns}) select {columns} from new_scores")
        conn.execute("commit")
    except Exception:
        conn.execute("rollback")
        raise
    finally:
        conn.unregister("new_scores")
    return len(frame)


def write_model_performance(conn: duckdb.DuckDBPyConnection, performance: pd.DataFrame) -> None:
    """Replace ``ml.model_performance`` (every stored version, by decile) from the model store; an empty
    store leaves the table empty, with its columns."""
    ensure_tables(conn)
    conn.execute("begin transaction")
    try:
        conn.execute("delete from ml.model_performance")
        if len(performance):
            conn.register("performance_frame", performance)
            conn.execute("insert into ml.model_performance by name select * from performance_frame")
            conn.unregister("performance_frame")
        conn.execute("commit")
    except Exception:
        conn.execute("rollback")
        raise
