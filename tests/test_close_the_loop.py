"""Closing the loop (issue 22) on the shared demo company after its scheduled month: the follow-up marts and
NPS-and-results in the published release, each figure recomputed here from the warehouse's staging tables
or the release itself under the business rules, and the NPS-growth link the generator planted found in the
direction its truth records."""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from pipeline.config import Settings
from pipeline.publish.parquet import current_release
from pipeline.rules import BusinessRules

MARTS = ("mart_feedback_follow_up", "mart_feedback_follow_up_summary", "mart_nps_and_results")


@pytest.fixture(scope="module")
def company(scheduled_month) -> dict:
    home = scheduled_month["home"]
    settings = Settings.from_env({"PIPELINE_HOME": str(home)})
    release = current_release(settings.bi_dir)
    assert release is not None
    tables = {
        name: pq.read_table(release.path / release.manifest["tables"][name]["file"]).to_pandas() for name in MARTS
    }
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        responses = conn.execute(
            "select response_id, survey_type, account_id, response_date, nps_score, considering_alternatives "
            "from staging.stg_survey__responses"
        ).df()
        activities = conn.execute("select account_id, activity_date from staging.stg_crm__activities").df()
        owners = {o for (o,) in conn.execute("select distinct owner from raw.crm__accounts").fetchall() if o}
        as_of = conn.execute("select as_of_date from intermediate.int_reporting_period").fetchone()[0]
    return {
        "release": release,
        "tables": tables,
        "responses": responses,
        "activities": activities,
        "owners": owners,
        "as_of": pd.Timestamp(as_of),
        "truth": home / "truth",
        "rules": BusinessRules.load(),
    }


def test_both_marts_are_published_with_rows(company):
    manifest = company["release"].manifest["tables"]
    for name in MARTS:
        assert manifest[name]["rows"] == len(company["tables"][name]) > 0, name


def test_every_answer_due_a_follow_up_is_there_with_its_due_date_and_first_activity(company):
    rules, as_of = company["rules"], company["as_of"]
    answers = company["responses"].copy()
    answers["response_date"] = pd.to_datetime(answers["response_date"])
    detractor = rules.nps_class(answers["nps_score"].to_numpy(float)) == "detractor"
    considering = answers["considering_alternatives"].fillna(-1) >= rules.considering_alternatives_threshold
    due = answers[
        answers["survey_type"].isin(["relationship", "transactional"])
        & (answers["response_date"] <= as_of)
        & (detractor | considering)
    ]
    follow_up = company["tables"]["mart_feedback_follow_up"].set_index("response_id")
    assert set(follow_up.index) == set(due["response_id"])
    assert len(follow_up) > 50

    # The first activity with the account on or after the answer's day, recomputed from the CRM's activities.
    activities = company["activities"].copy()
    activities["activity_date"] = pd.to_datetime(activities["activity_date"])
    activities = activities[activities["activity_date"] <= as_of]
    joined = due.merge(activities, on="account_id", how="left")
    joined = joined[joined["activity_date"] >= joined["response_date"]]
    first = joined.groupby("response_id")["activity_date"].min()
    published = pd.to_datetime(follow_up["first_follow_up_date"])
    assert published.dropna().to_dict() == first.to_dict()

    days = pd.Timedelta(days=rules.feedback_follow_up_days)
    due_date = pd.to_datetime(follow_up["follow_up_due_date"])
    assert (due_date == pd.to_datetime(follow_up["response_date"]) + days).all()
    in_time = published.notna() & (published <= due_date)
    assert (follow_up["is_followed_up_in_time"] == in_time).all()
    assert (follow_up["is_past_due_date"] == (due_date < as_of)).all()
    assert set(follow_up["follow_up_status"]) <= {
        "followed up in time",
        "followed up late",
        "overdue",
        "open, not yet due",
    }
    # Both outcomes occur on the demo company: the rule separates something.
    assert 0 < follow_up["is_followed_up_in_time"].mean() < 1


def test_the_action_list_is_the_open_answers_of_customers_oldest_first(company):
    follow_up = company["tables"]["mart_feedback_follow_up"]
    ranked = follow_up[follow_up["open_follow_up_rank"].notna()].sort_values("open_follow_up_rank")
    expected = follow_up[follow_up["is_open"] & follow_up["is_active_customer"]]
    assert len(ranked) == len(expected) > 0
    assert list(ranked["open_follow_up_rank"]) == list(range(1, len(ranked) + 1))
    assert pd.to_datetime(ranked["response_date"]).is_monotonic_increasing


def test_no_owner_or_contact_reaches_the_follow_up_marts(company):
    for name in ("mart_feedback_follow_up", "mart_feedback_follow_up_summary"):
        frame = company["tables"][name]
        assert not {c for c in frame.columns if "contact" in c or c in {"owner", "account_owner", "comment"}}
        keys = set(frame["account_owner_key"])
        assert not keys & company["owners"]
        assert all(k in {"Unassigned", "All owners"} or (len(k) == 32 and int(k, 16) >= 0) for k in keys)


