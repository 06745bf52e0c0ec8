"""A company without a survey tool and without cost-to-serve data, 18 months of history, on its first
day: the daily refresh as its schedule runs it, before any training. Revenue, tiers and the care model on
tier and headroom are published; every survey figure and the churn scores are withheld with their
reasons."""

from __future__ import annotations

import pytest

from pipeline.demo.shape import SHAPES
from tests.shapes.checks import (  # noqa: F401 - collected here with this module's company
    test_a_release_is_published_saying_what_it_withholds_and_why,
    test_account_ids_keep_their_text_and_revenue_reconciles_with_the_landing_zone,
    test_no_month_of_data_is_missing_from_the_monthly_facts,
    test_no_personal_data_and_no_score_without_a_model,
    test_the_brief_describes_the_release_and_says_what_it_withholds,
    test_the_headline_says_what_is_withheld,
)
from tests.shapes.company import CompanySpec, build_company

SPEC = CompanySpec(
    name="no_survey",
    shape=SHAPES["no_survey"].with_absent("cost_to_serve"),
    accounts=300,
    months=18,
    seed=6,
    jobs=("daily_refresh",),
    withheld=("churn model", "NPS", "response-bias-adjusted NPS", "driver analysis", "survey coverage"),
    degraded=("segments", "customer profitability", "care model and recommended action", "relationship strength"),
    available=("revenue and value tiers", "gross margin", "payment behaviour"),
)


@pytest.fixture(scope="module")
def company(tmp_path_factory):
    return build_company(SPEC, tmp_path_factory.mktemp("shape"))


def test_survey_marts_are_empty_and_profitability_is_the_gross_margin(company):
    assert company.table("fct_survey_responses").empty
    assert company.table("mart_driver_analysis")["driver_class"].isna().all()
    accounts = company.table("mart_account_360")
    assert (accounts["customer_profitability_ttm_eur"] == accounts["gross_margin_ttm_eur"]).all()
    assert accounts["nps_latest"].isna().all()


def test_segments_rest_on_purchase_and_engagement_and_say_so(company):
    segments = company.table("mart_segments")
    accounts = company.table("mart_account_360")
    assert len(segments) >= 2
    assert segments["features_used"].str.contains("driver_").sum() == 0
    assert segments["feature_basis"].str.contains("purchase and engagement only").all()
    assert segments["nps_12m"].isna().all()
    active = accounts[accounts["is_active_customer"] & (accounts["revenue_ttm_eur"] > 0)]
    assert active["segment"].notna().all()
