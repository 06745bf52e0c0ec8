"""Load an entity's new drops into the warehouse: raw rows, quarantine, and a ledger of files.

Semantics (DESIGN.md, landing-zone contract):
- ``raw.<source>__<entity>`` keeps every valid row of every drop with its lineage (file, sheet, row
  number, extract date; the ledger says which run loaded the file, its hash and when). Snapshot
  entities keep all snapshots (history for SCD2); increments keep all versions of a re-sent row.
  Choosing the current row (the newest snapshot; the latest version of a key) is the dbt staging
  layer's job, so raw stays an auditable copy of what arrived.
- ``meta.ingest_ledger`` remembers each file's hash: an unchanged file is never read again, a new file
  is loaded, and a file whose content changed under the same name replaces its earlier rows.
- ``quarantine.rejected_rows`` gets one row per (row, column, check) failure, with the reason in words.
- Every input row is accounted for: read = loaded + quarantined, per file and per run.
- One asset run is one transaction: its new files all land, or none does. A file that cannot be read
  fails the run naming the file; a file whose quarantined share passes the threshold fails it too, and
  its quarantine rows are still written so the reason can be seen.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from pipeline.contract import CONTRACTS, EntityContract
from pipeline.ingest import mapping, validation
from pipeline.ingest.landing import LandingFile, discover
from pipeline.ingest.readers import ReadFile, ReadOptions, UnreadableFileError, read_landing_file
from pipeline.ingest.validation import quote

# Where each row came from. Which run loaded the file, its hash and when are in meta.ingest_ledger
# (one row per file), not repeated on millions of rows.
LINEAGE_COLUMNS = {
    "_file": "varchar",
    "_sheet": "varchar",
    "_row_number": "bigint",
    "_extract_date": "date",
}

LEDGER_DDL = """
create schema if not exists meta;
create table if not exists meta.ingest_ledger (
    file varchar not null,
    source varchar not null,
    entity varchar not null,
    extract_date date not null,
    file_sha256 varchar not null,
    size_bytes bigint,
    mtime_ns bigint,
    status varchar not null,          -- loaded | rejected | failed
    rows_read bigint,
    rows_loaded bigint,
    rows_quarantined bigint,
    detected varchar,                 -- JSON: format, encoding, delimiter, decimal separator, sheets
    message varchar,
    run_id varchar,
    processed_at timestamptz not null
);
-- Added with source mappings: which mapping file (and which version of it) read the file; null: none.
alter table meta.ingest_ledger add column if not exists mapping varchar;
alter table meta.ingest_ledger add column if not exists mapping_sha256 varchar;
create schema if not exists quarantine;
create table if not exists quarantine.rejected_rows (
    run_id varchar,
    source varchar not null,
    entity varchar not null,
    file varchar not null,
    file_sha256 varchar not null,
    sheet varchar,
    row_number bigint,                -- 1 = first data row after the header
    column_name varchar,
    check_name varchar not null,
    reason varchar not null,
    value varchar,
    quarantined_at timestamptz not null
);
"""


class QuarantineThresholdExceeded(Exception):
    pass


@dataclass
class FileOutcome:
    file: str
    extract_date: str
    action: str  # new | replaced
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    detected: dict[str, str | bool]
    quarantine: pa.Table | None = None

    @property
    def quarantined_share(self) -> float:
        return self.rows_quarantined / self.rows_read if self.rows_read else 0.0


@dataclass
class IngestResult:
    source: str
    entity: str
    table: str
    files_in_landing: int
    files_unchanged: int
    loaded: list[FileOutcome] = field(default_factory=list)
    not_understood: list[str] = field(default_factory=list)
    table_rows: int = 0
    quarantine_by_check: dict[str, int] = field(default_factory=dict)

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.loaded)

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.loaded)

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.loaded)


def raw_table(contract: EntityContract) -> str:
    return f"raw.{quote(contract.table)}"


def ensure_tables(conn: duckdb.DuckDBPyConnection, contract: EntityContract) -> None:
    """The raw table with every fixed contract column, so a source without files still has its table."""
    conn.execute(LEDGER_DDL)
    conn.execute("create schema if not exists raw")
    plan = validation.plan_file(contract, dt.date.today(), {})  # the date only shapes checks, not columns
    columns = {**{c.name: c.sql_type for c in plan.columns}, **LINEAGE_COLUMNS}
    ddl = ", ".join(f"{quote(n)} {t}" for n, t in columns.items())
    conn.execute(f"create table if not exists {raw_table(contract)} ({ddl})")


def _ledger(conn: duckdb.DuckDBPyConnection, contract: EntityContract) -> dict[str, tuple]:
    rows = conn.execute(
        """
        select file, file_sha256, size_bytes, mtime_ns, status from meta.ingest_ledger
        where source = ? and entity = ?
        qualify row_number() over (partition by file order by processed_at desc) = 1
        """,
        [contract.source, contract.entity],
    ).fetchall()
    return {r[0]: r[1:] for r in rows}


def _record_ledger(
    conn: duckdb.DuckDBPyConnection,
    contract: EntityContract,
    file: LandingFile,
    sha256: str,
    status: str,
    run_id: str,
    outcome: FileOutcome | None = None,
    message: str | None = None,
) -> None:
    size, mtime = file.stat_signature()
    mapped = file.mapped.mapping if file.mapped is not None else None
    conn.execute(
        """
        insert into meta.ingest_ledger (
            file, source, entity, extract_date, file_sha256, size_bytes, mtime_ns, status, rows_read,
            rows_loaded, rows_quarantined, detected, message, run_id, processed_at, mapping, mapping_sha256
        ) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now(), ?, ?)
        """,
        [
            file.relative_path,
            contract.source,
            contract.entity,
            file.extract_date,
            sha256,
            size,
            mtime,
            status,
            outcome.rows_read if outcome else None,
            outcome.rows_loaded if outcome else None,
            outcome.rows_quarantined if outcome else None,
            json.dumps(outcome.detected if outcome else {}),
            message,
            run_id,
            str(mapped.path) if mapped else None,
            mapped.sha256 if mapped else None,
        ],
    )


def _mapping_change_note(
    conn: duckdb.DuckDBPyConnection, contract: EntityContract, file: LandingFile, run_id: str
) -> str | None:
    """A note for the ledger when this file is read by another mapping (or version of one) than the
    entity's previous load: numbers that change with a mapping must be traceable to it."""
    previous = conn.execute(
        """
        select file, mapping, mapping_sha256 from meta.ingest_ledger
        where source = ? and entity = ? and status = 'loaded' and run_id <> ?
        order by processed_at desc limit 1
        """,
        [contract.source, contract.entity, run_id],
    ).fetchall()
    if not previous:
        return None
    previous_file, previous_mapping, previous_sha = previous[0]
    mapped = file.mapped.mapping if file.mapped is not None else None
    now = (str(mapped.path), mapped.sha256) if mapped else None
    before_it = (previous_mapping, previous_sha) if previous_mapping else None
    if before_it == now:
        return None
    before = f"{before_it[0]} ({before_it[1][:12]})" if before_it else "no mapping"
    after = f"{now[0]} ({now[1][:12]})" if now else "no mapping"
    return f"read with {after}; the previous load ({previous_file}) was read with {before}"


