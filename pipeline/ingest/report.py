"""What an ingest materialisation tells its reader in the Dagster UI: counts, files, a preview."""

from __future__ import annotations

import duckdb

from pipeline.contract import EntityContract
from pipeline.ingest.loader import IngestResult, raw_table
from pipeline.ingest.validation import quote


def preview_markdown(conn: duckdb.DuckDBPyConnection, contract: EntityContract, run_id: str, limit: int = 5) -> str:
    """A few rows loaded by this run, without personal data or lineage columns."""
    hidden = contract.personal_columns
    columns = [
        name
        for (name,) in conn.execute(
            "select column_name from information_schema.columns where table_schema = 'raw' and table_name = ? "
            "order by ordinal_position",
            [contract.table],
        ).fetchall()
        if name not in hidden and not name.startswith("_")
    ]
    if not columns:
        return "_no columns_"
    rows = conn.execute(
        f"select {', '.join(quote(c) for c in columns)} from {raw_table(contract)} where _file in ("
        f"select file from meta.ingest_ledger where run_id = ? and status = 'loaded' "
        f"and source = '{contract.source}' and entity = '{contract.entity}') "
        f"order by _file, _row_number limit {int(limit)}",
        [run_id],
    ).fetchall()
    if not rows:
        return "_no rows loaded in this run_"

    def cell(value: object) -> str:
        return "" if value is None else str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def files_markdown(result: IngestResult) -> str:
    if not result.loaded:
        return "_no new or changed files_"
    lines = ["| file | action | read | loaded | quarantined | detected |", "|---|---|---|---|---|---|"]
    for f in result.loaded:
        detected = ", ".join(f"{k}={v}" for k, v in f.detected.items() if v)
        lines.append(f"| {f.file} | {f.action} | {f.rows_read} | {f.rows_loaded} | {f.rows_quarantined} | {detected} |")
    return "\n".join(lines)
