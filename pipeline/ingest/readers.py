"""Readers: turn one landing file into a DuckDB table of its rows, whatever tool exported it.

Every reader produces the same shape: a temporary table with the file's columns under their
lower-cased names, plus ``_sheet`` (XLSX only) and ``_row_number`` (1 = the first data row after the
header). CSV values stay text here; typing happens in validation, where a value that does not parse is
quarantined rather than failing the file.

Detection (nobody tells us how a file was exported):
- encoding: a byte-order mark decides; else the whole file is checked as strict UTF-8; else
  Windows-1252 (what Excel and Finnish CRMs write), else charset-normalizer's best guess. DuckDB cannot
  load its ``encodings`` extension offline, so non-UTF-8 text is transcoded here, in streaming blocks.
- delimiter: the candidate that splits the header and the sample rows into the same number of fields;
- the decimal separator is decided per file in validation, from the numeric values themselves.

Rows the CSV parser cannot split into the header's fields (a truncated line, a stray quote) are
returned as structural rejects with their row number, for the quarantine.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import functools
import io
import re
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.ingest.landing import LandingFile

DELIMITER_CANDIDATES = (";", ",", "\t", "|")
SAMPLE_BYTES = 1 << 18
BLOCK_BYTES = 1 << 22


class UnreadableFileError(Exception):
    """A file that cannot be read as a table at all; the message names the file and the problem."""

    def __init__(self, file: str, problem: str):
        super().__init__(f"{file}: {problem}")
        self.file = file
        self.problem = problem


@dataclass
class StructuralReject:
    row_number: int
    problem: str
    raw_line: str


@dataclass
class ReadFile:
    """A landing file staged in DuckDB as ``table``; what was detected goes to the ledger."""

    table: str
    columns: dict[str, str]  # lower-cased name -> DuckDB type of the staged column
    rows_parsed: int
    rejects: list[StructuralReject] = field(default_factory=list)
    detected: dict[str, str | bool] = field(default_factory=dict)
    cleanup: list[str] = field(default_factory=list)  # statements that drop the staged objects
    header: dict[str, str] = field(default_factory=dict)  # staged name -> the header as the file spells it

    @property
    def rows_read(self) -> int:
        return self.rows_parsed + len(self.rejects)


@dataclass(frozen=True)
class ReadOptions:
    """How a source system lays out its export, when a mapping says so (pipeline.ingest.mapping)."""

    header_row: int = 1  # the header's line (CSV) or row from the sheet's first non-empty row (XLSX)
    rows_after_header: int = 0  # rows under the header that are not data (a survey tool's question texts)
    sheet: str | None = None  # the one XLSX sheet to read; None: every sheet with the required columns


def normalise_column_name(name: object, position: int) -> str:
    """The header as the contract spells its columns: no byte-order mark, no surrounding whitespace, lower
    case, and a run of spaces (no-break spaces too) inside the name as one underscore: ``Account Name``
    reads as ``account_name``."""
    text = str(name).replace("\ufeff", "").strip().lower() if name is not None else ""
    return re.sub(r"\s+", "_", text) or f"column_{position + 1}"


def _unique_names(file: str, names: list[str], originals: list[object] | None = None) -> list[str]:
    """``names``, refused when two header cells read as the same column (naming both as written)."""
    duplicated = [name for name, count in Counter(names).items() if count > 1]
    if duplicated:
        spelled = originals if originals is not None else names
        clashes = "; ".join(
            " and ".join(repr(str(o)) for o, n in zip(spelled, names, strict=True) if n == name)
            + f" both read as {name}"
            for name in duplicated
        )
        raise UnreadableFileError(file, f"two header columns are the same column: {clashes}")
    return names


# Excel's first line naming the delimiter (`sep=;`), which Excel writes and reads: not a header.
_EXCEL_SEPARATOR_LINE = re.compile(r'^"?sep=(.)"?\s*$', re.IGNORECASE)


def excel_separator(sample: str) -> tuple[str | None, str]:
    """(the delimiter an Excel ``sep=`` first line names, the sample without that line); (None, sample)
    when the first line is not one."""
    first, _, rest = sample.partition("\n")
    match = _EXCEL_SEPARATOR_LINE.match(first.rstrip("\r"))
    return (match.group(1), rest) if match else (None, sample)


# --- encoding ---------------------------------------------------------------------------------------

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _decodes_fully(path: Path, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(BLOCK_BYTES), b""):
                decoder.decode(block)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


_ESCAPED_BYTES = re.compile("[\udc80-\udcff]+")  # what surrogateescape makes of bytes that are not UTF-8


def _utf8_evidence(blocks: Iterable[bytes]) -> tuple[int, int]:
    """(valid multi-byte UTF-8 characters, runs of bytes that are not UTF-8) in the text."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="surrogateescape")
    valid = invalid = 0
    for block in blocks:
        text = decoder.decode(block)
        runs = _ESCAPED_BYTES.findall(text)
        invalid += len(runs)
        valid += len(text) - len(text.encode("ascii", errors="ignore")) - sum(map(len, runs))
    # Not decoded with final=True: a character cut off by the end of the text is no evidence against UTF-8.
    return valid, invalid