def _decimal_separator(conn: duckdb.DuckDBPyConnection, read: ReadFile, plan: validation.FilePlan) -> str:
    declared = read.detected.get("declared_decimal_separator")
    if isinstance(declared, str):
        return declared
    numeric_text = [
        c.name for c in plan.columns if c.present and c.logical in ("money", "integer") and c.physical_type == "VARCHAR"
    ]
    if not numeric_text:
        return "point"
    comma, point = conn.execute(validation.decimal_evidence_sql(read.table, numeric_text)).fetchall()[0]
    if comma != point:
        return "comma" if comma > point else "point"
    # No decisive value (whole numbers only): Nordic semicolon exports use the decimal comma.
    return "comma" if read.detected.get("delimiter") == ";" else "point"


def _missing_columns_message(missing: tuple[str, ...], read: ReadFile) -> str:
    """Which required columns are missing, and the file's columns closest to each (a mapping's first lines)."""
    hints = []
    for name in missing:
        close = difflib.get_close_matches(name, list(read.columns), n=3, cutoff=0.5)
        if close:
            hints.append(f"{name}: closest {', '.join(close)}")
    return (
        f"required column(s) missing: {', '.join(missing)} (the file has: {', '.join(read.columns) or 'no columns'})"
        + (f"; {'; '.join(hints)}" if hints else "")
        + "; a source mapping (docs/ingest.md) can rename them"
    )


