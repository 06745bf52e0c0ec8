"""Late and corrected data: a correction drop (re-sent invoice lines of one month, and a CRM snapshot that
closes an account retroactively), ingested and re-materialised through a backfill of the affected monthly
partitions, changes exactly those months, and gives what a rebuild of all history gives."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import duckdb
import pytest

from tests.reliability.safety import copy_home, run_stages

CORRECTED_MONTH = "2025-03-01"
CLOSED_ON = "2025-06-15"


def _month_hashes(warehouse: Path, table: str, month: str) -> dict[str, tuple[int, str]]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return {
            str(m): (n, h)
            for m, n, h in conn.execute(
                f"select {month}, count(*), md5(string_agg(cast(t as varchar), chr(10) order by cast(t as varchar))) "
                f"from marts.{table} as t group by {month}"
            ).fetchall()
        }


def _latest_drop_date(landing: Path) -> str:
    return max(p.stem.split("_")[-1] for p in (landing / "finance").glob("invoice_lines_*.parquet"))


def _write_correction_drop(home: Path) -> dict:
    """Re-sent lines of March 2025 with amounts 10% higher, and one active account closed on 15 June
    2025, dropped under the newest extract date (a same-day correction, the hardest case)."""
    landing, warehouse = home / "landing", home / "warehouse.duckdb"
    date = _latest_drop_date(landing)
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        lines = conn.execute(
            "select * exclude (_file, _sheet, _row_number, _extract_date) from raw.finance__invoice_lines "
            "where date_trunc('month', cast(invoice_date as date)) = cast(? as date) order by invoice_id, line_no "
            "limit 25",
            [CORRECTED_MONTH],
        ).df()
        (account,) = conn.execute(
            "select account_id from marts.fct_account_month group by account_id "
            "having bool_and(is_active) and sum(case when month_start >= date '2025-06-01' then revenue_eur end) > 0 "
            "order by account_id limit 1"
        ).fetchall()[0]
    assert len(lines) == 25
    lines["net_amount_eur"] = (lines["net_amount_eur"].astype(float) * 1.1).round(2)
    with duckdb.connect() as conn:
        conn.register("lines", lines)
        target = landing / "finance" / f"invoice_lines_{date}_correction.parquet"
        conn.execute(f"copy lines to '{target}' (format parquet)")

    # The account's row from the newest CRM snapshot, re-sent with status closed and a past closing date.
    snapshot = max((landing / "crm").glob("accounts_*.csv"))
    text = snapshot.read_bytes().decode("cp1252")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    header, body = rows[0], [r for r in rows[1:] if r and r[0] == account]
    assert len(body) == 1
    row = dict(zip(header, body[0], strict=True))
    row.update(status="closed", closed_date=CLOSED_ON)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerows([header, [row[h] for h in header]])
    (landing / "crm" / f"accounts_{snapshot.stem.split('_')[-1]}_correction.csv").write_bytes(
        out.getvalue().encode("cp1252")
    )
    return {"account": account, "lines": lines}


# Slow (two dbt builds, ~3 min): run with `make test-slow`. The month filter itself is a dbt unit test
# (feat_account_snapshot: a_run_for_some_months_rebuilds_only_those_months) in `make test`.
@pytest.mark.slow
def test_a_correction_backfilled_over_the_affected_months_changes_exactly_those_months(built, tmp_path):
    before_home = built["home"]
    tables = {"fct_account_month": "month_start", "feat_account_snapshot": "snapshot_month"}
    before = {t: _month_hashes(before_home / "warehouse.duckdb", t, m) for t, m in tables.items()}

    # Reference: the correction, then a rebuild of all history.
    full = copy_home(before_home, tmp_path / "full")
    correction = _write_correction_drop(full)
    for run in (run_stages(full, "ingest"), run_stages(full, "dbt")):
        assert run.returncode == 0, run.log[-4000:]
    rebuilt = {t: _month_hashes(full / "warehouse.duckdb", t, m) for t, m in tables.items()}
    changed = sorted({m for t in tables for m in rebuilt[t] if rebuilt[t][m] != before[t].get(m)})
    # The corrected month and the months after the closing changed; earlier history did not.
    assert CORRECTED_MONTH in changed and "2025-06-01" in changed
    assert changed[0] >= "2024-01-01" and min(before["fct_account_month"]) < changed[0]

    # The same drop, then a backfill of the affected months only (one run over the range of partitions).
    backfilled = copy_home(before_home, tmp_path / "backfill")
    _write_correction_drop(backfilled)
    for run in (run_stages(backfilled, "ingest"), run_stages(backfilled, "dbt", "--months", changed[0], changed[-1])):
        assert run.returncode == 0, run.log[-4000:]
    after = {t: _month_hashes(backfilled / "warehouse.duckdb", t, m) for t, m in tables.items()}
    assert after == rebuilt
    for table in tables:
        untouched = [m for m in before[table] if m < changed[0]]
        assert untouched and all(after[table][m] == before[table][m] for m in untouched)

    # The corrected lines are the current version in the invoice-line fact, and the account is churned.
    with duckdb.connect(str(backfilled / "warehouse.duckdb"), read_only=True) as conn:
        conn.register("corrected", correction["lines"])
        mismatched = conn.execute(
            "select count(*) from corrected join marts.fct_invoice_lines as f using (invoice_id, line_no) "
            "where abs(f.net_amount_eur - corrected.net_amount_eur) > 0.005"
        ).fetchall()[0][0]
        found = conn.execute(
            "select count(*) from corrected join marts.fct_invoice_lines using (invoice_id, line_no)"
        ).fetchall()[0][0]
        churn = conn.execute(
            "select churn_month, churn_type from intermediate.int_churn_events where account_id = ?",
            [correction["account"]],
        ).fetchall()
    assert found == 25 and mismatched == 0
    assert [(str(m), t) for m, t in churn] == [("2025-06-01", "closed")]
