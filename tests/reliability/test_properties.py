"""Property tests: whatever table an export writes, ingest loads or quarantines every row by name.

Hypothesis draws whole landing files for random contract entities: header in any case and order,
optional columns left out, extra columns, a required column sometimes missing; rows that are clean
(every value valid for its contract column) or dirty (junk of any Unicode in text, values that do not
parse or break a check, empty required values, repeated keys); lines a broken exporter adds (too many or
too few fields); any delimiter, encoding, line end and quoting the CSV reader supports. The properties:

- the run either succeeds or raises one of the errors the asset turns into a named failure
  (``UnreadableFileError``, ``QuarantineThresholdExceeded``), naming the file;
- rows read = rows loaded + rows quarantined, from the ledger, raw and the quarantine tables, and rows
  read = the records written;
- every clean row is loaded under its row number with its values as written (text unchanged, numbers in
  the file's decimal style, dates in any accepted format): junk in its neighbours must not shift, garble
  or push it out; every broken line is quarantined as ``malformed_row`` at its row number; every
  quarantine row carries a check the pipeline documents;
- a file cut at any byte fails by name or accounts for every row it still holds; a Parquet file with
  any physical type in any contract column loads or quarantines each row.

``tests/test_contract_equivalence.py`` proves which rows fail which check; these tests are about never
losing, inventing or crashing on a row.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import string
import tempfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.contract import BUSINESS_ID_WEIGHTS, CONTRACTS, EntityContract
from pipeline.ingest.loader import QuarantineThresholdExceeded, ingest_entity
from pipeline.ingest.readers import UnreadableFileError
from pipeline.ingest.validation import FALSE_WORDS, TRUE_WORDS

EXTRACT = dt.date(2025, 1, 31)
NAMED_ERRORS = (UnreadableFileError, QuarantineThresholdExceeded)
# docs/ingest.md, "The quarantine": the checks a quarantine row can name.
DOCUMENTED_CHECKS = {
    "dtype",
    "not_nullable",
    "isin",
    "in_range",
    "str_matches",
    "valid_business_id",
    "not_after_extract_date",
    "first_day_of_month",
    "duplicate_key",
    "malformed_row",
}
REGEX_EXAMPLES = {"driver_.+": ("driver_quality", "driver_price_value")}
EXTRA_COLUMNS = ("segment", "Lisätieto", "ERP Code")
DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%Y/%m/%d")
MONTH_FORMATS = ("%Y-%m-%d", "%Y-%m", "%d.%m.%Y")
# Values no number or date parser accepts, and numbers no column can hold. None of them can count as
# decimal-comma or decimal-point evidence, so they never change how the clean numbers are read.
NASTY_TYPED = ["1e999", "-1e999", "NaN", "inf", "1e30", "99999999999999999999", "½", "١٢", "12 k€", "--", "2023-02-29"]
PROPERTY_SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Windows-1252 files get text from ASCII and the letters À..ÿ only. Bytes 0x80-0xBF (€, „, NBSP...) can
# follow a letter byte to form valid UTF-8 by chance, and a file that is valid UTF-8 is read as UTF-8
# (docs/ingest.md): that ambiguity is real but not what these properties are about.
CP1252_ALPHABET = (
    string.ascii_letters + string.digits + string.punctuation + " \t\n" + "".join(map(chr, range(0xC0, 0x100)))
)


def columns_of(contract: EntityContract) -> dict[str, object]:
    """The contract's columns with concrete names for the regex ones (driver_.+)."""
    concrete = {}
    for name, column in contract.schema(EXTRACT).columns.items():
        for example in REGEX_EXAMPLES.get(name, (name,)):
            concrete[example] = column
    return concrete


def business_id(digits: int) -> str | None:
    text = f"{digits:07d}"
    remainder = sum(int(d) * w for d, w in zip(text, BUSINESS_ID_WEIGHTS, strict=True)) % 11
    if remainder == 1:
        return None  # no check digit exists for these seven digits
    return f"{text}-{0 if remainder == 0 else 11 - remainder}"


