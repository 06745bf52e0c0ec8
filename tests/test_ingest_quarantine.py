"""One test per reason a row is quarantined; files that cannot be read fail naming the file."""

from __future__ import annotations

import pytest

from pipeline.ingest.loader import QuarantineThresholdExceeded
from pipeline.ingest.readers import UnreadableFileError
from tests.conftest import ACCOUNT_HEADER, account_row

GOOD = [account_row(f"A10{i}") for i in range(3)]

CASES = [
    # (column, bad value, check that catches it)
    ("employees", "about fifty", "dtype"),
    ("employees", "12.5", "dtype"),
    ("created_date", "2021-02-30", "dtype"),
    ("created_date", "yesterday", "dtype"),
    ("estimated_annual_potential_eur", "12 k€", "dtype"),
    ("account_name", "", "not_nullable"),
    ("status", "paused", "isin"),
    ("employees", "-3", "in_range"),
    ("estimated_annual_potential_eur", "5000000000", "in_range"),
    ("country", "Finland", "str_matches"),
    ("business_id", "1234567-8", "valid_business_id"),
    ("business_id", "01120389", "valid_business_id"),
    ("created_date", "2025-02-01", "not_after_extract_date"),
]


@pytest.mark.parametrize(("column", "value", "check"), CASES)
def test_a_row_breaking_the_contract_is_quarantined_with_its_reason(landing, column, value, check):
    bad = account_row("A200", **{column: value})
    landing.write_csv("crm/accounts_20250131.csv", [ACCOUNT_HEADER, *GOOD[:2], bad, GOOD[2]])

    result = landing.ingest("crm", "accounts", max_quarantine_share=1.0)

    assert landing.quarantine() == [("crm/accounts_20250131.csv", 3, column, check, value or None)]
    assert landing.rows("select account_id from raw.crm__accounts order by 1") == [("A100",), ("A101",), ("A102",)]
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (4, 3, 1)


def test_a_bad_boolean_and_a_bad_enum_in_contacts(landing):
    header = ["contact_id", "account_id", "role", "email", "is_active", "created_date"]
    landing.write_csv(
        "crm/contacts_20250131.csv",
        [
            header,
            ["C1", "A1", "Decision_Maker", "a@b.fi", "kyllä", "2020-01-01"],
            ["C2", "A1", "boss", "", "maybe", ""],
        ],
    )
    landing.ingest("crm", "contacts", max_quarantine_share=1.0)
    assert landing.rows("select contact_id, role, is_active from raw.crm__contacts") == [("C1", "decision_maker", True)]
    assert [q[2:4] for q in landing.quarantine()] == [("is_active", "dtype"), ("role", "isin")]


def test_nps_outside_0_to_10_and_driver_columns_are_checked(landing):
    header = ["response_id", "survey_id", "account_id", "response_date", "nps", "driver_quality", "driver_new_thing"]
    landing.write_csv(
        "survey/responses_20250131.csv",
        [
            header,
            ["R1", "S1", "A1", "2025-01-10", "9", "8", "10"],
            ["R2", "S1", "A1", "2025-01-10", "11", "7", ""],
            ["R3", "S1", "A2", "2025-01-10", "5", "12", "3"],
        ],
    )
    result = landing.ingest("survey", "responses", max_quarantine_share=1.0)
    assert [q[1:4] for q in landing.quarantine()] == [(2, "nps", "in_range"), (3, "driver_quality", "in_range")]
    # A driver the contract never heard of is a rating like any other: typed, checked, kept.
    assert landing.rows("select response_id, survey_type, driver_new_thing from raw.survey__responses") == [
        ("R1", "relationship", 10)
    ]
    assert result.rows_loaded == 1


def test_a_key_repeated_in_a_file_keeps_the_later_row(landing):
    landing.write_csv(
        "crm/accounts_20250131.csv",
        [ACCOUNT_HEADER, account_row("A1", employees="10"), account_row("A2"), account_row("A1", employees="11")],
    )
    landing.ingest("crm", "accounts", max_quarantine_share=1.0)
    assert landing.rows("select account_id, employees from raw.crm__accounts order by 1") == [("A1", 11), ("A2", 120)]
    assert landing.quarantine() == [("crm/accounts_20250131.csv", 1, "account_id", "duplicate_key", "A1")]