def _load_file(
    conn: duckdb.DuckDBPyConnection,
    contract: EntityContract,
    file: LandingFile,
    sha256: str,
    action: str,
    run_id: str,
    tmp_dir: Path,
) -> FileOutcome:
    rule = file.mapped.rule if file.mapped is not None else None
    if rule is not None:
        required = mapping.required_source_columns(rule, contract, file.extract_date)
    else:
        schema_columns = contract.schema(file.extract_date).columns
        required = {name for name, col in schema_columns.items() if not col.nullable and not col.regex}
    read = read_landing_file(conn, file, tmp_dir, required, rule.read_options() if rule else ReadOptions())
    checked, failed = f"{read.table}_checked", f"{read.table}_failed"
    try:
        if file.mapped is not None:
            read = mapping.apply(conn, read, file.mapped, contract, file.relative_path, file.extract_date)
            if file.mapped.rule.decimal_separator:
                read.detected["declared_decimal_separator"] = file.mapped.rule.decimal_separator
        plan = validation.plan_file(contract, file.extract_date, read.columns)
        reserved = [e for e in plan.extras if e in LINEAGE_COLUMNS or e.startswith(validation.WORKING_PREFIXES)]
        if reserved:
            # A re-export of a raw table carries _file, _row_number...: kept as extras they would collide
            # with the lineage the warehouse writes itself (and crashed the run).
            raise UnreadableFileError(
                file.relative_path,
                f"column(s) {', '.join(reserved)} use names the warehouse reserves for its own columns "
                f"({', '.join(LINEAGE_COLUMNS)}, {'*, '.join(validation.WORKING_PREFIXES)}*): rename or remove them",
            )
        if plan.missing_required:
            raise UnreadableFileError(file.relative_path, _missing_columns_message(plan.missing_required, read))
        decimal = _decimal_separator(conn, read, plan)
        read.detected["decimal_separator"] = decimal
        conn.execute(validation.checked_table_sql(plan, read.table, checked, decimal))
        for statement in validation.failures_sql(plan, checked, failed):
            conn.execute(statement)
        failed_rows = conn.execute(
            f"select count(*) from (select distinct _sheet, _row_number from {failed})"
        ).fetchall()[0][0]

        if action == "replaced":
            conn.execute(f"delete from {raw_table(contract)} where _file = ?", [file.relative_path])
        for name, sql_type in validation.raw_table_columns(plan).items():
            conn.execute(f"alter table {raw_table(contract)} add column if not exists {quote(name)} {sql_type}")
        columns = [quote(c.name) for c in plan.columns] + [quote(e) for e in plan.extras]
        conn.execute(
            f"""
            insert into {raw_table(contract)} by name
            select {", ".join(columns)}, ? as _file, c._sheet, c._row_number, ? as _extract_date
            from {checked} as c
            where not exists (select 1 from {failed} as f where {validation.same_row("f", "c")})
            """,
            [file.relative_path, file.extract_date],
        )
        # Earlier quarantine rows of this file, of any version, are superseded: its rows in raw are
        # replaced, so what the quarantine says about the file must be replaced with them.
        conn.execute("delete from quarantine.rejected_rows where file = ?", [file.relative_path])
        conn.execute(
            f"""
            insert into quarantine.rejected_rows
            select ?, ?, ?, ?, ?, _sheet, _row_number, column_name, check_name, reason, left(value, 1000), now()
            from {failed}
            """,
            [run_id, contract.source, contract.entity, file.relative_path, sha256],
        )
        if read.rejects:
            conn.executemany(
                "insert into quarantine.rejected_rows "
                "values (?, ?, ?, ?, ?, null, ?, null, 'malformed_row', ?, ?, now())",
                [
                    [
                        run_id,
                        contract.source,
                        contract.entity,
                        file.relative_path,
                        sha256,
                        r.row_number,
                        r.problem,
                        r.raw_line[:1000],
                    ]
                    for r in read.rejects
                ],
            )
        quarantined = failed_rows + len(read.rejects)
        return FileOutcome(
            file=file.relative_path,
            extract_date=file.extract_date.isoformat(),
            action=action,
            rows_read=read.rows_read,
            rows_loaded=read.rows_parsed - failed_rows,
            rows_quarantined=quarantined,
            detected=read.detected,
        )
    finally:
        for statement in (
            f"drop table if exists {failed}",
            f"drop table if exists {checked}",
            *read.cleanup,
        ):
            try:
                conn.execute(statement)
            except duckdb.TransactionException:
                break  # the transaction failed; its rollback removes these temporary tables


