"""What must hold before anything is published. A failing check means nothing is written and the previous
release stays current.

- dbt tests on the published marts: the result of every test from the newest dbt build is recorded in
  ``audit.dbt_test_results`` (by :func:`record_dbt_results`, called after each build), so a publish in a
  later run still knows that a mart was built while one of its tests failed. Dagster does not reliably
  block a Python asset downstream of a failing dbt test; this gate does, explicitly.
- pandera on the churn scores as published (``mart_churn_scores``).
- Great Expectations suites on every published table (:mod:`pipeline.quality`), run by the asset.
- The personal-data scan (:mod:`pipeline.publish.tables`).
"""

from __future__ import annotations

import duckdb
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

AUDIT_SCHEMA = "audit"
DBT_RESULTS_DDL = """
create table if not exists audit.dbt_test_results (
    unique_id varchar primary key,
    test_name varchar not null,
    model varchar,
    status varchar not null,
    failures bigint,
    message varchar,
    run_id varchar,
    recorded_at timestamp not null
)
"""
PASSING = {"pass", "warn", "skipped"}


class PublishBlocked(RuntimeError):
    """A blocking check failed: nothing was published."""


def test_results(run_results: dict, manifest: dict) -> pd.DataFrame:
    """One row per dbt data test in ``run_results.json``, with the model it tests."""
    nodes = manifest.get("nodes", {})
    rows = []
    for result in run_results.get("results", []):
        unique_id = result.get("unique_id", "")
        if not unique_id.startswith("test."):
            continue
        node = nodes.get(unique_id, {})
        attached = node.get("attached_node") or next(
            (n for n in node.get("depends_on", {}).get("nodes", []) if n.startswith("model.")), None
        )
        rows.append(
            {
                "unique_id": unique_id,
                "test_name": node.get("name", unique_id.split(".")[-2] if "." in unique_id else unique_id),
                "model": attached.split(".")[-1] if attached else None,
                "status": str(result.get("status")),
                "failures": result.get("failures"),
                "message": result.get("message"),
            }
        )
    return pd.DataFrame(rows, columns=["unique_id", "test_name", "model", "status", "failures", "message"]).astype(
        {"failures": "Int64"}
    )


def record_dbt_results(conn: duckdb.DuckDBPyConnection, results: pd.DataFrame, run_id: str) -> int:
    """Upsert the newest result of each test (a test not run this time keeps its last result)."""
    conn.execute(f"create schema if not exists {AUDIT_SCHEMA}")
    conn.execute(DBT_RESULTS_DDL)
    if results.empty:
        return 0
    frame = results.assign(run_id=run_id, recorded_at=pd.Timestamp.now(tz="UTC").tz_convert(None))
    conn.register("new_results", frame)
    try:
        conn.execute("begin transaction")
        conn.execute("delete from audit.dbt_test_results where unique_id in (select unique_id from new_results)")
        conn.execute(
            "insert into audit.dbt_test_results "
            "select unique_id, test_name, model, status, failures, message, run_id, recorded_at from new_results"
        )
        conn.execute("commit")
    except Exception:
        conn.execute("rollback")
        raise
    finally:
        conn.unregister("new_results")
    return len(frame)


def failing_dbt_tests(conn: duckdb.DuckDBPyConnection, tables: list[str]) -> list[str]:
    """``model: test (status)`` for every recorded test of a published table whose newest result failed."""
    exists = conn.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = 'audit' and table_name = 'dbt_test_results'"
    ).fetchall()[0][0]
    if not exists or not tables:
        return []
    placeholders = ", ".join("?" for _ in tables)
    rows = conn.execute(
        f"select model, test_name, status from audit.dbt_test_results where model in ({placeholders}) "
        "order by model, test_name",
        list(tables),
    ).fetchall()
    return [f"{model}: {test} ({status})" for model, test, status in rows if status not in PASSING]


# Types and nullability are pandera's; ranges and accepted values are mart_churn_scores.yml's dbt tests.
_SCORES_COLUMNS = {
    "account_key": pa.Column("int64", nullable=False),
    # coerce: an empty table (no model yet) reads back as object columns
    "account_id": pa.Column(str, nullable=False, coerce=True),
    "snapshot_month": pa.Column("datetime64[us]", nullable=False, coerce=True),
    "churn_probability": pa.Column(float, nullable=False, coerce=True),
    "risk_decile": pa.Column("int64", nullable=False, coerce=True),
    "risk_band": pa.Column(str, nullable=False, coerce=True),
    "expected_revenue_at_risk_eur": pa.Column(float, nullable=True, coerce=True),
    "model_version": pa.Column(str, nullable=False, coerce=True),
}


def scores_schema(manifest_path=None) -> pa.DataFrameSchema:
    from pipeline.quality.pandera_checks import dbt_checks, with_dbt_checks

    checks = {c: v for c, v in dbt_checks("mart_churn_scores", manifest_path).items() if c in _SCORES_COLUMNS}
    return pa.DataFrameSchema(
        with_dbt_checks(_SCORES_COLUMNS, checks),
        unique=["account_id", "snapshot_month"],
        strict=False,
        name="mart_churn_scores",
    )


def validate_scores(frame: pd.DataFrame) -> list[str]:
    """pandera on the published churn scores: every failure, in words (empty when valid)."""
    try:
        scores_schema().validate(frame, lazy=True)
    except SchemaErrors as errors:
        cases = errors.failure_cases
        return [
            f"mart_churn_scores.{row.column}: {row.check} (e.g. {row.failure_case!r})"
            for row in cases.drop_duplicates(subset=["column", "check"]).itertuples()
        ]
    return []
