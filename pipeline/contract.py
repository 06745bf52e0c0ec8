"""The landing-zone contract (v1) as pandera schemas: the one place that says what a valid row is.

Each entity of DESIGN.md's contract is an :class:`EntityContract`: its source folder, whether drops are
full snapshots or increments, its key, and a pandera ``DataFrameSchema`` with the columns, logical
types, required flags, allowed values and ranges. Ingest does not validate row by row in pandas (30
million rows would not fit the time budget): :mod:`pipeline.ingest.validation` compiles these same
schemas into DuckDB SQL, and ``tests/test_contract_equivalence.py`` proves the compiled SQL flags exactly
the rows pandera flags. So the schemas here stay the single source of truth.

Column metadata carries what pandera's pandas dtypes cannot say:
- ``logical``: the warehouse type (text, enum, date, month, integer, money, bool);
- ``default``: value used when the column is absent or empty (``survey_type``);
- ``case``: codes folded to lower or upper case before checking (enums, country codes);
- ``personal``: personal data that must never reach the BI layer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

import pandas as pd
import pandera.pandas as pa

# Sanity bounds: amounts beyond these are export errors (a misplaced decimal separator, an account
# number in the amount column), not business.
MAX_LINE_AMOUNT_EUR = 10_000_000
MAX_ANNUAL_POTENTIAL_EUR = 1_000_000_000

BUSINESS_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2)
BUSINESS_ID_PATTERN = r"^[0-9]{7}-[0-9]$"


def business_id_is_valid(value: str) -> bool:
    """Finnish Y-tunnus: seven digits, a hyphen, a check digit (weights 7,9,10,5,8,4,2; mod 11)."""
    import re

    if not isinstance(value, str) or not re.fullmatch(BUSINESS_ID_PATTERN, value):
        return False
    remainder = sum(int(d) * w for d, w in zip(value[:7], BUSINESS_ID_WEIGHTS, strict=True)) % 11
    if remainder == 1:
        return False
    expected = 0 if remainder == 0 else 11 - remainder
    return int(value[8]) == expected


# Custom checks carry a stable name; the SQL compiler maps each name to a predicate.
def valid_business_id() -> pa.Check:
    return pa.Check(
        lambda s: s.map(business_id_is_valid),
        element_wise=False,
        name="valid_business_id",
        error="not a valid Finnish business ID (Y-tunnus) checksum",
    )


def not_after(extract_date: dt.date) -> pa.Check:
    """A date after the file's extract date cannot be a fact yet: it is an export error."""
    limit = pd.Timestamp(extract_date)
    return pa.Check(
        lambda s: s <= limit,
        name="not_after_extract_date",
        error=f"date after the file's extract date {extract_date.isoformat()}",
        statistics={"extract_date": extract_date},
    )


def first_day_of_month() -> pa.Check:
    return pa.Check(lambda s: s.dt.day == 1, name="first_day_of_month", error="month must be its first day")


Logical = Literal["text", "enum", "date", "month", "integer", "money", "bool"]

_PANDAS_DTYPE: dict[str, object] = {
    "text": str,
    "enum": str,
    "date": "datetime64[ns]",
    "month": "datetime64[ns]",
    "integer": "Int64",
    "money": float,
    "bool": "boolean",
}


def column(
    logical: Logical,
    *checks: pa.Check,
    required: bool = False,
    personal: bool = False,
    default: str | None = None,
    regex: bool = False,
    case: Literal["lower", "upper"] | None = None,
) -> pa.Column:
    """A contract column. ``required`` (marked * in DESIGN.md) means present and never empty."""
    return pa.Column(
        _PANDAS_DTYPE[logical],
        checks=list(checks),
        nullable=not required,
        required=required,
        regex=regex,
        metadata={
            "logical": logical,
            "personal": personal,
            "default": default,
            # Codes are compared case-insensitively: exports write "Active", "fi" or "MEETING".
            "case": case or ("lower" if logical == "enum" else None),
        },
    )