def _blocks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        yield from iter(lambda: handle.read(BLOCK_BYTES), b"")


def detect_encoding(path: Path, *, sample_only: bool = False, name: str | None = None) -> str:
    """The file's text encoding. ``sample_only``: judge UTF-8 on the first 1 MiB; the caller lets
    DuckDB's reader check the rest and comes back for a full detection if it finds invalid bytes.
    ``name``: how errors name the file (the landing-relative path the ledger uses).

    UTF-8 with a few bytes that are not UTF-8 (a file cut inside a character, a line pasted from another
    system) is still UTF-8: read as Windows-1252, every one of its other non-ASCII characters would turn
    silently into mojibake; read as UTF-8, only the lines with the bad bytes are quarantined. Windows-1252
    text has next to no valid multi-byte sequences ("ä" is one byte, followed by ASCII), so more valid
    multi-byte characters than invalid sequences means UTF-8."""
    with open(path, "rb") as handle:
        head = handle.read(SAMPLE_BYTES * 4)
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return encoding
    valid, invalid = _utf8_evidence([head] if sample_only else _blocks(path))
    if invalid == 0 or valid > invalid:
        return "utf-8"
    if _decodes_fully(path, "cp1252"):
        return "cp1252"
    from charset_normalizer import from_path

    best = from_path(path).best()
    if best is None:
        raise UnreadableFileError(
            name or path.name, "the text encoding could not be determined (not UTF-8, not Windows-1252)"
        )
    return best.encoding


# Bytes that do not decode (a UTF-16 file cut in the middle of a character) become one byte that is
# invalid UTF-8, so DuckDB rejects their line as a malformed row instead of the whole file failing with
# a bare UnicodeDecodeError, or the line loading with a replacement character.
_UNDECODABLE = "ingest_mark_undecodable"
codecs.register_error(_UNDECODABLE, lambda error: ("\udcff", error.end))  # type: ignore[attr-defined]  # a decode error


def transcode_to_utf8(path: Path, encoding: str, target: Path) -> None:
    decoder = codecs.getincrementaldecoder(encoding)(errors=_UNDECODABLE)
    with open(path, "rb") as source, open(target, "wb") as sink:
        for block in iter(lambda: source.read(BLOCK_BYTES), b""):
            sink.write(decoder.decode(block).encode("utf-8", errors="surrogateescape"))
        sink.write(decoder.decode(b"", final=True).encode("utf-8", errors="surrogateescape"))


# --- CSV dialect ------------------------------------------------------------------------------------


def _sample_text(path: Path) -> str:
    with open(path, "rb") as handle:
        raw = handle.read(SAMPLE_BYTES)
    text = raw.decode("utf-8", errors="replace").lstrip("\ufeff")
    if len(raw) == SAMPLE_BYTES and "\n" in text:
        text = text[: text.rindex("\n") + 1]  # drop the partial last line of the sample
    return text


