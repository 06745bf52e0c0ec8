"""Inputs for the checks that come from the data itself: the marts as DataFrames, the reporting date, and the
row counts of the release already published. Plain DuckDB / SQLAlchemy; no Great Expectations."""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable
from typing import Any

import duckdb
import pandas as pd

MARTS_SCHEMA = "marts"


def existing_tables(conn: duckdb.DuckDBPyConnection, tables: Iterable[str], schema: str = MARTS_SCHEMA) -> list[str]:
    """The given tables that exist in the warehouse schema (a warehouse-only build has no scored marts)."""
    present = {
        row[0]
        for row in conn.execute(
            "select table_name from information_schema.tables where table_schema = ?", [schema]
        ).fetchall()
    }
    return [table for table in tables if table in present]


def read_frames(
    conn: duckdb.DuckDBPyConnection, tables: Iterable[str], schema: str = MARTS_SCHEMA
) -> dict[str, pd.DataFrame]:
    """Each table as a DataFrame, read the way DuckDB hands it to pandas (decimals as float64)."""
    return {table: conn.execute(f'select * from "{schema}"."{table}"').df() for table in tables}


def reporting_date(conn: duckdb.DuckDBPyConnection) -> datetime.date:
    """The data's own reporting date (the newest extract date of any drop), never the wall clock."""
    row = conn.execute("select max(as_of_date) from intermediate.int_reporting_period").fetchone()
    if row is None or row[0] is None:
        raise ValueError("the warehouse has no reporting date (intermediate.int_reporting_period is empty)")
    return row[0]


def newest_values(conn: duckdb.DuckDBPyConnection, suite) -> dict[str, Any]:
    """The newest value of each freshness column of a suite's table (None where it has none): one
    aggregate query, for the freshness of a table that is not read (suites.release_relative_checks_pass)."""
    from pipeline.publish.tables import valid_identifier

    columns = list((suite.meta or {}).get("freshness", {}))
    if not columns:
        return {}
    table = f"{valid_identifier(suite.meta['schema'])}.{valid_identifier(suite.meta['table'])}"
    row = conn.execute(f"select {', '.join(f'max({valid_identifier(c)})' for c in columns)} from {table}").fetchone()
    return dict(zip(columns, row or [None] * len(columns), strict=True))


def postgres_row_counts(url: str, schema: str, tables: Iterable[str]) -> dict[str, int]:
    """Rows per table of the release currently published in PostgreSQL (missing tables are left out):
    the ``previous_row_counts`` for the next release's suites."""
    import sqlalchemy as sa

    engine = sa.create_engine(sqlalchemy_url(url))
    try:
        present = set(sa.inspect(engine).get_table_names(schema=schema))
        counts = {}
        with engine.connect() as conn:
            for table in tables:
                if table in present:
                    relation = sa.table(table, schema=schema)
                    counts[table] = int(conn.execute(sa.select(sa.func.count()).select_from(relation)).scalar_one())
        return counts
    finally:
        engine.dispose()


def sqlalchemy_url(url: str) -> str:
    """A PostgreSQL URL with the psycopg 3 driver unless one is named (SQLAlchemy's default is psycopg2)."""
    return re.sub(r"^postgres(?:ql)?://", "postgresql+psycopg://", url)