def test_the_closed_loop_rate_is_the_answers_followed_up_in_time_over_those_due(company):
    follow_up = company["tables"]["mart_feedback_follow_up"]
    summary = company["tables"]["mart_feedback_follow_up_summary"]
    past_due = follow_up[follow_up["is_past_due_date"]]
    total = summary[
        (summary["period_type"] == "all_answers")
        & (summary["account_owner_key"] == "All owners")
        & (summary["segment_key"] == 0)
    ].iloc[0]
    assert total["answers_due_follow_up"] == len(follow_up)
    assert total["answers_past_due_date"] == len(past_due)
    assert total["followed_up_in_time"] == past_due["is_followed_up_in_time"].sum()
    rate = float(total["closed_loop_rate"])
    assert rate == pytest.approx(past_due["is_followed_up_in_time"].mean(), abs=1e-6)
    assert float(total["closed_loop_rate_ci_low"]) < rate < float(total["closed_loop_rate_ci_high"])
    assert f"{total['followed_up_in_time']} of {total['answers_past_due_date']} answers" in total["follow_up_statement"]
    assert "not the effect of following up" in total["follow_up_statement"]
    # Each owner's rows add up to the all-owners row of the same period and segment.
    owners = summary[(summary["account_owner_key"] != "All owners") & (summary["segment_key"] == 0)]
    by_period = owners.groupby("period")["answers_due_follow_up"].sum()
    everyone = summary[(summary["account_owner_key"] == "All owners") & (summary["segment_key"] == 0)]
    assert by_period.to_dict() == everyone.set_index("period")["answers_due_follow_up"].to_dict()
    print(total["follow_up_statement"])


def test_nps_and_results_bands_follow_the_rules_and_add_up(company):
    results = company["tables"]["mart_nps_and_results"]
    labels = company["rules"].nps_band_labels()
    assert set(results["nps_band"]) <= {*labels, "All accounts"}
    assert {labels[0], labels[3], "All accounts"} <= set(results["nps_band"])
    for _, period in results.groupby("period"):
        everyone = period[period["nps_band"] == "All accounts"].iloc[0]
        bands = period[period["nps_band"] != "All accounts"]
        assert bands["accounts"].sum() == everyone["accounts"]
        assert float(everyone["profitability_vs_average"]) == pytest.approx(1.0)
        shown = bands[bands["share_of_gross_margin"].notna()]
        assert float(shown["share_of_gross_margin"].sum()) <= 1.0 + 1e-6
        # Each shown share within its 95% interval; the interval of all accounts' own share is exactly 1.
        assert (shown["share_of_gross_margin_ci_low"] <= shown["share_of_gross_margin"]).all()
        assert (shown["share_of_gross_margin"] <= shown["share_of_gross_margin_ci_high"]).all()
        assert (shown["share_of_gross_margin_ci_high"] > shown["share_of_gross_margin_ci_low"]).all()
        assert float(everyone["share_of_gross_margin_ci_low"]) == pytest.approx(1.0)
        assert float(everyone["share_of_gross_margin_ci_high"]) == pytest.approx(1.0)
        # The claim's sentence says what it tested and how certain it is.
        sentence = everyone["results_statement"]
        assert "twice" in sentence and "half" in sentence and "95% interval" in sentence
        assert "not effects of NPS" in sentence
        print(sentence)
    top = results[results["nps_band"] == labels[3]]
    assert top["mean_account_nps"].dropna().gt(company["rules"].nps_band_top_above).all()
    bottom = results[results["nps_band"] == labels[0]]
    assert bottom["mean_account_nps"].dropna().lt(company["rules"].nps_band_lower_min).all()
    churn = results[results["churn_rate_next_12m"].notna()]
    assert len(churn) > 0 and (churn["churn_rate_next_12m_ci_low"] <= churn["churn_rate_next_12m"]).all()


def test_the_planted_link_of_nps_and_revenue_growth_is_found_in_its_direction(company):
    truth = json.loads((company["truth"] / "nps_and_growth.json").read_text())
    planted = np.sign(truth["planted"]["revenue_growth_log_per_sd_of_satisfaction"])
    assert truth["direction"].startswith("positive") and planted > 0
    results = company["tables"]["mart_nps_and_results"]
    everyone = results[(results["nps_band"] == "All accounts") & results["nps_growth_correlation"].notna()]
    # Growth needs the twelve months before: two of the demo's three periods.
    assert len(everyone) >= 2
    correlation = everyone["nps_growth_correlation"].astype(float)
    print(everyone[["period", "accounts_in_correlation", "nps_growth_correlation", "nps_growth_correlation_ci_low"]])
    assert (np.sign(correlation) == planted).all()
    # And at least one period is sure of it: its interval excludes zero.
    assert (everyone["nps_growth_correlation_ci_low"].astype(float) > 0).any()


def test_the_brief_tells_the_closed_loop_and_the_claim(scheduled_month, company):
    page = (scheduled_month["home"] / "bi" / "brief.html").read_text()
    section = page[page.index("<h2>Closing the loop</h2>") :]
    summary = company["tables"]["mart_feedback_follow_up_summary"]
    last_year = summary[
        (summary["period_type"] == "last_12_months")
        & (summary["account_owner_key"] == "All owners")
        & (summary["segment_key"] == 0)
    ]
    assert last_year.iloc[0]["follow_up_statement"].split(";")[0] in section
    assert "Profitability against the average" in section and "the field says about twice" in section