def rating() -> pa.Check:
    return pa.Check.in_range(0, 10)


@dataclass(frozen=True)
class EntityContract:
    source: str
    entity: str
    kind: Literal["snapshot", "incremental"]
    key: tuple[str, ...]
    description: str

    @property
    def table(self) -> str:
        """Raw table name in the warehouse (schema ``raw``)."""
        return f"{self.source}__{self.entity}"

    @property
    def personal_columns(self) -> frozenset[str]:
        """Columns holding personal data: kept in the warehouse, never published to BI."""
        columns = _COLUMNS[(self.source, self.entity)](dt.date.today())
        return frozenset(name for name, col in columns.items() if col.metadata["personal"])

    def schema(self, extract_date: dt.date) -> pa.DataFrameSchema:
        """The pandera schema for one file; some checks depend on the file's extract date."""
        return pa.DataFrameSchema(
            _COLUMNS[(self.source, self.entity)](extract_date),
            unique=list(self.key),
            report_duplicates="exclude_last",  # a later row with the same key replaces the earlier one
            strict=False,  # extra columns are kept, not rejected
            name=f"{self.source}/{self.entity}",
        )


def _accounts(d: dt.date) -> dict[str, pa.Column]:
    return {
        "account_id": column("text", required=True),
        "account_name": column("text", required=True),  # a legal entity's name, not personal data
        "business_id": column("text", valid_business_id()),
        "industry": column("text"),
        "country": column("text", pa.Check.str_matches(r"^[A-Z]{2}$"), case="upper"),
        "region": column("text"),
        "employees": column("integer", pa.Check.in_range(0, 10_000_000)),
        "created_date": column("date", not_after(d), required=True),
        "status": column("enum", pa.Check.isin(["active", "closed"]), required=True),
        "closed_date": column("date", not_after(d)),
        "owner": column("text", personal=True),
        "estimated_annual_potential_eur": column("money", pa.Check.in_range(0, MAX_ANNUAL_POTENTIAL_EUR)),
        "main_competitor": column("text"),
    }


def _contacts(d: dt.date) -> dict[str, pa.Column]:
    return {
        "contact_id": column("text", required=True),
        "account_id": column("text", required=True),
        "role": column("enum", pa.Check.isin(["decision_maker", "influencer", "user", "other"])),
        "email": column("text", personal=True),
        "is_active": column("bool"),
        "created_date": column("date", not_after(d)),
    }


def _opportunities(d: dt.date) -> dict[str, pa.Column]:
    return {
        "opportunity_id": column("text", required=True),
        "account_id": column("text", required=True),
        "created_date": column("date", not_after(d), required=True),
        "close_date": column("date"),  # expected close of an open deal lies in the future
        "stage": column("enum", pa.Check.isin(["open", "won", "lost"]), required=True),
        "amount_eur": column("money", pa.Check.in_range(0, MAX_LINE_AMOUNT_EUR)),
        "lost_reason": column("text"),
        "competitor": column("text"),
    }


def _activities(d: dt.date) -> dict[str, pa.Column]:
    return {
        "activity_id": column("text", required=True),
        "account_id": column("text", required=True),
        "contact_id": column("text"),
        "activity_type": column("enum", pa.Check.isin(["meeting", "call", "email", "visit"]), required=True),
        "activity_date": column("date", not_after(d), required=True),
        "notes": column("text", personal=True),
        # A retention contact is an activity with campaign "retention" (case and spaces ignored): the contact
        # the retention-effect analysis reads back (docs/customer_insight.md); any other value is kept.
        "campaign": column("text"),
    }


def _invitations(d: dt.date) -> dict[str, pa.Column]:
    return {
        "invitation_id": column("text", required=True),
        "survey_id": column("text", required=True),
        "account_id": column("text", required=True),
        "contact_id": column("text"),
        "sent_date": column("date", not_after(d), required=True),
    }


