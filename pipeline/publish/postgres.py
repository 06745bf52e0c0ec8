"""The PostgreSQL BI layer (when ``PIPELINE_BI_POSTGRES_URL`` is set): load, then swap in one transaction.

1. Every table is created in a staging schema (``<schema>_staging``) and loaded with ``COPY ... FROM
   STDIN`` (CSV written by DuckDB, streamed; no row-by-row inserts).
2. One transaction renames the published schema away, renames the staging schema into its place, drops
   the old one and re-grants the reader role. PostgreSQL's DDL is transactional: a BI query sees the old
   schema or the new one, never a mix, and a failure anywhere before the commit leaves the old one.
3. The reader role (a group role, NOLOGIN; BI users are its members) gets CONNECT on the database, USAGE
   on the schema and SELECT on its tables, with default privileges for tables created later. It owns
   nothing and has no other grant, so it cannot write.

Every table and the schema carry a comment with the run id and the publish time; a table's comment ends
with its content fingerprint (``tables.content_fingerprint``). A table whose fingerprint equals the one
in the published schema is not loaded again: the swap transaction moves it from the old schema into the
new one (``alter table ... set schema``), so a day that changed two tables loads two, and readers still
see the whole old schema or the whole new one. A moved table keeps its comment and its rows their
``published_run_id``: the run that published that content. Connection details and passwords come only
from the environment (the URL); they are never logged.
"""

from __future__ import annotations

import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import psycopg
from psycopg import sql

from pipeline.publish.tables import MARTS_SCHEMA, PublishedTable, content_fingerprint, valid_identifier

# DuckDB type -> PostgreSQL type (anything else is text, so a load never fails on an exotic type).
PG_TYPES = {
    "VARCHAR": "text",
    "BIGINT": "bigint",
    "INTEGER": "integer",
    "SMALLINT": "smallint",
    "HUGEINT": "numeric(38, 0)",
    "DATE": "date",
    "BOOLEAN": "boolean",
    "DOUBLE": "double precision",
    "FLOAT": "real",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP_NS": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
}


CONTENT_IN_COMMENT = re.compile(r", content ([0-9a-f]{64})$")


def pg_type(duckdb_type: str) -> str:
    upper = duckdb_type.upper()
    if upper.startswith("DECIMAL"):
        return upper.replace("DECIMAL", "numeric").lower()
    return PG_TYPES.get(upper, "text")


def ensure_reader_role(conn: psycopg.Connection, role: str) -> None:
    exists = conn.execute("select 1 from pg_roles where rolname = %s", [role]).fetchone()
    if not exists:
        conn.execute(sql.SQL("create role {} nologin").format(sql.Identifier(role)))


def publish_postgres(
    duck: duckdb.DuckDBPyConnection,
    tables: list[PublishedTable],
    url: str,
    run_id: str,
    schema: str = "bi",
    reader_role: str = "bi_reader",
    now: datetime | None = None,
) -> dict[str, int]:
    """Load every changed table into ``<schema>_staging``, move the unchanged ones there from ``<schema>``
    and swap it in as ``<schema>``, in one transaction. Returns row counts."""
    schema, reader_role = valid_identifier(schema), valid_identifier(reader_role)
    staging, retired = f"{schema}_staging", f"{schema}_retired"
    published_at = (now or datetime.now(UTC)).replace(tzinfo=None)
    stamp = f"run {run_id}, published {published_at.isoformat(timespec='seconds')}Z"
    counts: dict[str, int] = {}
    with psycopg.connect(url) as pg, tempfile.TemporaryDirectory(prefix="bi-copy-") as scratch:
        # One publisher per schema at a time (they share the staging schema). A session lock: the server
        # drops it when the connection ends, also when the process dies.
        pg.execute("select pg_advisory_lock(hashtext(%s))", [f"account_intelligence publish {schema}"])
        pg.commit()
        ensure_reader_role(pg, reader_role)
        pg.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(staging)))
        pg.execute(sql.SQL("create schema {}").format(sql.Identifier(staging)))
        pg.commit()
        published = _published_content(pg, schema)
        unchanged = []
        for table in tables:
            writer = "csv copy as " + ", ".join(pg_type(t) for _, t in table.columns)
            fingerprint = content_fingerprint(duck, table, writer)
            if published.get(table.name) == fingerprint:
                unchanged.append(table.name)
                counts[table.name] = table.rows
                continue
            counts[table.name] = _load_table(duck, pg, table, staging, run_id, published_at, Path(scratch))
            pg.execute(
                sql.SQL("comment on table {}.{} is {}").format(
                    sql.Identifier(staging), sql.Identifier(table.name), sql.Literal(f"{stamp}, content {fingerprint}")
                )
            )
            pg.commit()
        # The swap: one transaction, so readers see the old schema or the new, never a mix.
        with pg.transaction():
            for name in unchanged:
                pg.execute(
                    sql.SQL("alter table {}.{} set schema {}").format(
                        sql.Identifier(schema), sql.Identifier(name), sql.Identifier(staging)
                    )
                )
            (database,) = pg.execute("select current_database()").fetchone() or ("",)
            pg.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(retired)))
            if pg.execute("select 1 from pg_namespace where nspname = %s", [schema]).fetchone():
                pg.execute(
                    sql.SQL("alter schema {} rename to {}").format(sql.Identifier(schema), sql.Identifier(retired))
                )
            pg.execute(sql.SQL("alter schema {} rename to {}").format(sql.Identifier(staging), sql.Identifier(schema)))
            pg.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(retired)))
            pg.execute(sql.SQL("comment on schema {} is {}").format(sql.Identifier(schema), sql.Literal(stamp)))
            grant_reader(pg, database, schema, reader_role)
    return counts