def test_a_broken_later_copy_does_not_push_out_the_good_earlier_row(landing):
    landing.write_csv(
        "crm/accounts_20250131.csv",
        [ACCOUNT_HEADER, account_row("A1"), account_row("A1", status="unknown")],
    )
    landing.ingest("crm", "accounts", max_quarantine_share=1.0)
    assert landing.rows("select account_id, status from raw.crm__accounts") == [("A1", "active")]
    assert [q[1:4] for q in landing.quarantine()] == [(2, "status", "isin")]


def test_malformed_rows_are_quarantined_with_their_row_numbers(landing):
    text = (
        ",".join(ACCOUNT_HEADER)
        + "\n"
        + ",".join(account_row("A1"))
        + "\n"
        + "A2,short row\n"
        + ",".join(account_row("A3"))
        + ",an extra field\n"
        + ",".join(account_row("A4"))
        + "\n"
    )
    landing.write_bytes("crm/accounts_20250131.csv", text.encode())
    result = landing.ingest("crm", "accounts", max_quarantine_share=1.0)
    assert [q[1:4] for q in landing.quarantine()] == [(2, None, "malformed_row"), (3, None, "malformed_row")]
    assert landing.rows("select account_id, _row_number from raw.crm__accounts order by 1") == [("A1", 1), ("A4", 4)]
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (4, 2, 2)


@pytest.mark.parametrize(
    ("relative", "content", "problem"),
    [
        ("crm/accounts_20250131.csv", b"", "empty"),
        (
            "crm/accounts_20250131.csv",
            b"account_id,account_name\nA1,x\n",
            "required column(s) missing: created_date, status",
        ),
        ("crm/accounts_20250131.csv", b"just some words\nwithout any structure\n", "not a delimited table"),
        ("finance/invoice_lines_20250131.parquet", b"", "empty"),
        ("finance/invoice_lines_20250131.parquet", b"PAR1 this is not parquet", "not a readable Parquet file"),
        ("finance/cost_to_serve_20250131.xlsx", b"PK\x03\x04 broken zip", "not a readable XLSX workbook"),
    ],
)
def test_a_file_that_cannot_be_read_fails_naming_the_file_and_the_problem(landing, relative, content, problem):
    landing.write_bytes(relative, content)
    source, name = relative.split("/")
    entity = name.rsplit("_", 1)[0]
    with pytest.raises(UnreadableFileError) as raised:
        landing.ingest(source, entity)
    assert relative in str(raised.value) and problem in str(raised.value)
    assert landing.rows("select status from meta.ingest_ledger where file = ?", [relative]) == [("failed",)]


def test_an_unreadable_file_loads_nothing_of_its_run(landing):
    landing.write_csv("crm/accounts_20250131.csv", [ACCOUNT_HEADER, account_row("A1")])
    landing.write_bytes("crm/accounts_20250228.csv", b"account_id\nA1\n")
    with pytest.raises(UnreadableFileError):
        landing.ingest("crm", "accounts")
    assert landing.rows("select count(*) from raw.crm__accounts") == [(0,)]


def test_quarantine_share_above_the_threshold_fails_and_keeps_the_evidence(landing):
    rows = (
        [ACCOUNT_HEADER]
        + [account_row(f"A{i}") for i in range(8)]
        + [account_row("B1", status="?"), account_row("B2", status="?")]
    )
    landing.write_csv("crm/accounts_20250131.csv", rows)
    with pytest.raises(QuarantineThresholdExceeded, match=r"crm/accounts_20250131.csv: 2 of 10 rows"):
        landing.ingest("crm", "accounts", max_quarantine_share=0.1)
    assert landing.rows("select count(*) from raw.crm__accounts") == [(0,)]
    assert len(landing.quarantine()) == 2
    assert landing.rows("select status from meta.ingest_ledger") == [("rejected",)]

    # Raising the limit (or fixing the file) and re-running loads it, without doubling the evidence.
    result = landing.ingest("crm", "accounts", max_quarantine_share=0.25)
    assert result.rows_loaded == 8
    assert len(landing.quarantine()) == 2


def test_files_still_being_written_are_ignored_and_misnamed_files_reported(landing):
    landing.write_csv("crm/accounts_20250131.csv.part", [ACCOUNT_HEADER, account_row("A1")])
    landing.write_csv("crm/accounts-latest.csv", [ACCOUNT_HEADER, account_row("A1")])
    landing.write_csv("crm/leads_20250131.csv", [["lead_id"], ["L1"]])
    result = landing.ingest("crm", "accounts")
    assert result.files_in_landing == 0
    assert result.not_understood == ["crm/accounts-latest.csv", "crm/leads_20250131.csv"]