def _bounds(column, default: tuple[float, float]) -> tuple[float, float]:
    for check in column.checks:
        if check.name == "in_range":
            return check.statistics["min_value"], check.statistics["max_value"]
    return default


def clean_value(draw, column, text: st.SearchStrategy[str], decimal: str) -> str:
    """A value that passes every check of ``column``, written as an export would write it."""
    logical = column.metadata["logical"]
    checks = {c.name for c in column.checks}
    if logical == "text":
        if "valid_business_id" in checks:
            return draw(st.integers(0, 9_999_999).map(business_id).filter(bool))
        if "str_matches" in checks:  # country: two letters, any case (folded to upper)
            return draw(st.text(string.ascii_letters, min_size=2, max_size=2))
        return draw(text)
    if logical == "enum":
        allowed = next(c for c in column.checks if c.name == "isin").statistics["allowed_values"]
        return draw(st.sampled_from(allowed).map(draw(st.sampled_from([str.lower, str.upper, str.title]))))
    if logical == "date":
        day = draw(st.dates(dt.date(2020, 1, 1), EXTRACT))
        return day.strftime(draw(st.sampled_from(DATE_FORMATS)))
    if logical == "month":
        month = draw(st.dates(dt.date(2020, 1, 1), EXTRACT)).replace(day=1)
        return month.strftime(draw(st.sampled_from(MONTH_FORMATS)))
    if logical == "integer":
        low, high = _bounds(column, (0, 1000))
        return str(draw(st.integers(int(low), int(min(high, 10**9)))))
    if logical == "money":
        low, high = _bounds(column, (-1_000_000, 1_000_000))
        cents = draw(st.integers(int(max(low, -1e6) * 100), int(min(high, 1e6) * 100)))
        places = draw(st.sampled_from([0, 1, 2]))
        if places == 0:
            return str(cents // 100) if cents >= 0 else str(-((-cents) // 100))
        sign, whole, fraction = "-" if cents < 0 else "", abs(cents) // 100, abs(cents) % 100
        digits = f"{fraction:02d}"[:places]
        return f"{sign}{whole}{',' if decimal == 'comma' else '.'}{digits}"
    if logical == "bool":
        return draw(st.sampled_from(TRUE_WORDS + FALSE_WORDS).map(draw(st.sampled_from([str.lower, str.upper]))))
    raise AssertionError(f"no clean values for {logical}")


def typed(column, text: str) -> object:
    """What a clean value must be in raw: the written text read back by its contract type."""
    logical = column.metadata["logical"]
    if logical in ("date", "month"):
        for fmt in (*DATE_FORMATS, "%Y-%m"):
            try:
                return dt.datetime.strptime(text, fmt).date()
            except ValueError:
                continue
        raise AssertionError(f"not a date this module writes: {text}")
    if logical == "integer":
        return int(text)
    if logical == "money":
        return Decimal(text.replace(",", ".")).quantize(Decimal("0.01"))
    if logical == "bool":
        return text.lower() in TRUE_WORDS
    if logical == "enum":
        return text.lower()
    if column.metadata["case"] == "upper":
        return text.upper()
    return text


def junk_value(draw, column, junk: st.SearchStrategy[str], encoding: str) -> str:
    """A value that may break its column: any text, a value no parser takes, one out of range, or empty."""
    logical = column.metadata["logical"]
    if logical in ("text", "enum"):
        return draw(st.one_of(junk, st.just(""), st.just("other")))
    no_digits = junk.filter(lambda s: not re.search(r"[0-9]", s))
    nasty = [v for v in NASTY_TYPED if encoding != "cp1252" or all(c in CP1252_ALPHABET for c in v)]
    out_of_range = st.sampled_from(["-5", "11", "20000000", "2000000000", "2031-12-31", "2025-02-15"])
    return draw(st.one_of(no_digits, st.sampled_from(nasty), out_of_range, st.just("")))


@dataclass(frozen=True)
class Record:
    kind: str  # clean | dirty | broken (a line that does not split into the header's fields)
    values: dict[str, str]  # by contract column name (clean and dirty rows)
    line: str = ""  # the raw text of a broken line


@dataclass(frozen=True)
class Export:
    contract: EntityContract
    path: str  # relative to the landing folder
    content: bytes
    records: tuple[Record, ...]
    missing_required: tuple[str, ...]
    max_share: float
    encoding: str
    columns: tuple[str, ...]  # contract columns present in the file


@st.composite
def exports(draw, *, allow_missing_required: bool = True) -> Export:
    contract = draw(st.sampled_from(CONTRACTS))
    columns = columns_of(contract)
    required = [n for n, c in columns.items() if not c.nullable]
    optional = [n for n, c in columns.items() if c.nullable]
    present = required + [n for n in optional if draw(st.booleans())]
    missing: tuple[str, ...] = ()
    if allow_missing_required and draw(st.integers(0, 9)) == 0:
        missing = (draw(st.sampled_from(required)),)
        present = [n for n in present if n not in missing]
    extras = draw(st.lists(st.sampled_from(EXTRA_COLUMNS), unique=True, max_size=2))
    if len(present) + len(extras) < 2:
        extras.append(EXTRA_COLUMNS[0])  # one column would not be a delimited table, another failure

    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    if encoding == "cp1252":
        characters = st.sampled_from(CP1252_ALPHABET)
    else:
        characters = st.one_of(st.characters(exclude_categories=("Cs",)), st.sampled_from(list(",;|\t\"'\n\r")))
    if newline == "\n":
        # Python's csv writer leaves a lone CR unquoted when lines end in LF: an unquoted CR is a line end to
        # every reader, so that file is broken by its writer, not an export these properties can judge.
        characters = characters.filter(lambda c: c != "\r")
    junk = st.text(characters, max_size=15)
    clean_text = st.text(characters, min_size=1, max_size=15).filter(lambda s: s.strip() == s and s != "")
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    decimal = draw(st.sampled_from(["point", "comma"]))
    id_column = contract.key[0]  # every contract key starts with a text id

    records: list[Record] = []
    for index in range(draw(st.integers(0, 10))):
        values = {name: clean_value(draw, columns[name], clean_text, decimal) for name in present}
        if draw(st.integers(0, 9)) < 6:
            values[id_column] = f"K{index}"  # unique: a clean row is never a duplicate
            kind = "clean"
        else:
            kind = "dirty"
            for name in draw(st.lists(st.sampled_from(present), min_size=1, max_size=3, unique=True)):
                values[name] = junk_value(draw, columns[name], junk, encoding)
            if values.get(id_column, "") != "":
                # Dirty rows share keys only among themselves, so a clean row is never pushed out.
                values[id_column] = draw(st.sampled_from(["D1", "D2", f"D{index}"]))
        values.update({extra: draw(junk) for extra in extras})
        records.append(Record(kind, values))
    for _ in range(draw(st.integers(0, 2))):
        width = len(present) + len(extras)
        fields = draw(st.sampled_from([width + 1 + draw(st.integers(0, 2)), max(width - 1, 1)]))
        line = delimiter.join(draw(st.text(string.ascii_letters, min_size=1, max_size=4)) for _ in range(fields))
        records.insert(draw(st.integers(0, len(records))), Record("broken", {}, line))

    header = draw(st.permutations(present + extras))
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=newline, quoting=quoting)
    writer.writerow([draw(st.sampled_from([name, name.upper(), name.title()])) for name in header])
    for record in records:
        if record.kind == "broken":
            buffer.write(record.line + newline)
        else:
            writer.writerow([record.values[name] for name in header])
    path = f"{contract.source}/{contract.entity}_{EXTRACT:%Y%m%d}_{draw(st.sampled_from(['export', 'v2']))}.csv"
    return Export(
        contract=contract,
        path=path,
        content=buffer.getvalue().encode(encoding),
        records=tuple(records),
        missing_required=missing,
        max_share=draw(st.sampled_from([0.05, 1.0])),
        encoding=encoding,
        columns=tuple(present),
    )