def _responses(d: dt.date) -> dict[str, pa.Column]:
    return {
        "response_id": column("text", required=True),
        "survey_id": column("text", required=True),
        "survey_type": column("enum", pa.Check.isin(["relationship", "transactional", "exit"]), default="relationship"),
        "account_id": column("text", required=True),
        "contact_id": column("text"),
        "invitation_id": column("text"),
        "response_date": column("date", not_after(d), required=True),
        "nps": column("integer", rating(), required=True),
        "driver_.+": column("integer", rating(), regex=True),
        "considering_alternatives": column("integer", rating()),
        "preferred_competitor": column("text"),
        "reason_left": column("text"),
        "comment": column("text", personal=True),
    }


def _invoice_lines(d: dt.date) -> dict[str, pa.Column]:
    amount = pa.Check.in_range(-MAX_LINE_AMOUNT_EUR, MAX_LINE_AMOUNT_EUR)
    return {
        "invoice_id": column("text", required=True),
        "line_no": column("integer", pa.Check.in_range(1, 100_000), required=True),
        "account_id": column("text", required=True),
        "invoice_date": column("date", not_after(d), required=True),
        "due_date": column("date"),
        "product_line": column("text"),
        "net_amount_eur": column("money", amount, required=True),
        "cost_amount_eur": column("money", amount),
    }


def _payments(d: dt.date) -> dict[str, pa.Column]:
    return {
        "invoice_id": column("text", required=True),
        "paid_date": column("date", not_after(d), required=True),
        "amount_eur": column("money", pa.Check.in_range(-MAX_LINE_AMOUNT_EUR, MAX_LINE_AMOUNT_EUR), required=True),
    }


def _cost_to_serve(d: dt.date) -> dict[str, pa.Column]:
    return {
        "account_id": column("text", required=True),
        "month": column("month", first_day_of_month(), not_after(d), required=True),
        "service_cost_eur": column("money", pa.Check.in_range(0, MAX_LINE_AMOUNT_EUR), required=True),
    }


_COLUMNS = {
    ("crm", "accounts"): _accounts,
    ("crm", "contacts"): _contacts,
    ("crm", "opportunities"): _opportunities,
    ("crm", "activities"): _activities,
    ("survey", "invitations"): _invitations,
    ("survey", "responses"): _responses,
    ("finance", "invoice_lines"): _invoice_lines,
    ("finance", "payments"): _payments,
    ("finance", "cost_to_serve"): _cost_to_serve,
}

CONTRACTS: tuple[EntityContract, ...] = (
    EntityContract("crm", "accounts", "snapshot", ("account_id",), "Customer accounts, full snapshot per drop."),
    EntityContract("crm", "contacts", "snapshot", ("contact_id",), "Contacts at accounts, full snapshot."),
    EntityContract("crm", "opportunities", "snapshot", ("opportunity_id",), "Sales opportunities, full snapshot."),
    EntityContract("crm", "activities", "incremental", ("activity_id",), "Meetings, calls, emails, visits."),
    EntityContract("survey", "invitations", "incremental", ("invitation_id",), "Survey invitations sent."),
    EntityContract("survey", "responses", "incremental", ("response_id",), "Survey answers: NPS and drivers."),
    EntityContract(
        "finance", "invoice_lines", "incremental", ("invoice_id", "line_no"), "Invoice lines; credit notes negative."
    ),
    # A payment has no id of its own: one invoice paid in two parts on one day is one row per file.
    EntityContract("finance", "payments", "incremental", ("invoice_id", "paid_date"), "Payments received."),
    EntityContract("finance", "cost_to_serve", "incremental", ("account_id", "month"), "Monthly cost to serve."),
)


def contract_for(source: str, entity: str) -> EntityContract:
    for contract in CONTRACTS:
        if contract.source == source and contract.entity == entity:
            return contract
    raise KeyError(f"no contract for {source}/{entity}")
