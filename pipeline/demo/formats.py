"""How each source system writes its files: CSV dialects, Parquet, XLSX, text formatting of ids, dates
and amounts. Every file is written under a ``.tmp`` name and renamed when complete, so a reader scanning
the landing zone never sees half a file (the landing zone ignores ``.tmp`` files).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

CSV_CHUNK_ROWS = 250_000
PARQUET_ROW_GROUP_ROWS = 262_144
XLSX_MAX_DATA_ROWS = 1_000_000  # a sheet holds 1,048,576 rows; a bigger quarter goes to several files
# Fixed document properties make XLSX bytes identical run after run (xlsxwriter also fixes zip times).
XLSX_CREATED = dt.datetime(2020, 1, 1)
EXCEL_EPOCH = np.datetime64("1899-12-30", "D")


@dataclass(frozen=True)
class CsvDialect:
    delimiter: str
    encoding: str
    line_end: str
    decimal: str


# CRM: an Excel-style export from a Finnish desktop: semicolons, decimal comma, Windows-1252, CRLF.
CRM_CSV = CsvDialect(delimiter=";", encoding="cp1252", line_end="\r\n", decimal=",")
# Survey tool: commas, decimal point, UTF-8 with a byte-order mark.
SURVEY_CSV = CsvDialect(delimiter=",", encoding="utf-8-sig", line_end="\n", decimal=".")
# Finance system: commas, decimal point, plain UTF-8.
FINANCE_CSV = CsvDialect(delimiter=",", encoding="utf-8", line_end="\n", decimal=".")


# --- text formatting ----------------------------------------------------------------------------------


def ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """Zero-padded text identifiers such as ``A000123`` (prefix "A", width 6)."""
    digits = pc.utf8_lpad(pc.cast(pa.array(np.asarray(numbers, dtype=np.int64)), pa.string()), width, "0")
    return pc.binary_join_element_wise(pa.scalar(prefix), digits, "")


def format_dates(dates: np.ndarray, style: str = "iso") -> pa.Array:
    """``YYYY-MM-DD`` (iso) or Finnish ``D.M.YYYY`` (fi) text; NaT becomes null."""
    dates = np.asarray(dates, dtype="datetime64[D]")
    arrow = pa.array(dates, type=pa.date32(), from_pandas=True)
    if style == "iso":
        return pc.cast(arrow, pa.string())
    if style != "fi":
        raise ValueError(f"unknown date style {style}")
    safe = np.where(np.isnat(dates), np.datetime64("2000-01-01"), dates)
    year = safe.astype("datetime64[Y]").astype(np.int64) + 1970
    month = safe.astype("datetime64[M]").astype(np.int64) % 12 + 1
    day = (safe - safe.astype("datetime64[M]")).astype(np.int64) + 1
    parts = [pc.cast(pa.array(x), pa.string()) for x in (day, month, year)]
    text = pc.binary_join_element_wise(*parts, ".")
    return pc.if_else(pc.is_null(arrow), pa.scalar(None, pa.string()), text)


def format_amounts(values: np.ndarray, decimal: str) -> pa.Array:
    """Euros with two decimals and the given decimal mark (``12345,50``); NaN becomes null."""
    values = np.asarray(values, dtype=np.float64)
    missing = np.isnan(values)
    cents = np.rint(np.where(missing, 0.0, values) * 100).astype(np.int64)
    negative = cents < 0
    magnitude = np.abs(cents)
    whole = pc.cast(pa.array(magnitude // 100), pa.string())
    fraction = pc.utf8_lpad(pc.cast(pa.array(magnitude % 100), pa.string()), 2, "0")
    text = pc.binary_join_element_wise(whole, fraction, decimal)
    text = pc.if_else(pa.array(negative), pc.binary_join_element_wise(pa.scalar("-"), text, ""), text)
    return pc.if_else(pa.array(missing), pa.scalar(None, pa.string()), text)


def format_integers(values: np.ndarray, missing: np.ndarray | None = None) -> pa.Array:
    arrow = pc.cast(pa.array(np.asarray(values, dtype=np.int64)), pa.string())
    if missing is None:
        return arrow
    return pc.if_else(pa.array(missing), pa.scalar(None, pa.string()), arrow)


def text_column(values: np.ndarray | list) -> pa.Array:
    """Text with None/empty string as null."""
    arrow = pa.array(values, type=pa.string(), from_pandas=True)
    return pc.if_else(pc.equal(arrow, ""), pa.scalar(None, pa.string()), arrow)


def pick(choices: tuple[str, ...] | list[str], index: np.ndarray) -> pa.Array:
    """choices[index] as an Arrow text column (negative index: null)."""
    index = np.asarray(index, dtype=np.int64)
    taken = pa.array(list(choices), type=pa.string()).take(pa.array(np.where(index < 0, 0, index)))
    if (index < 0).any():
        taken = pc.if_else(pa.array(index < 0), pa.scalar(None, pa.string()), taken)
    return taken


# --- files --------------------------------------------------------------------------------------------


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_csv(table: pa.Table, path: Path, dialect: CsvDialect) -> None:
    """All columns are text already (formatted for the dialect); null is written as an empty field."""
    with (
        atomic_path(path) as temporary,
        open(temporary, "w", encoding=dialect.encoding, newline="") as handle,
    ):
        for start in range(0, max(table.num_rows, 1), CSV_CHUNK_ROWS):
            chunk = table.slice(start, CSV_CHUNK_ROWS).to_pandas()
            chunk.to_csv(handle, sep=dialect.delimiter, index=False, header=start == 0, lineterminator=dialect.line_end)


def write_parquet(table: pa.Table, path: Path) -> None:
    with atomic_path(path) as temporary:
        pq.write_table(table, temporary, row_group_size=PARQUET_ROW_GROUP_ROWS, compression="zstd")


def excel_serial(dates: np.ndarray) -> np.ndarray:
    return (np.asarray(dates, dtype="datetime64[D]") - EXCEL_EPOCH).astype(np.int64).astype(np.float64)


def write_cost_to_serve_xlsx(
    path: Path, sheet: str, account_ids: list[str], months: np.ndarray, costs: np.ndarray
) -> None:
    """One sheet, header in row 1: account_id (text), month (a date cell), service_cost_eur (number)."""
    import xlsxwriter

    serials = excel_serial(months).tolist()
    amounts = np.round(costs, 2).tolist()
    with atomic_path(path) as temporary:
        workbook = xlsxwriter.Workbook(str(temporary), {"constant_memory": True})
        workbook.set_properties({"created": XLSX_CREATED, "author": "ERP export", "title": sheet})
        worksheet = workbook.add_worksheet(sheet)
        date_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
        worksheet.write_row(0, 0, ["account_id", "month", "service_cost_eur"])
        write_string, write_number = worksheet.write_string, worksheet.write_number
        # constant_memory flushes each row when the next one starts: write strictly row by row.
        for row, (account_id, serial, amount) in enumerate(zip(account_ids, serials, amounts, strict=True), 1):
            write_string(row, 0, account_id)
            write_number(row, 1, serial, date_format)
            write_number(row, 2, amount)
        workbook.close()
