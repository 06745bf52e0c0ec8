"""Training beyond its row budget reads whole accounts (pipeline/churn/features.py, sampled_accounts)."""

from __future__ import annotations

import duckdb
import pytest

from pipeline.churn.features import SAMPLE_BUCKETS, sample_condition, sampled_accounts


@pytest.fixture
def history():
    conn = duckdb.connect()
    # 2,000 accounts with 1 to 36 months each: 36,840 rows, account ids as the CRM gives them (text).
    conn.execute(
        "create table months as select 'ACC-' || lpad(a::varchar, 5, '0') as account_id, m as month_index "
        "from range(2000) t(a), range(36) s(m) where m < 1 + a % 36"
    )
    yield conn
    conn.close()


def _kept(conn, condition: str) -> dict[str, int]:
    return dict(conn.execute(f"select account_id, count(*) from months where {condition} group by 1").fetchall())


def test_under_the_budget_every_row_is_read(history):
    rows = sum(1 + a % 36 for a in range(2000))
    sample = sampled_accounts(history, "months", max_rows=rows)
    assert not sample.sampled and sample.rows_in_table == rows and sample_condition(sample) == "true"
    unbounded = sampled_accounts(history, "months", max_rows=None)
    assert unbounded.buckets == SAMPLE_BUCKETS and unbounded.describe() == "every row"


def test_beyond_the_budget_whole_accounts_are_kept_about_the_budget_and_the_same_every_time(history):
    everything = _kept(history, "true")
    sample = sampled_accounts(history, "months", max_rows=10_000)
    assert sample.sampled and "hash buckets" in sample.describe()
    kept = _kept(history, sample_condition(sample))
    # Every kept account with its whole history, none in part.
    assert all(rows == everything[account] for account, rows in kept.items())
    rows = sum(kept.values())
    assert 7_000 <= rows <= 13_000, rows  # the budget in expectation, over 2,000 accounts
    assert 0.15 <= len(kept) / len(everything) <= 0.40
    # The mix of history lengths is the population's, not the first accounts'.
    assert max(kept.values()) == 36 and min(kept.values()) <= 3
    again = sampled_accounts(history, "months", max_rows=10_000)
    assert again == sample and _kept(history, sample_condition(again)) == kept


def test_a_restricted_read_counts_only_its_rows(history):
    sample = sampled_accounts(history, "months", max_rows=2_000, where="month_index = ?", params=[0])
    assert sample.rows_in_table == 2_000 and not sample.sampled
