"""Validation results in plain words, as plain Python values a Dagster asset check can show.

Nothing here imports Great Expectations: :mod:`pipeline.quality.validation` turns GX results into these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Failure:
    """One expectation that did not hold on one table."""

    table: str
    check: str  # columns | type | not_null | unique | unique_combination | accepted_values | value_between | ...
    expectation: str  # the GX expectation type
    column: str | None  # a column, "a, b" for a combination, or None for the whole table
    problem: str  # what is wrong, in words, with figures
    observed: str | None = None  # the observed value or examples, as text
    severity: str = "critical"  # critical blocks publishing; warning is reported only

    @property
    def message(self) -> str:
        where = f"{self.table}.{self.column}" if self.column else self.table
        return f"{where}: {self.problem}"


@dataclass(frozen=True)
class TableResult:
    table: str
    success: bool  # no critical failure
    expectations: int
    failures: tuple[Failure, ...] = ()
    data_docs: Path | None = None  # this table's validation page in Data Docs, when rendered
    row_count: int | None = None
    # The release whose validation of this same content with this same suite stands: not validated again.
    checked_in: str | None = None

    @property
    def warnings(self) -> tuple[Failure, ...]:
        return tuple(f for f in self.failures if f.severity != "critical")

    def description(self) -> str:
        critical = [f for f in self.failures if f.severity == "critical"]
        if not self.failures and self.checked_in:
            return (
                f"{self.table}: all {self.expectations} expectations hold (the content and the suite of release "
                f"{self.checked_in}, where they were validated)"
            )
        if not self.failures:
            return f"{self.table}: all {self.expectations} expectations hold"
        if not self.expectations:
            return "\n".join([f"{self.table}: not validated", *(f"- {f.message}" for f in self.failures)])
        head = (
            f"{self.table}: {len(critical)} of {self.expectations} expectations failed"
            if critical
            else f"{self.table}: {len(self.failures)} warning(s), nothing blocking"
        )
        return "\n".join([head, *(f"- {f.message}" for f in self.failures)])

    def check_metadata(self) -> dict[str, str | int | float | None]:
        """Plain values for ``dagster.AssetCheckResult(metadata=...)`` (strings, ints, None)."""
        return {
            "expectations": self.expectations,
            "failed": sum(f.severity == "critical" for f in self.failures),
            "warnings": len(self.warnings),
            "rows": self.row_count,
            "failures": "\n".join(f"- {f.message}" for f in self.failures) or "none",
            "data_docs": str(self.data_docs) if self.data_docs else None,
            "validated_in": self.checked_in or "this run",
        }


@dataclass(frozen=True)
class QualityReport:
    tables: dict[str, TableResult] = field(default_factory=dict)
    data_docs_index: Path | None = None  # the Data Docs site's index.html, when rendered

    @property
    def success(self) -> bool:
        return all(result.success for result in self.tables.values())

    @property
    def failures(self) -> list[Failure]:
        return [f for result in self.tables.values() for f in result.failures]

    @property
    def failed_tables(self) -> list[str]:
        return [name for name, result in self.tables.items() if not result.success]

    def summary(self) -> str:
        passed = len(self.tables) - len(self.failed_tables)
        lines = [f"{passed} of {len(self.tables)} tables passed their data quality checks"]
        reused = [name for name, result in self.tables.items() if result.checked_in]
        if reused:
            lines.append(
                f"{len(reused)} of them unchanged since the release that validated them (same content, same suite): "
                + ", ".join(reused)
            )
        lines += [self.tables[name].description() for name in self.failed_tables]
        if self.data_docs_index:
            lines.append(f"Data Docs: {self.data_docs_index}")
        return "\n".join(lines)

    def raise_for_failures(self) -> None:
        """Raise :class:`DataQualityError` when any table has a critical failure (publishing must stop)."""
        if not self.success:
            raise DataQualityError(self)


class DataQualityError(Exception):
    def __init__(self, report: QualityReport):
        self.report = report
        super().__init__(report.summary())
