"""What the generator has written: the landing files, the planted contract violations and the corrected
re-sent rows. The last two become truth files so tests can check the ingest quarantined exactly the
planted defects and kept the newest version of every re-sent row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from pipeline.demo import formats
from pipeline.demo.shape import FULL, CompanyShape

DEFECT_SHARE = 0.002  # planted contract violations per row of an entity that has them


@dataclass
class LandingOutput:
    landing_dir: Path
    files: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    date_styles: dict[str, str] = field(default_factory=dict)
    bytes_written: int = 0
    shape: CompanyShape = FULL  # what this landing zone leaves out (pipeline.demo.shape)
    missing_accounts: frozenset[str] = frozenset()  # account ids the shape leaves out of the CRM exports

    def path(self, source: str, entity: str, stamp: str, extension: str, suffix: str = "") -> tuple[Path, str]:
        """Absolute path and landing-relative name of a drop: ``<entity>_<YYYYMMDD>[_suffix].<ext>``."""
        name = f"{entity}_{stamp}{'_' + suffix if suffix else ''}.{extension}"
        relative = f"{source}/{name}"
        return self.landing_dir / source / name, relative

    def record(self, relative: str, entity: str, rows: int, date_style: str | None = None) -> None:
        self.files.append(relative)
        self.rows[entity] = self.rows.get(entity, 0) + rows
        self.bytes_written += (self.landing_dir / relative).stat().st_size
        if date_style:
            self.date_styles[relative] = date_style

    def write_csv(
        self,
        table: pa.Table,
        source: str,
        entity: str,
        stamp: str,
        dialect: formats.CsvDialect,
        suffix: str = "",
        date_style: str | None = None,
    ) -> str:
        path, relative = self.path(source, entity, stamp, "csv", suffix)
        if not self.shape.writes(entity):
            return relative
        table = self.shape.shape_table(entity, table, self.missing_accounts)
        formats.write_csv(table, path, dialect)
        self.record(relative, entity, table.num_rows, date_style)
        return relative

    def write_parquet(self, table: pa.Table, source: str, entity: str, stamp: str, suffix: str = "") -> str:
        path, relative = self.path(source, entity, stamp, "parquet", suffix)
        if not self.shape.writes(entity):
            return relative
        table = self.shape.shape_table(entity, table, self.missing_accounts)
        formats.write_parquet(table, path)
        self.record(relative, entity, table.num_rows)
        return relative


@dataclass
class DefectLedger:
    """Rows planted to break the contract: (source, entity, file, row_number, key, column, problem)."""

    records: list[tuple[str, str, str, int, str, str, str]] = field(default_factory=list)

    def add(
        self,
        source: str,
        entity: str,
        file: str,
        row_numbers: np.ndarray,
        keys: list[str],
        column: str,
        problem: str,
    ) -> None:
        for row_number, key in zip(np.asarray(row_numbers).tolist(), keys, strict=True):
            self.records.append((source, entity, file, int(row_number), key, column, problem))

    def table(self) -> pa.Table:
        columns: list = list(zip(*self.records, strict=True)) if self.records else [[]] * 7
        names = ["source", "entity", "file", "row_number", "key", "column", "problem"]
        types = [pa.string(), pa.string(), pa.string(), pa.int64(), pa.string(), pa.string(), pa.string()]
        return pa.table({n: pa.array(list(c), type=t) for n, c, t in zip(names, columns, types, strict=True)})


@dataclass
class CorrectionLedger:
    """Rows sent again in a later drop with a corrected value: the later (corrected) one must win."""

    records: list[tuple[str, str, str, str, str, str, str, str]] = field(default_factory=list)

    def add(
        self,
        source: str,
        entity: str,
        keys: list[str],
        column: str,
        first_file: str,
        first_values: list[str],
        corrected_file: str,
        corrected_values: list[str],
    ) -> None:
        for key, first, corrected in zip(keys, first_values, corrected_values, strict=True):
            self.records.append((source, entity, key, column, first_file, first, corrected_file, corrected))

    def table(self) -> pa.Table:
        names = [
            "source",
            "entity",
            "key",
            "column",
            "first_file",
            "first_value",
            "corrected_file",
            "corrected_value",
        ]
        columns: list = list(zip(*self.records, strict=True)) if self.records else [[]] * len(names)
        return pa.table({n: pa.array(list(c), type=pa.string()) for n, c in zip(names, columns, strict=True)})


def defect_count(rng: np.random.Generator, rows: int, force_one: bool) -> int:
    """How many defects to plant in a file of ``rows`` rows: ~0.2 %, at least one where forced."""
    count = int(rng.binomial(rows, DEFECT_SHARE)) if rows > 0 else 0
    if force_one:
        count = max(count, 1)
    return min(count, max(rows // 50, 1 if force_one else 0))  # never more than 2 % of a file


def insert_rows(table: pa.Table, extra: pa.Table, positions: np.ndarray) -> tuple[pa.Table, np.ndarray]:
    """Insert ``extra`` rows so that extra row i lands right before original row positions[i].

    Returns the new table and the 1-based row numbers of the inserted rows.
    """
    positions = np.asarray(positions, dtype=np.int64)
    order = np.argsort(positions, kind="stable")
    positions, extra = positions[order], extra.take(pa.array(order))
    n, k = table.num_rows, extra.num_rows
    # Index into concat(table, extra): originals keep their order, extras go before their position.
    take = np.empty(n + k, dtype=np.int64)
    new_positions = positions + np.arange(k)
    is_extra = np.zeros(n + k, dtype=bool)
    is_extra[new_positions] = True
    take[~is_extra] = np.arange(n)
    take[is_extra] = n + np.arange(k)
    combined = pa.concat_tables([table, extra.select(table.column_names).cast(table.schema)])
    restore = np.empty(k, dtype=np.int64)
    restore[order] = new_positions + 1
    return combined.take(pa.array(take)), restore