def detect_delimiter(sample: str) -> str:
    """The delimiter under which the header and the sampled rows agree on their number of fields."""
    best, best_score = None, (-1.0, 0)
    for delimiter in DELIMITER_CANDIDATES:
        records = list(csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter, quotechar='"'))
        records = [r for r in records if r]
        if not records or len(records[0]) < 2:
            continue
        width = len(records[0])
        body = records[1:]
        consistency = sum(len(r) == width for r in body) / len(body) if body else 1.0
        score = (consistency, width)
        if score > best_score:
            best, best_score = delimiter, score
    if best is None:
        raise ValueError("no delimiter splits the header into two or more columns")
    return best


# Binary formats saved under a .csv name: say what the file is instead of guessing a text encoding.
_BINARY_SIGNATURES = (
    (b"PK\x03\x04", "a ZIP archive (an XLSX workbook?)"),
    (b"PAR1", "a Parquet file"),
    (b"\xd0\xcf\x11\xe0", "an old binary Excel (.xls) workbook"),
)


def read_csv(
    conn: duckdb.DuckDBPyConnection, file: LandingFile, tmp_dir: Path, options: ReadOptions = ReadOptions()
) -> ReadFile:
    if file.path.stat().st_size == 0:
        raise UnreadableFileError(file.relative_path, "the file is empty (no header row)")
    with open(file.path, "rb") as handle:
        magic = handle.read(4)
    for signature, what in _BINARY_SIGNATURES:
        if magic.startswith(signature):
            raise UnreadableFileError(file.relative_path, f"not CSV text: the file is {what}")
    # UTF-8 judged on a sample saves a pass over big files; DuckDB flags invalid bytes further on,
    # and then the whole file is detected properly and, unless it is UTF-8 after all, read again.
    read = _read_csv_as(
        conn, file, tmp_dir, detect_encoding(file.path, sample_only=True, name=file.relative_path), options
    )
    if read.detected["encoding"] == "utf-8" and any(r.problem.startswith("INVALID ENCODING") for r in read.rejects):
        encoding = detect_encoding(file.path, name=file.relative_path)
        if encoding != "utf-8":
            for statement in read.cleanup:
                conn.execute(statement)
            read = _read_csv_as(conn, file, tmp_dir, encoding, options)
    return _drop_rows_after_header(conn, read, options.rows_after_header)