# --- running ingest ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    error: Exception | None
    status: str | None
    rows_read: int | None
    rows_loaded: int | None
    rows_quarantined: int | None
    raw_rows: int
    quarantine_rows: int
    loaded: dict[int, dict[str, object]]  # row number -> the raw row, for this file
    quarantine: list[tuple[int, str | None, str, str]]  # (row, column, check, reason)


def run_ingest(contract: EntityContract, files: dict[str, bytes], path: str, max_share: float) -> Outcome:
    """Ingest in a fresh landing zone and warehouse (a temporary folder per example: hypothesis and
    function-scoped fixtures do not mix)."""
    with tempfile.TemporaryDirectory(prefix="reliability-") as root:
        landing = Path(root) / "landing"
        for relative, content in files.items():
            (landing / relative).parent.mkdir(parents=True, exist_ok=True)
            (landing / relative).write_bytes(content)
        with duckdb.connect(str(Path(root) / "warehouse.duckdb")) as conn:
            error = None
            try:
                ingest_entity(conn, contract, landing, "run", max_quarantine_share=max_share, tmp_dir=Path(root))
            except NAMED_ERRORS as named:
                error = named
            # Anything else propagates and fails the test: that is the unnamed crash we look for.
            ledger = conn.execute(
                "select status, rows_read, rows_loaded, rows_quarantined, file_sha256 from meta.ingest_ledger "
                "where file = ?",
                [path],
            ).fetchall()
            assert len(ledger) <= 1
            status, read, loaded, quarantined, sha = ledger[0] if ledger else (None, None, None, None, None)
            table = f"raw.{contract.table}"
            cursor = conn.execute(f"select * from {table} where _file = ?", [path])
            names = [d[0] for d in cursor.description]
            raw = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
            (quarantine_rows,) = conn.execute(
                "select count(distinct (coalesce(sheet, ''), row_number)) from quarantine.rejected_rows "
                "where file = ? and file_sha256 = ?",
                [path, sha],
            ).fetchall()[0]
            quarantine = conn.execute(
                "select row_number, column_name, check_name, reason from quarantine.rejected_rows where file = ?",
                [path],
            ).fetchall()
    return Outcome(
        error=error,
        status=status,
        rows_read=read,
        rows_loaded=loaded,
        rows_quarantined=quarantined,
        raw_rows=len(raw),
        quarantine_rows=quarantine_rows,
        loaded={row["_row_number"]: row for row in raw},
        quarantine=quarantine,
    )