def _published_content(pg: psycopg.Connection, schema: str) -> dict[str, str]:
    """The content fingerprint in each published table's comment (none for a table without one)."""
    rows = pg.execute(
        "select c.relname, obj_description(c.oid, 'pg_class') from pg_class c "
        "join pg_namespace n on n.oid = c.relnamespace where n.nspname = %s and c.relkind = 'r'",
        [schema],
    ).fetchall()
    found = {}
    for name, comment in rows:
        match = CONTENT_IN_COMMENT.search(comment or "")
        if match:
            found[name] = match.group(1)
    return found


def grant_reader(pg: psycopg.Connection, database: str, schema: str, role: str) -> None:
    """Read-only access for the BI readers: re-run after every swap (the schema is new)."""
    ident_role, ident_schema = sql.Identifier(role), sql.Identifier(schema)
    pg.execute(sql.SQL("grant connect on database {} to {}").format(sql.Identifier(database), ident_role))
    pg.execute(sql.SQL("grant usage on schema {} to {}").format(ident_schema, ident_role))
    pg.execute(sql.SQL("grant select on all tables in schema {} to {}").format(ident_schema, ident_role))
    pg.execute(
        sql.SQL("alter default privileges in schema {} grant select on tables to {}").format(ident_schema, ident_role)
    )


def _load_table(
    duck: duckdb.DuckDBPyConnection,
    pg: psycopg.Connection,
    table: PublishedTable,
    staging: str,
    run_id: str,
    published_at: datetime,
    scratch: Path,
) -> int:
    name = valid_identifier(table.name)
    columns = [(c, pg_type(t)) for c, t in table.columns] + [
        ("published_run_id", "text"),
        ("published_at", "timestamp"),
    ]
    pg.execute(
        sql.SQL("create table {}.{} ({})").format(
            sql.Identifier(staging),
            sql.Identifier(name),
            sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(t)) for c, t in columns),
        )
    )
    # DuckDB writes CSV (NULL as an unquoted empty field, every text value quoted so an empty string
    # stays an empty string); PostgreSQL's CSV COPY reads exactly that.
    path = scratch / f"{name}.csv"
    quoted = str(path).replace("'", "''")
    text_columns = [c for c, t in table.columns if pg_type(t) == "text"] + ["published_run_id"]
    force_quote = ", ".join(f'"{c}"' for c in text_columns)
    duck.execute(
        f"copy (select *, ? as published_run_id, cast(? as timestamp) as published_at "
        f"from {MARTS_SCHEMA}.\"{name}\") to '{quoted}' (format csv, header false, force_quote ({force_quote}))",
        [run_id, published_at],
    )
    target = sql.SQL("copy {}.{} ({}) from stdin with (format csv)").format(
        sql.Identifier(staging), sql.Identifier(name), sql.SQL(", ").join(sql.Identifier(c) for c, _ in columns)
    )
    with pg.cursor() as cursor, cursor.copy(target) as copy, open(path, "rb") as source:
        for block in iter(lambda: source.read(1 << 20), b""):
            copy.write(block)
    path.unlink()
    (rows,) = pg.execute(
        sql.SQL("select count(*) from {}.{}").format(sql.Identifier(staging), sql.Identifier(name))
    ).fetchone() or (0,)
    return int(rows)