def _read_csv_as(
    conn: duckdb.DuckDBPyConnection, file: LandingFile, tmp_dir: Path, encoding: str, options: ReadOptions
) -> ReadFile:
    path = file.path
    readable = path
    if encoding not in ("utf-8", "utf-8-sig"):
        readable = tmp_dir / f"{uuid.uuid4().hex}.csv"
        transcode_to_utf8(path, encoding, readable)
    try:
        sample = _sample_text(readable)
        if not sample.strip():
            raise UnreadableFileError(file.relative_path, "the file has no header row")
        named_delimiter, sample = excel_separator(sample)
        skip = 0 if named_delimiter is None else 1
        if options.header_row > 1:  # lines above the header (a report title, an export date)
            sample = "".join(sample.splitlines(keepends=True)[options.header_row - 1 :])
            skip += options.header_row - 1
        if not sample.strip():
            raise UnreadableFileError(file.relative_path, "the file has no header row")
        try:
            delimiter = named_delimiter or detect_delimiter(sample)
        except ValueError as error:
            raise UnreadableFileError(file.relative_path, f"not a delimited table: {error}") from error
        header = next(csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter, quotechar='"'))
        names = _unique_names(
            file.relative_path, [normalise_column_name(n, i) for i, n in enumerate(header)], list(header)
        )
        table = f"_stage_{uuid.uuid4().hex[:12]}"
        rejects_scan, rejects_table = f"{table}_rejects_scan", f"{table}_rejects"
        # A column named rowid (Oracle and SQLite exports have one) would hide DuckDB's rowid, which
        # numbers the rows: it is staged under another name and renamed back in the view.
        staged = [_STAGED_ROWID if n == "rowid" else n for n in names]
        columns_sql = "{" + ", ".join(f"'{_sql_string(n)}': 'VARCHAR'" for n in staged) + "}"
        try:
            conn.execute(
                f"""
                create temp table {table}_parsed as
                select * from read_csv(
                    ?, columns = {columns_sql}, header = true, auto_detect = false,
                    delim = ?, quote = '"', escape = '"', strict_mode = true,
                    store_rejects = true, rejects_scan = '{rejects_scan}', rejects_table = '{rejects_table}',
                    max_line_size = 16777216, skip = ?
                )
                """,
                [str(readable), delimiter, skip],
            )
        except duckdb.Error as error:
            raise UnreadableFileError(file.relative_path, f"the CSV parser gave up: {error}") from error
        # The parser may report several errors for one line (one per missing column): one reject each.
        rejects = [
            # DuckDB counts the file's lines: the header (and a `sep=` line) are not rows.
            StructuralReject(row_number=line - 1 - skip, problem=problem, raw_line=raw_line.strip("\r\n"))
            for line, problem, raw_line in conn.execute(
                f"""
                select line, first(error_type || ': ' || error_message order by column_idx), first(csv_line)
                from {rejects_table} group by line order by line
                """
            ).fetchall()
        ]
        conn.execute(f"drop table if exists {rejects_table}; drop table if exists {rejects_scan}")
        _refuse_unclosed_quote(file, rejects)
        rows_parsed = _number_rows(conn, f"{table}_parsed", table, rejects, rename_rowid="rowid" in names)
        lines_under_header = sum(1 for line in sample.splitlines()[1:] if line.strip())
        if rows_parsed + len(rejects) == 0 and lines_under_header:
            # DuckDB's parser returns no rows at all for some files it cannot follow (line ends that change
            # after a skipped first line): never report such a file as loaded and empty.
            raise UnreadableFileError(
                file.relative_path,
                f"the CSV parser read no rows although {lines_under_header} line(s) follow the header "
                "(line ends mixed: some lines end in CRLF, others in LF?): save the file again with one kind",
            )
    finally:
        if readable != path:
            readable.unlink(missing_ok=True)
    return ReadFile(
        table=table,
        columns={n: "VARCHAR" for n in names},
        rows_parsed=rows_parsed,
        rejects=rejects,
        detected={"format": "csv", "encoding": encoding, "delimiter": delimiter}
        | ({"excel_separator_line": True} if named_delimiter else {}),
        cleanup=[f"drop view if exists {table}", f"drop table if exists {table}_parsed"],
        header=dict(zip(names, (str(h).replace("\ufeff", "").strip() for h in header), strict=True)),
    )


def _refuse_unclosed_quote(file: LandingFile, rejects: list[StructuralReject]) -> None:
    """A quote that is never closed makes the rest of the file one field: the lines after it would be
    one quarantined "row" and drop out of the row count. That file cannot be split into rows."""
    for reject in rejects:
        swallowed = reject.raw_line.count("\n")
        if "unterminated quote" in reject.problem and swallowed:
            raise UnreadableFileError(
                file.relative_path,
                f"row {reject.row_number} opens a quote that is never closed, so the {swallowed} line(s) after "
                "it cannot be split into rows (an unescaped quote in a text field, or a file cut inside a "
                "quoted value)",
            )


def _drop_rows_after_header(conn: duckdb.DuckDBPyConnection, read: ReadFile, count: int) -> ReadFile:
    """Without the ``count`` rows under the header that are not data (a Qualtrics export's question texts
    and import ids). The data rows keep their row numbers, so a quarantined row still points at its line."""
    if not count:
        return read
    skipped = conn.execute(f"select count(*) from {read.table} where _row_number <= {count}").fetchall()[0][0]
    read.detected["rows_after_header_skipped"] = str(count)
    kept = [r for r in read.rejects if r.row_number > count]
    return _keeping(conn, read, "data", f"_row_number > {count}", skipped, kept)


