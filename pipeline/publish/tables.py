"""Which warehouse tables the BI layer gets, and the scan that keeps personal data out of it."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

import duckdb

from pipeline.catalog import MARTS_SCHEMA, PUBLISHED_PREFIXES, has_published_name
from pipeline.config import IDENTIFIER

__all__ = ["MARTS_SCHEMA", "PUBLISHED_PREFIXES"]  # re-exported: what is published is pipeline.catalog's
# Every published row says which run produced it and when (DESIGN.md, "Output").
LINEAGE_COLUMNS = ("published_run_id", "published_at")

# Column names that would carry personal data (DESIGN.md: contact emails, names, notes, comments). A
# company's legal name (account_name) and a driver's or segment's label are not personal data.
PERSONAL_DATA_PATTERN = re.compile(
    r"(^|_)(e_?mail|phone|notes?|comments?|first_name|last_name|full_name|person|contact_name|owner)($|_)"
)
NOT_PERSONAL = {"account_owner_key"}


@dataclass(frozen=True)
class PublishedTable:
    name: str
    columns: tuple[tuple[str, str], ...]  # (name, DuckDB type)
    rows: int


def valid_identifier(name: str) -> str:
    """Table and schema names reach SQL as identifiers: only plain lowercase names are accepted."""
    if not IDENTIFIER.match(name):
        raise ValueError(f"not a plain SQL identifier: {name!r}")
    return name


def published_tables(conn: duckdb.DuckDBPyConnection, names: list[str] | None = None) -> list[PublishedTable]:
    """The marts the BI layer gets, as the warehouse holds them: ``names`` (the catalog's published models,
    pipeline.catalog, which the release passes), each of which must exist; without names, every table of
    the marts schema with a published name (for a warehouse without a manifest at hand)."""
    present = [
        row[0]
        for row in conn.execute(
            "select table_name from information_schema.tables where table_schema = ? order by table_name",
            [MARTS_SCHEMA],
        ).fetchall()
    ]
    if names is None:
        names = [name for name in present if has_published_name(name)]
    missing = sorted(set(names) - set(present))
    if missing:
        raise ValueError(f"published models missing from the warehouse's {MARTS_SCHEMA} schema: {missing}")
    names = sorted(names)
    tables = []
    for name in names:
        columns = tuple(
            (c, t)
            for c, t in conn.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = ? and table_name = ? order by ordinal_position",
                [MARTS_SCHEMA, name],
            ).fetchall()
        )
        (rows,) = conn.execute(f'select count(*) from {MARTS_SCHEMA}."{valid_identifier(name)}"').fetchall()[0]
        tables.append(PublishedTable(name=name, columns=columns, rows=int(rows)))
    return tables


def content_fingerprint(conn: duckdb.DuckDBPyConnection, table: PublishedTable, writer: str) -> str:
    """A fingerprint of a table's content: its columns and types, its row count and an order-free sum of
    its rows' hashes, with the DuckDB version and the writer's settings (``writer``). Equal fingerprints mean
    the file or table published last time holds the same rows: a publish reuses it instead of writing it
    again. One scan, far cheaper than writing the file; a new DuckDB version or writer setting (whose hash
    or output may differ) rewrites everything once."""
    name = valid_identifier(table.name)
    rows, row_hash_sum = conn.execute(
        f'select count(*), coalesce(sum(hash(t)::hugeint), 0) from {MARTS_SCHEMA}."{name}" t'
    ).fetchall()[0]
    payload = [duckdb.__version__, writer, [list(c) for c in table.columns], int(rows), str(row_hash_sum)]
    return hashlib.sha256(json.dumps(payload).encode()).hexdigest()


def personal_data_columns(tables: list[PublishedTable]) -> list[str]:
    """``table.column`` for every column whose name looks like personal data."""
    return [
        f"{t.name}.{c}"
        for t in tables
        for c, _ in t.columns
        if c not in NOT_PERSONAL and PERSONAL_DATA_PATTERN.search(c.lower())
    ]
