"""Company shapes: the demo company written the way real companies' data arrives, not only complete.

The contract (DESIGN.md) promises that every optional column and every entity may be absent. A shape says
which of them this landing zone leaves out, and how its ids and answer scale look, so tests and users can
try the pipeline on data shaped unlike the demo:

    generate_demo_company(landing, truth, shape=SHAPES["survey_only"])
    pipeline generate --shape survey_only       (or --absent invoice_lines,payments --required-columns-only)

The planted company underneath is the same; a shape only changes what is written. The truth keeps the
planted structure, with the planted defects and corrections limited to what was written.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.contract import CONTRACTS

ENTITY_NAMES = tuple(c.entity for c in CONTRACTS)
_REQUIRED = {
    c.entity: {name for name, col in c.schema(dt.date(2000, 1, 1)).columns.items() if col.required} for c in CONTRACTS
}
# Answer columns of a survey export whose scale a survey tool may start at 1 instead of 0.
SCALE_COLUMNS_PREFIX = "driver_"
SCALE_COLUMNS = ("nps", "considering_alternatives")


@dataclass(frozen=True)
class CompanyShape:
    """What a landing zone leaves out and how it writes what it keeps. The default is the full demo."""

    absent: frozenset[str] = field(default_factory=frozenset)  # entities with no files at all
    required_columns_only: bool = False  # every entity written with its required (*) columns only
    digit_ids: bool = False  # account ids of digits with leading zeros ("000123"), not "A000123"
    scale_from_one: bool = False  # answers on a 1-10 scale (0 never given)
    relationship_waves: int | None = None  # keep only the newest N relationship-survey waves (None: all)
    # The first N accounts never appear in a CRM export: they are known only from invoices, surveys or
    # activities (a CRM cleaned up, or invoicing from another system) and must still be accounts.
    accounts_missing_from_crm: int = 0

    def __post_init__(self) -> None:
        unknown = set(self.absent) - set(ENTITY_NAMES)
        if unknown:
            raise ValueError(f"unknown entities {sorted(unknown)}: one of {', '.join(ENTITY_NAMES)}")
        if "accounts" in self.absent:
            raise ValueError("crm accounts are required: a landing zone without them has no accounts")
        if self.relationship_waves is not None and self.relationship_waves < 1:
            raise ValueError("relationship_waves must be at least 1 (absent responses: absent={'responses'})")

    def writes(self, entity: str) -> bool:
        return entity not in self.absent

    def keeps_column(self, entity: str, column: str) -> bool:
        return not self.required_columns_only or column in _REQUIRED[entity]

    def shape_table(self, entity: str, table: pa.Table, missing_accounts: frozenset[str] = frozenset()) -> pa.Table:
        """The table as this shape writes it: optional columns dropped, answers moved to a 1-10 scale, the
        accounts missing from the CRM left out of its account exports."""
        if entity == "accounts" and missing_accounts:
            table = table.filter(pc.invert(pc.is_in(table.column("account_id"), pa.array(sorted(missing_accounts)))))
        if self.scale_from_one and entity == "responses":
            for index, name in enumerate(table.column_names):
                if name in SCALE_COLUMNS or name.startswith(SCALE_COLUMNS_PREFIX):
                    table = table.set_column(index, name, _at_least_one(table.column(index)))
        if self.required_columns_only:
            table = table.select([c for c in table.column_names if c in _REQUIRED[entity]])
        return table

    def describe(self) -> dict:
        return {
            "absent": sorted(self.absent),
            "required_columns_only": self.required_columns_only,
            "digit_ids": self.digit_ids,
            "scale_from_one": self.scale_from_one,
            "relationship_waves": self.relationship_waves,
            "accounts_missing_from_crm": self.accounts_missing_from_crm,
        }

    def with_absent(self, *entities: str) -> CompanyShape:
        return replace(self, absent=frozenset(self.absent) | set(entities))


def _at_least_one(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Text answers "0" become "1"; anything else (other answers, planted defects, blanks) is kept."""
    return pc.if_else(pc.equal(column, "0"), pa.scalar("1"), column)


FULL = CompanyShape()
# The shapes of real companies the tests run (tests/shapes): each a combination of the traits above.
SHAPES: dict[str, CompanyShape] = {
    "full": FULL,
    # A CRM (and everything else) exported with the required columns only.
    "required_columns": CompanyShape(required_columns_only=True, digit_ids=True),
    # No survey tool at all.
    "no_survey": CompanyShape(absent=frozenset({"invitations", "responses"})),
    # A survey tool and a CRM, but no finance system: no revenue, so no churn from invoicing.
    "survey_only": CompanyShape(
        absent=frozenset({"invoice_lines", "payments", "cost_to_serve", "opportunities", "activities"}),
        scale_from_one=True,
    ),
    # The minimum: accounts and invoices.
    "accounts_and_invoices": CompanyShape(
        absent=frozenset(
            {"contacts", "opportunities", "activities", "invitations", "responses", "payments", "cost_to_serve"}
        ),
    ),
    # Everything but cost to serve and opportunities; one relationship wave; answers on 1-10.
    "single_wave": CompanyShape(
        absent=frozenset({"cost_to_serve", "opportunities"}), relationship_waves=1, scale_from_one=True
    ),
}