def _keeping(
    conn: duckdb.DuckDBPyConnection,
    read: ReadFile,
    suffix: str,
    predicate: str,
    dropped_rows: int,
    rejects: list[StructuralReject],
) -> ReadFile:
    """``read`` as a view of the rows where ``predicate`` holds; ``dropped_rows`` are not rows read."""
    view = f"{read.table}_{suffix}"
    conn.execute(f"create temp view {view} as select * from {read.table} where {predicate}")
    return ReadFile(
        table=view,
        columns=read.columns,
        rows_parsed=read.rows_parsed - dropped_rows,
        rejects=rejects,
        detected=read.detected,
        cleanup=[f"drop view if exists {view}", *read.cleanup],
        header=read.header,
    )


def drop_repeated_headers(conn: duckdb.DuckDBPyConnection, read: ReadFile) -> ReadFile:
    """Without the rows that repeat the header (two exports pasted into one file): never data, so neither
    loaded nor quarantined; their count is in the ledger's ``detected.repeated_header_rows``.

    Text columns only (CSV, XLSX): a typed Parquet column cannot hold its own name.
    """
    named = [n for i, n in enumerate(read.columns) if n != f"column_{i + 1}" and read.columns[n] == "VARCHAR"]
    if not named or len(named) < len(read.columns):
        return read
    # The value read as a header would be (normalise_column_name), equal to the column's name.
    as_header = "regexp_replace(lower(trim(replace(\"{}\", chr(65279), ''))), '\\s+', '_', 'g')"
    repeats = " and ".join(f"{as_header.format(_sql_ident(n))} = '{_sql_string(n)}'" for n in named)
    found = conn.execute(f"select count(*) from {read.table} where {repeats}").fetchall()[0][0]
    if not found:
        return read
    read.detected["repeated_header_rows"] = str(found)
    return _keeping(conn, read, "no_repeated_header", f"not coalesce({repeats}, false)", found, read.rejects)


_STAGED_ROWID = "_rowid_column_of_the_file"


def _number_rows(
    conn: duckdb.DuckDBPyConnection,
    parsed: str,
    table: str,
    rejects: list[StructuralReject],
    *,
    rename_rowid: bool = False,
) -> int:
    """A view ``table`` over ``parsed`` adding ``_row_number`` in file order; rejected rows leave gaps.

    The CSV scan preserves insertion order, so a parsed row's rowid is its order in the file (offset:
    inside a transaction DuckDB numbers new rows from a large base); the k-th parsed row is the k-th row
    number not taken by a reject.
    """
    rows_parsed, first_rowid = conn.execute(f"select count(*), coalesce(min(rowid), 0) from {parsed}").fetchall()[0]
    position = f"(p.rowid - {first_rowid})"
    if not rejects:
        numbering, join = f"{position} + 1", ""
    else:
        rejected = ", ".join(str(r.row_number) for r in rejects)
        numbering = "numbered.row_number"
        join = f"""
            join (
                select row_number() over (order by n) - 1 as ordinal, n as row_number
                from range(1, {rows_parsed + len(rejects) + 1}) as r(n)
                where n not in ({rejected})
            ) as numbered on {position} = numbered.ordinal
        """
    # A view, not a copy: the parsed rows are read once more, by validation, and never copied here.
    columns = f'p.* rename ("{_STAGED_ROWID}" as rowid)' if rename_rowid else "p.*"
    conn.execute(
        f"create temp view {table} as select {columns}, null::varchar as _sheet, {numbering} as _row_number "
        f"from {parsed} as p {join}"
    )
    return rows_parsed


# --- Parquet ----------------------------------------------------------------------------------------