def assert_accounted(outcome: Outcome, path: str, max_share: float) -> None:
    """The invariants that hold for any file, whatever it holds."""
    if outcome.error is not None:
        assert path in str(outcome.error), f"the error does not name the file: {outcome.error}"
    if isinstance(outcome.error, UnreadableFileError):
        assert outcome.status == "failed" and outcome.raw_rows == 0 and outcome.quarantine_rows == 0
        return
    assert outcome.status in ("loaded", "rejected")
    assert outcome.rows_read == outcome.rows_loaded + outcome.rows_quarantined
    assert outcome.quarantine_rows == outcome.rows_quarantined
    share = outcome.rows_quarantined / outcome.rows_read if outcome.rows_read else 0.0
    if isinstance(outcome.error, QuarantineThresholdExceeded):
        assert outcome.status == "rejected" and outcome.raw_rows == 0 and share > max_share
    else:
        assert outcome.status == "loaded" and outcome.raw_rows == outcome.rows_loaded and share <= max_share
    for _row, _column, check, reason in outcome.quarantine:
        assert check in DOCUMENTED_CHECKS and reason


# --- the properties ------------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(export=exports())
def test_any_generated_csv_loads_or_quarantines_each_row_and_never_crashes_unnamed(export: Export):
    outcome = run_ingest(export.contract, {export.path: export.content}, export.path, export.max_share)
    assert_accounted(outcome, export.path, export.max_share)

    if export.missing_required:
        assert isinstance(outcome.error, UnreadableFileError)
        assert f"required column(s) missing: {export.missing_required[0]}" in str(outcome.error)
        return
    assert not isinstance(outcome.error, UnreadableFileError), outcome.error
    assert outcome.rows_read == len(export.records), "rows read differ from the records written"

    quarantined = {(row, check) for row, _column, check, _reason in outcome.quarantine}
    for number, record in enumerate(export.records, start=1):
        if record.kind == "broken":
            assert (number, "malformed_row") in quarantined, f"broken line {number} not quarantined"
        elif record.kind == "clean":
            assert not any(row == number for row, _check in quarantined), f"clean row {number} was quarantined"
            if outcome.error is None:
                # Loaded under its own row number with every value as written: text unchanged, numbers in
                # the file's decimal style, dates in any of the formats.
                loaded = outcome.loaded[number]
                columns = columns_of(export.contract)
                for name in export.columns:
                    expected = typed(columns[name], record.values[name])
                    assert loaded[name] == expected, f"row {number} column {name}: {loaded[name]!r} != {expected!r}"


