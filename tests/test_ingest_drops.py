"""Snapshot and incremental drops: re-runs change nothing, new drops load only what is new."""

from __future__ import annotations

import os

import pytest

from pipeline.contract import CONTRACTS
from pipeline.ingest.loader import ensure_tables
from pipeline.ingest.readers import UnreadableFileError
from tests.conftest import ACCOUNT_HEADER, account_row

ACTIVITY_HEADER = ["activity_id", "account_id", "activity_type", "activity_date", "notes"]


def _table_fingerprint(landing, table: str) -> list[tuple]:
    return landing.rows(f"select * from {table} order by all")


def test_rerunning_on_the_same_files_changes_nothing(landing):
    landing.write_csv("crm/accounts_20250131.csv", [ACCOUNT_HEADER, account_row("A1"), account_row("A2", status="x")])
    first = landing.ingest("crm", "accounts", max_quarantine_share=1.0)
    before = _table_fingerprint(landing, "raw.crm__accounts"), landing.quarantine()

    # Even a touched file (new mtime, same bytes) is recognised by its hash and not loaded again.
    path = landing.landing / "crm/accounts_20250131.csv"
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    second = landing.ingest("crm", "accounts", max_quarantine_share=1.0)

    assert first.rows_loaded == 1 and second.loaded == [] and second.files_unchanged == 1
    assert (_table_fingerprint(landing, "raw.crm__accounts"), landing.quarantine()) == before


def test_a_new_drop_loads_only_what_is_new(landing):
    landing.write_csv(
        "crm/activities_20250131.csv",
        [ACTIVITY_HEADER, ["ACT1", "A1", "meeting", "2025-01-10", "met"], ["ACT2", "A1", "call", "2025-01-20", ""]],
    )
    landing.ingest("crm", "activities")
    landing.write_csv(
        "crm/activities_20250228.csv",
        # ACT2 comes again, corrected: both versions stay in raw; the later drop is the current one.
        [ACTIVITY_HEADER, ["ACT2", "A1", "visit", "2025-01-20", ""], ["ACT3", "A2", "email", "2025-02-03", ""]],
    )
    second = landing.ingest("crm", "activities")

    assert [f.file for f in second.loaded] == ["crm/activities_20250228.csv"]
    assert second.files_unchanged == 1 and second.rows_loaded == 2
    assert landing.rows(
        "select activity_id, activity_type, _extract_date::varchar from raw.crm__activities order by 1, 3"
    ) == [
        ("ACT1", "meeting", "2025-01-31"),
        ("ACT2", "call", "2025-01-31"),
        ("ACT2", "visit", "2025-02-28"),
        ("ACT3", "email", "2025-02-28"),
    ]


def test_a_file_resent_with_other_content_replaces_its_earlier_rows(landing):
    landing.write_csv("crm/accounts_20250131.csv", [ACCOUNT_HEADER, account_row("A1"), account_row("A2")])
    landing.ingest("crm", "accounts")
    landing.write_csv("crm/accounts_20250131.csv", [ACCOUNT_HEADER, account_row("A1", employees="7")])
    result = landing.ingest("crm", "accounts")
    assert [(f.file, f.action) for f in result.loaded] == [("crm/accounts_20250131.csv", "replaced")]
    assert landing.rows("select account_id, employees from raw.crm__accounts") == [("A1", 7)]


def test_snapshots_are_all_kept_for_history(landing):
    landing.write_csv("crm/accounts_20250131.csv", [ACCOUNT_HEADER, account_row("A1")])
    landing.write_csv(
        "crm/accounts_20250228.csv", [ACCOUNT_HEADER, account_row("A1", status="closed"), account_row("A2")]
    )
    landing.ingest("crm", "accounts")
    assert landing.rows("select _extract_date::varchar, account_id, status from raw.crm__accounts order by 1, 2") == [
        ("2025-01-31", "A1", "active"),
        ("2025-02-28", "A1", "closed"),
        ("2025-02-28", "A2", "active"),
    ]


def test_a_source_without_files_yields_empty_tables_with_the_right_columns(landing):
    for contract in CONTRACTS:
        result = landing.ingest(contract.source, contract.entity)
        assert result.files_in_landing == 0 and result.table_rows == 0
    columns = dict(
        landing.rows(
            "select table_name, list(column_name order by ordinal_position) from information_schema.columns "
            "where table_schema = 'raw' group by 1"
        )
    )
    assert set(columns) == {c.table for c in CONTRACTS}
    assert columns["survey__responses"][:8] == [
        "response_id",
        "survey_id",
        "survey_type",
        "account_id",
        "contact_id",
        "invitation_id",
        "response_date",
        "nps",
    ]
    for contract in CONTRACTS:
        ensure_tables(landing.conn, contract)  # idempotent


def test_raw_rows_reconcile_with_the_ledger_through_replacements_and_failures(landing):
    from pipeline.contract import contract_for
    from pipeline.ingest.loader import reconcile

    contract = contract_for("crm", "accounts")
    landing.write_csv("crm/accounts_20250131.csv", [ACCOUNT_HEADER, account_row("A1"), account_row("A2", status="?")])
    landing.ingest("crm", "accounts", max_quarantine_share=1.0)
    assert reconcile(landing.conn, contract).holds
    landing.write_csv("crm/accounts_20250131.csv", [ACCOUNT_HEADER, account_row("A1"), account_row("A3")])
    landing.ingest("crm", "accounts")
    assert reconcile(landing.conn, contract).table_rows == 2 and reconcile(landing.conn, contract).holds
    landing.write_bytes("crm/accounts_20250131.csv", b"account_id\nA1\n")  # a broken re-send
    with pytest.raises(UnreadableFileError):
        landing.ingest("crm", "accounts")
    assert reconcile(landing.conn, contract).holds
    landing.conn.execute("delete from raw.crm__accounts where account_id = 'A3'")  # rows lost behind our back
    assert not reconcile(landing.conn, contract).holds