def read_parquet(conn: duckdb.DuckDBPyConnection, file: LandingFile) -> ReadFile:
    if file.path.stat().st_size == 0:
        raise UnreadableFileError(file.relative_path, "the Parquet file is empty (zero bytes)")
    try:
        described = conn.execute("describe select * from read_parquet(?)", [str(file.path)]).fetchall()
    except duckdb.Error as error:
        raise UnreadableFileError(file.relative_path, f"not a readable Parquet file: {error}") from error
    original = [row[0] for row in described]
    names = _unique_names(
        file.relative_path, [normalise_column_name(n, i) for i, n in enumerate(original)], list(original)
    )
    table = f"_stage_{uuid.uuid4().hex[:12]}"
    select = ", ".join(f'"{_sql_ident(o)}" as "{_sql_ident(n)}"' for o, n in zip(original, names, strict=True))
    # A view, not a copy: Parquet is typed and numbered already, so validation reads the file directly.
    conn.execute(
        f"""
        create temp view {table} as
        select {select}, null::varchar as _sheet, file_row_number + 1 as _row_number
        from read_parquet('{_sql_string(str(file.path))}', file_row_number = true)
        """
    )
    try:
        rows = conn.execute(f"select count(*) from {table}").fetchall()[0][0]
    except duckdb.Error as error:
        raise UnreadableFileError(file.relative_path, f"not a readable Parquet file: {error}") from error
    return ReadFile(
        table=table,
        columns={n: row[1] for n, row in zip(names, described, strict=True)},
        rows_parsed=rows,
        detected={"format": "parquet"},
        cleanup=[f"drop view if exists {table}"],
        header=dict(zip(names, original, strict=True)),
    )


# --- XLSX -------------------------------------------------------------------------------------------


