"""Retention contacts against a holdout (issue 22, item 1): the demo plants the policy and its effect, the
CRM carries the contacts back, and the randomised comparison recovers what was planted.

The recovery runs on the planted company's own cohorts (the generator's selection, its split, its calls and
the churn it drew), large enough for a tight interval; the warehouse's SQL is tested on the same rule by
the dbt unit tests of int_retention_assignment and mart_retention_effect (the split's numbers there are
this module's Python twin's) and on a built company below.

    .venv/bin/pytest tests/test_retention_effect.py -x -q           # ~2 min (one company through ingest and dbt)
    .venv/bin/pytest tests/test_retention_effect.py -x -q -m slow   # the 100,000-account trial, ~1 min
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from pipeline.churn.tables import ensure_tables
from pipeline.demo import formats
from pipeline.demo.calendar import Calendar
from pipeline.demo.generator import PLANTED_RETENTION, generate_demo_company
from pipeline.demo.population import Streams, build_accounts
from pipeline.demo.retention import RetentionPlan, RetentionPolicy, retention_truth
from pipeline.insight import tables as insight_tables
from pipeline.insight.retention import cohorts_needed, is_holdout, risk_ratio, split_uniform
from pipeline.rules import BusinessRules
from tests.companies import job_env
from tests.dbt_cli import run_dbt
from tests.test_generator import parse_date, read_all
from tests.warm_runner import run_module


def planted_company(accounts: int, odds_multiplier: float, seed: int = 5) -> dict:
    """The planted population with the policy (no files): its truth and the realised counts."""
    calendar = Calendar.ending("2026-10", 36)
    ids = np.array(formats.ids("A", np.arange(1, accounts + 1), 6).to_pylist(), dtype=object)
    plan = RetentionPlan(RetentionPolicy(odds_multiplier=odds_multiplier), ids)
    population = build_accounts(Streams(seed), accounts, calendar, plan)
    _, truth = retention_truth(plan, calendar, population.static_logit, population.risk_state, population.churn_month)
    return {"truth": truth, "churn_month": population.churn_month}


def itt(truth: dict):
    r = truth["realised"]
    return risk_ratio(
        r["contact_group"]["churned"], r["contact_group"]["accounts"], r["holdout"]["churned"], r["holdout"]["accounts"]
    )


def test_the_demo_policy_uses_the_warehouse_rules():
    rules = BusinessRules.load()
    assert PLANTED_RETENTION.holdout_share == rules.retention_holdout_share
    assert PLANTED_RETENTION.split_seed == rules.retention_split_seed
    assert PLANTED_RETENTION.selected_share == rules.retention_contact_max_decile / 10
    assert PLANTED_RETENTION.horizon == rules.churn_horizon_months


def test_the_split_is_a_seeded_hash_uniform_and_reproducible():
    ids = [f"A{i:06d}" for i in range(20_000)]
    months = ["2025-03-01"] * len(ids)
    u = split_uniform(ids, months, 22)
    assert np.array_equal(u, split_uniform(ids, months, 22))  # same data, same split
    assert not np.array_equal(u, split_uniform(ids, months, 23))  # another seed, another split
    assert ((u >= 0) & (u < 1)).all()
    assert abs(is_holdout(ids, months, 22, 0.2).mean() - 0.2) < 0.01
    # The same account is re-drawn each month: its groups across months are independent.
    other = is_holdout(ids, ["2025-04-01"] * len(ids), 22, 0.2)
    assert abs((is_holdout(ids, months, 22, 0.2) & other).mean() - 0.04) < 0.005


def test_the_warehouse_computes_the_same_split_on_duckdb():
    # macros/retention.sql as dbt compiles it on DuckDB (duckdb__hex8_to_bigint, duckdb__iso_date_string).
    ids = [f"A{i:06d}" for i in range(1, 3001)]
    with duckdb.connect() as conn:
        rows = conn.execute(
            """
            select account_id, (cast(cast('0x' || substr(md5(cast(account_id as varchar) || '|'
                || strftime(cast(date '2025-01-01' as date), '%Y-%m-%d') || '|' || '22'), 1, 8) as bigint)
                as double precision) / 4294967296.0)
            from (select unnest(?) as account_id)
            order by account_id
            """,
            [ids],
        ).fetchall()
    assert [r[0] for r in rows] == ids
    assert np.array_equal(np.array([r[1] for r in rows]), split_uniform(ids, ["2025-01-01"] * len(ids), 22))


def test_the_demo_crm_carries_the_retention_contacts_and_never_calls_the_holdout(tmp_path):
    generate_demo_company(
        tmp_path / "landing", tmp_path / "truth", accounts=1000, months=30, seed=4, retention=PLANTED_RETENTION
    )
    cohorts = pq.read_table(tmp_path / "truth" / "retention_cohorts.parquet").to_pandas()
    truth = json.loads((tmp_path / "truth" / "retention_effect.json").read_text())
    assert truth["policy"]["odds_multiplier"] == 0.6 and len(cohorts) > 100
    # The holdout is the warehouse's split of (account, month).
    months = [str(m) for m in cohorts["cohort_month"]]
    assert (cohorts["holdout"] == is_holdout(cohorts["account_id"], months, 22, 0.2)).all()
    assert not (cohorts["holdout"] & cohorts["contacted"]).any()
    contact_group = cohorts[~cohorts["holdout"]]
    assert 0.75 < contact_group["contacted"].mean() < 0.95  # most of the contact group is called
    activities = read_all(tmp_path / "landing", "crm", "activities")
    calls = activities[activities["campaign"] == "retention"]
    assert (calls["activity_type"] == "call").all()
    dates = parse_date(calls["activity_date"]).dt.date
    called = {(a, d.replace(day=1)) for a, d in zip(calls["account_id"], dates, strict=True)}
    # Every contact of cohort t is a call dated in month t + 1, and every call is one of those contacts.
    expected = {
        (a, (np.datetime64(m, "M") + 1).astype("datetime64[D]").item())
        for a, m, c in zip(cohorts["account_id"], cohorts["cohort_month"], cohorts["contacted"], strict=True)
        if c
    }
    assert called and called == {x for x in expected if x[1] <= dt.date(2026, 10, 1)}


def test_the_planted_reduction_is_recovered_within_its_interval_and_a_zero_effect_is_covered():
    planted = planted_company(40_000, 0.6)
    effect = itt(planted["truth"])
    low, high = effect.reduction_interval
    expected = planted["truth"]["expected_relative_reduction_itt"]
    assert 0.25 < expected < 0.4
    assert low < expected < high
    assert low > 0  # distinguishable from zero at this size
    assert effect.distinguishable_from_zero and cohorts_needed(effect, planted["truth"]["cohorts_past_horizon"])
    # Per protocol: in the demo the calls reach the contact group at random, so it is unbiased here too.
    r = planted["truth"]["realised"]
    pp = risk_ratio(
        r["contacted"]["churned"], r["contacted"]["accounts"], r["holdout"]["churned"], r["holdout"]["accounts"]
    )
    pp_low, pp_high = pp.reduction_interval
    assert pp_low < planted["truth"]["expected_relative_reduction_per_protocol"] < pp_high

    null = planted_company(40_000, 1.0)
    null_low, null_high = itt(null["truth"]).reduction_interval
    assert null["truth"]["expected_relative_reduction_itt"] == 0
    assert null_low < 0 < null_high
    # The policy's calls leave the churn draws alone: without an effect, churn is the company's without policy.
    calendar = Calendar.ending("2026-10", 36)
    bare = build_accounts(Streams(5), 40_000, calendar)
    assert np.array_equal(bare.churn_month, null["churn_month"])


@pytest.mark.slow
def test_the_interval_covers_the_planted_reduction_over_seeds():
    # Coverage: over independent companies the 95% interval holds the planted reduction nearly always and
    # a zero effect's interval covers zero nearly always (ten trials each: at most one miss of each).
    misses_planted = misses_null = 0
    for seed in range(10):
        planted = planted_company(20_000, 0.6, seed=100 + seed)
        low, high = itt(planted["truth"]).reduction_interval
        misses_planted += not low < planted["truth"]["expected_relative_reduction_itt"] < high
        null_low, null_high = itt(planted_company(20_000, 1.0, seed=100 + seed)["truth"]).reduction_interval
        misses_null += not null_low < 0 < null_high
    assert misses_planted <= 1 and misses_null <= 1


@pytest.fixture(scope="module")
def planted_warehouse(tmp_path_factory) -> Path:
    """A 400-account company with the planted policy (seed 7), ingested and built by dbt (no model)."""
    home = tmp_path_factory.mktemp("planted") / "home"
    generate_demo_company(
        home / "landing", home / "truth", accounts=400, months=36, seed=7, retention=PLANTED_RETENTION
    )
    from pipeline.cli import DAGSTER_YAML

    (home / "dagster_home").mkdir()
    (home / "dagster_home" / "dagster.yaml").write_text(DAGSTER_YAML)  # as run_job and `pipeline` write it
    done = run_module("pipeline.runner", ["ingest", "dbt"], env=job_env(home), cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, (done.stdout + done.stderr)[-6000:]
    return home


def test_the_warehouse_reproduces_the_demo_policy_and_measures_its_effect(planted_warehouse, tmp_path):
    # The planted company scored every month with its own true probabilities as the model (decile 1 = the
    # generator's top decile, so the warehouse's selection is the generator's): the warehouse must draw
    # the generator's split, read the generator's calls back from the CRM and measure the effect.
    home = planted_warehouse
    truth_dir = home / "truth"
    warehouse = home / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as conn:
        conn.execute(
            f"""
            create or replace temp table true_scores as
            select account_id, month as snapshot_month, p_churn_6m as churn_probability,
                   cast(ntile(10) over (partition by month order by p_churn_6m desc, account_id) as integer)
                       as risk_decile
            from read_parquet('{truth_dir}/churn_probabilities.parquet')
            where month in (select snapshot_month from marts.feat_account_snapshot)
            """
        )
        ensure_tables(conn)  # the churn model's tables, as the scoring asset makes them
        # mart_analysis_status also reads the segmentation's status: a company whose analyses have not run.
        insight_tables.replace_table(conn, "segmentation", pd.DataFrame(), "not run")
        conn.execute("delete from ml.churn_scores")
        conn.execute(
            """
            insert into ml.churn_scores by name
            select account_id, snapshot_month, churn_probability, risk_decile,
                   case when risk_decile = 1 then 'high' else 'low' end as risk_band,
                   'truth' as model_version, now()::timestamp as scored_at
            from true_scores
            """
        )
    built = run_dbt(
        [
            "build",
            "--select",
            "path:models/staging/ml",
            "int_retention_assignment+",
            "stg_insight__segmentation",
            "--exclude-resource-type",
            "unit_test",
        ],
        {"PIPELINE_WAREHOUSE_PATH": str(warehouse)},
        tmp_path,
    )
    assert built.returncode == 0, built.stdout[-4000:]
    cohorts = pq.read_table(truth_dir / "retention_cohorts.parquet").to_pandas()
    first, last = cohorts["cohort_month"].min(), cohorts["cohort_month"].max()
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        assignment = conn.execute(
            "select account_id, cohort_month, retention_group = 'holdout', is_contacted, churned_within_horizon, "
            "is_horizon_passed from intermediate.int_retention_assignment where cohort_month between ? and ?",
            [first, last],
        ).fetchall()
        every_cohort = conn.execute(
            "select retention_group = 'holdout', churned_within_horizon from intermediate.int_retention_assignment "
            "where is_horizon_passed and churned_within_horizon is not null"
        ).fetchall()
        effect = conn.execute(
            "select cohorts, accounts_contact_group, churned_contact_group, accounts_holdout, churned_holdout, "
            "itt_relative_reduction, itt_relative_reduction_ci_low, itt_relative_reduction_ci_high, "
            "is_per_protocol_randomised, effect_sentence from marts.mart_retention_effect where is_all_cohorts"
        ).fetchall()
        status = conn.execute(
            "select status from marts.mart_analysis_status where analysis = 'retention effect'"
        ).fetchall()
        listed = conn.execute("select count(*) from marts.mart_retention_contacts").fetchone()[0]
        # The published list: exactly the newest cohort month's contact group, no holdout account in it.
        listed_groups = conn.execute(
            "select assignment.retention_group, count(*) from marts.mart_retention_contacts contacts "
            "join marts.dim_account accounts using (account_key) "
            "join intermediate.int_retention_assignment assignment "
            "on assignment.account_id = accounts.account_id and assignment.cohort_month = contacts.cohort_month "
            "group by all"
        ).fetchall()
        newest_groups = conn.execute(
            "select retention_group, count(*) from intermediate.int_retention_assignment "
            "where cohort_month = (select max(cohort_month) from intermediate.int_retention_assignment) "
            "group by all"
        ).fetchall()
    truth = {
        (a, m): (h, c)
        for a, m, h, c in zip(
            cohorts["account_id"], cohorts["cohort_month"], cohorts["holdout"], cohorts["contacted"], strict=True
        )
    }
    warehouse_rows = {(a, m): (h, c) for a, m, h, c, _, _ in assignment}
    # The same accounts selected (the generator's cohorts end a month before the data: their calls are in
    # the last month), the same split, and every call found in the CRM, none elsewhere.
    assert set(warehouse_rows) == set(truth)
    assert all(warehouse_rows[k] == truth[k] for k in truth)
    # The effect over the cohorts past the horizon, as the Python twin computes it from the same rows.
    # (The warehouse also selects in the months before the generator's policy starts: nobody was called then.)
    known = every_cohort
    assert effect and status == [("available",)] and listed > 0
    assert dict(listed_groups) == {"contact": listed}
    assert dict(newest_groups)["contact"] == listed
    cohorts_n, n1, a, n0, c, reduction, low, high, randomised, sentence = effect[0]
    assert (n1, a, n0, c) == (
        sum(not h for h, _ in known),
        sum(churned for h, churned in known if not h),
        sum(h for h, _ in known),
        sum(churned for h, churned in known if h),
    )
    twin = risk_ratio(a, n1, c, n0)
    assert float(reduction) == pytest.approx(twin.relative_reduction, abs=1e-6)
    if twin.low is not None:
        assert (float(low), float(high)) == pytest.approx(twin.reduction_interval, abs=1e-6)
    assert randomised is False and "intention to treat" in sentence and f"Over {cohorts_n} cohort months" in sentence