def ingest_entity(
    conn: duckdb.DuckDBPyConnection,
    contract: EntityContract,
    landing_dir: Path,
    run_id: str,
    *,
    max_quarantine_share: float = 0.05,
    tmp_dir: Path | None = None,
    mappings_dir: Path | None = None,
) -> IngestResult:
    """Load the entity's new and changed drops; see the module docstring for the guarantees."""
    ensure_tables(conn, contract)
    known = frozenset(c.entity for c in CONTRACTS if c.source == contract.source)
    mappings = mapping.load_mappings(mappings_dir, contract.source)
    route = functools.partial(mapping.match_file, mappings) if mappings else None
    drops, not_understood = discover(landing_dir, contract.source, contract.entity, known, route)
    ledger = _ledger(conn, contract)
    result = IngestResult(
        source=contract.source,
        entity=contract.entity,
        table=f"raw.{contract.table}",
        files_in_landing=len(drops),
        files_unchanged=0,
        not_understood=not_understood,
    )
    pending: list[tuple[LandingFile, str, str]] = []
    for file in drops:
        previous = ledger.get(file.relative_path)
        loaded_before = previous is not None and previous[3] == "loaded"
        if previous is not None and loaded_before and (previous[1], previous[2]) == file.stat_signature():
            result.files_unchanged += 1
            continue
        sha256 = file.sha256()
        if previous is not None and loaded_before and previous[0] == sha256:
            result.files_unchanged += 1
            continue
        pending.append((file, sha256, "replaced" if loaded_before else "new"))

    with tempfile.TemporaryDirectory(prefix="ingest-", dir=tmp_dir) as scratch:
        conn.execute("begin transaction")
        try:
            for file, sha256, action in pending:
                outcome = _load_file(conn, contract, file, sha256, action, run_id, Path(scratch))
                if outcome.quarantined_share > max_quarantine_share:
                    outcome.quarantine = conn.sql(
                        "select * from quarantine.rejected_rows where file = $1 and file_sha256 = $2",
                        params=[file.relative_path, sha256],
                    ).to_arrow_table()
                result.loaded.append(outcome)
            over = [o for o in result.loaded if o.quarantine is not None]
            if over:
                conn.execute("rollback")
            else:
                for (file, sha256, _), outcome in zip(pending, result.loaded, strict=True):
                    note = _mapping_change_note(conn, contract, file, run_id)
                    _record_ledger(conn, contract, file, sha256, "loaded", run_id, outcome, note)
                conn.execute("commit")
        except UnreadableFileError as error:
            conn.execute("rollback")
            failed = next(((f, s) for f, s, _ in pending if f.relative_path == error.file), None)
            if failed is not None:  # else a bug named the file otherwise: still raise the file's error
                _record_ledger(conn, contract, failed[0], failed[1], "failed", run_id, message=error.problem)
            raise
        except BaseException:
            conn.execute("rollback")
            raise

    if over:
        _reject(conn, contract, pending, result, run_id, max_quarantine_share)
    result.table_rows = conn.execute(f"select count(*) from {raw_table(contract)}").fetchall()[0][0]
    result.quarantine_by_check = dict(
        conn.execute(
            """
            select check_name, count(*) from quarantine.rejected_rows
            where source = ? and entity = ? and run_id = ? group by all order by 2 desc
            """,
            [contract.source, contract.entity, run_id],
        ).fetchall()
    )
    return result