def _cell_text(value: object) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _column_text(cells: tuple) -> pa.Array:
    """A sheet column as text, like a CSV export would have it. Columns of one kind of cell convert in
    Arrow (fast); mixed columns cell by cell."""
    try:
        values = pa.array(cells, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([_cell_text(value) for value in cells], type=pa.string())
    kind = values.type
    if pa.types.is_null(kind):
        return pa.nulls(len(values), type=pa.string())
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return pc.if_else(pc.equal(pc.utf8_trim_whitespace(values), ""), pa.scalar(None, pa.string()), values)
    if pa.types.is_floating(kind):
        # Only below 2**53 is a whole double an exact integer; beyond, casting to int64 would wrap
        # (1e20 became -9223372036854775808) and an id column would load a wrong id.
        whole = pc.and_(pc.equal(values, pc.floor(values)), pc.less(pc.abs(values), 2.0**53))
        as_integer = pc.cast(pc.if_else(whole, values, 0), pa.int64(), safe=False)
        return pc.if_else(whole, pc.cast(as_integer, pa.string()), pc.cast(values, pa.string()))
    if pa.types.is_timestamp(kind):
        midnight = pc.equal(pc.cast(values, pa.date32()).cast(kind), values)
        dates = pc.cast(pc.cast(values, pa.date32()), pa.string())
        seconds = pc.strftime(pc.cast(values, pa.timestamp("s", kind.tz)), "%Y-%m-%dT%H:%M:%S")
        return pc.if_else(midnight, dates, seconds)
    return pc.cast(values, pa.string())  # dates (ISO), booleans (true/false), integers


def read_xlsx(
    conn: duckdb.DuckDBPyConnection, file: LandingFile, required_columns: set[str], options: ReadOptions = ReadOptions()
) -> ReadFile:
    """Every sheet whose header holds the required columns is data; other sheets (notes, pivots) are not.
    A mapping may name the one sheet to read instead."""
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(file.path))
    except Exception as error:  # calamine raises its own error types for zip/xml problems
        raise UnreadableFileError(file.relative_path, f"not a readable XLSX workbook: {error}") from error
    batches: list[pa.Table] = []
    names: list[str] | None = None
    spelled: dict[str, str] = {}
    data_sheets, other_sheets = [], []
    if options.sheet is not None and options.sheet not in workbook.sheet_names:
        raise UnreadableFileError(
            file.relative_path,
            f"the mapping reads sheet {options.sheet!r}, which the workbook does not have "
            f"(sheets: {', '.join(workbook.sheet_names) or 'none'})",
        )
    for sheet_name in workbook.sheet_names:
        if options.sheet is not None and sheet_name != options.sheet:
            other_sheets.append(sheet_name)
            continue
        try:
            rows = workbook.get_sheet_by_name(sheet_name).to_python(skip_empty_area=True)
        except Exception as error:  # calamine's XML and zip errors have no common base class
            raise UnreadableFileError(file.relative_path, f"sheet {sheet_name} cannot be read: {error}") from error
        header_at = next((i for i, row in enumerate(rows) if any(cell not in (None, "") for cell in row)), None)
        if header_at is not None:
            header_at += options.header_row - 1
        if header_at is None or header_at >= len(rows):
            other_sheets.append(sheet_name)
            continue
        header = [normalise_column_name(n, i) for i, n in enumerate(rows[header_at])]
        if not required_columns <= set(header):
            other_sheets.append(sheet_name)
            continue
        _unique_names(f"{file.relative_path} sheet {sheet_name}", header, list(rows[header_at]))
        if names is not None and header != names:
            raise UnreadableFileError(
                file.relative_path, f"sheet {sheet_name} has other columns than the first data sheet"
            )
        names = header
        spelled = {n: str(cell).strip() for n, cell in zip(header, rows[header_at], strict=True)}
        body = rows[header_at + 1 :]
        width = len(header)
        padded = (row[:width] + [None] * (width - len(row)) for row in body)
        cells = list(zip(*padded, strict=True)) or [()] * width
        columns = {n: _column_text(cells[i]) for i, n in enumerate(header)}
        columns["_sheet"] = pa.array([sheet_name] * len(body), type=pa.string())
        # Row 1 is the first row under the header; empty rows keep their numbers and are dropped.
        columns["_row_number"] = pa.array(range(1, len(body) + 1), type=pa.int64())
        sheet = pa.table(columns)
        empty = functools.reduce(pc.and_, [pc.is_null(sheet[n]) for n in header])
        batches.append(sheet.filter(pc.invert(empty)))
        data_sheets.append(sheet_name)
    if names is None:
        raise UnreadableFileError(
            file.relative_path,
            f"no sheet has the required columns {', '.join(sorted(required_columns))} "
            f"(sheets: {', '.join(workbook.sheet_names) or 'none'})",
        )
    arrow = pa.concat_tables(batches)
    if options.rows_after_header:
        arrow = arrow.filter(pc.greater(arrow["_row_number"], options.rows_after_header))
    table = f"_stage_{uuid.uuid4().hex[:12]}"
    conn.register(f"{table}_arrow", arrow)
    conn.execute(f"create temp table {table} as select * from {table}_arrow")
    conn.unregister(f"{table}_arrow")
    return ReadFile(
        table=table,
        columns={n: "VARCHAR" for n in names},
        rows_parsed=arrow.num_rows,
        detected={
            "format": "xlsx",
            "sheets": ", ".join(data_sheets),
            "ignored_sheets": ", ".join(other_sheets),
        },
        cleanup=[f"drop table if exists {table}"],
        header=spelled,
    )


def read_landing_file(
    conn: duckdb.DuckDBPyConnection,
    file: LandingFile,
    tmp_dir: Path,
    required_columns: set[str],
    options: ReadOptions = ReadOptions(),
) -> ReadFile:
    if file.format == "csv":
        return drop_repeated_headers(conn, read_csv(conn, file, tmp_dir, options))
    if file.format == "parquet":
        return read_parquet(conn, file)
    if file.format == "xlsx":
        return drop_repeated_headers(conn, read_xlsx(conn, file, required_columns, options))
    raise UnreadableFileError(file.relative_path, f"unsupported format {file.format}")


def _sql_string(text: str) -> str:
    return text.replace("'", "''")


def _sql_ident(text: str) -> str:
    return text.replace('"', '""')