@PROPERTY_SETTINGS
@given(export=exports(allow_missing_required=False), data=st.data())
def test_a_generated_csv_cut_anywhere_fails_by_name_or_accounts_for_every_row(export: Export, data):
    # A transfer that stopped at any byte: inside a quoted value, a character, a line end, the header.
    content = export.content[: data.draw(st.integers(0, len(export.content)), label="cut at byte")]
    outcome = run_ingest(export.contract, {export.path: content}, export.path, 1.0)
    assert_accounted(outcome, export.path, 1.0)
    if outcome.error is None:
        assert outcome.rows_read <= len(export.records), "a cut file cannot hold more rows than the whole one"


PARQUET_TYPES = {
    "int64": st.lists(st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)), min_size=1, max_size=6),
    "float64": st.lists(st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)), min_size=1, max_size=6),
    "string": st.lists(st.one_of(st.none(), st.text(max_size=10)), min_size=1, max_size=6),
    "bool": st.lists(st.one_of(st.none(), st.booleans()), min_size=1, max_size=6),
    "date32": st.lists(st.one_of(st.none(), st.dates()), min_size=1, max_size=6),
    "timestamp_utc": st.lists(
        st.one_of(st.none(), st.datetimes(dt.datetime(1900, 1, 1), dt.datetime(2100, 1, 1), timezones=st.just(dt.UTC))),
        min_size=1,
        max_size=6,
    ),
    "binary": st.lists(st.one_of(st.none(), st.binary(max_size=6)), min_size=1, max_size=6),
}
PARQUET_ARROW = {
    "int64": pa.int64(),
    "float64": pa.float64(),
    "string": pa.string(),
    "bool": pa.bool_(),
    "date32": pa.date32(),
    "timestamp_utc": pa.timestamp("us", tz="UTC"),
    "binary": pa.binary(),
}


@st.composite
def parquet_drops(draw) -> tuple[EntityContract, str, bytes, int]:
    """A Parquet drop whose every contract column has a random physical type and random values."""
    contract = draw(st.sampled_from(CONTRACTS))
    rows = draw(st.integers(0, 6))
    table = {}
    for name in columns_of(contract):
        kind = draw(st.sampled_from(sorted(PARQUET_TYPES)))
        values = (draw(PARQUET_TYPES[kind]) * 6)[:rows]
        table[name] = pa.array(values, type=PARQUET_ARROW[kind])
    buffer = io.BytesIO()
    pq.write_table(pa.table(table), buffer)
    return contract, f"{contract.source}/{contract.entity}_{EXTRACT:%Y%m%d}.parquet", buffer.getvalue(), rows


@PROPERTY_SETTINGS
@given(drop=parquet_drops())
def test_a_parquet_file_with_any_column_types_loads_or_quarantines_each_row(drop):
    # Typed input takes another path through validation (casts instead of parsing): NaN in an integer
    # column crashed it before.
    contract, path, content, rows = drop
    outcome = run_ingest(contract, {path: content}, path, 1.0)
    assert_accounted(outcome, path, 1.0)
    assert outcome.error is None, outcome.error
    assert outcome.rows_read == rows