def _reject(
    conn: duckdb.DuckDBPyConnection,
    contract: EntityContract,
    pending: list[tuple[LandingFile, str, str]],
    result: IngestResult,
    run_id: str,
    max_quarantine_share: float,
) -> None:
    """The run loaded nothing; keep the evidence (quarantine rows, ledger) and fail it."""
    conn.execute("begin transaction")
    for (file, sha256, _), outcome in zip(pending, result.loaded, strict=True):
        if outcome.quarantine is None:
            continue
        conn.execute(
            "delete from quarantine.rejected_rows where file = ? and file_sha256 = ?", [file.relative_path, sha256]
        )
        conn.register("_rejected_rows", outcome.quarantine)
        conn.execute("insert into quarantine.rejected_rows select * from _rejected_rows")
        conn.unregister("_rejected_rows")
        message = (
            f"{outcome.rows_quarantined} of {outcome.rows_read} rows ({outcome.quarantined_share:.1%}) broke the "
            f"contract; the limit is {max_quarantine_share:.1%}"
        )
        _record_ledger(conn, contract, file, sha256, "rejected", run_id, outcome, message)
    conn.execute("commit")
    details = "; ".join(
        f"{o.file}: {o.rows_quarantined} of {o.rows_read} rows quarantined ({o.quarantined_share:.1%})"
        for o in result.loaded
        if o.quarantine is not None
    )
    raise QuarantineThresholdExceeded(
        f"{contract.source}/{contract.entity}: quarantined share above {max_quarantine_share:.1%}, nothing loaded "
        f"(see quarantine.rejected_rows): {details}"
    )


@dataclass(frozen=True)
class Reconciliation:
    """Raw rows against what the ledger says was loaded: every loaded row is still there, no more."""

    table_rows: int
    ledger_rows_loaded: int
    ledger_rows_read: int
    ledger_rows_quarantined: int

    @property
    def holds(self) -> bool:
        return (
            self.table_rows == self.ledger_rows_loaded
            and self.ledger_rows_read == self.ledger_rows_loaded + self.ledger_rows_quarantined
        )


def reconcile(conn: duckdb.DuckDBPyConnection, contract: EntityContract) -> Reconciliation:
    ensure_tables(conn, contract)
    table_rows = conn.execute(f"select count(*) from {raw_table(contract)}").fetchall()[0][0]
    read, loaded, quarantined = conn.execute(
        """
        select coalesce(sum(rows_read), 0), coalesce(sum(rows_loaded), 0), coalesce(sum(rows_quarantined), 0)
        from (
            -- the latest successful load of each file is what raw holds (a failed retry changes nothing)
            select * from meta.ingest_ledger where source = ? and entity = ? and status = 'loaded'
            qualify row_number() over (partition by file order by processed_at desc) = 1
        )
        """,
        [contract.source, contract.entity],
    ).fetchall()[0]
    return Reconciliation(table_rows, int(loaded), int(read), int(quarantined))
