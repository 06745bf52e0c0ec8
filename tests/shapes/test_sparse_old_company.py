"""A company from another decade whose every export carries only the required columns: 15 months ending
in June 1999, account ids of digits with leading zeros, survey answers on a 1-10 scale. Built with the
`dg` CLI as the README tells a data engineer to (dg launch --job refresh_and_train, then score_month)."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
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
    name="sparse_old",
    shape=replace(SHAPES["required_columns"], scale_from_one=True),
    accounts=300,
    months=15,
    seed=5,
    end_month="1999-06",
    launcher="dg",
    withheld=(
        "churn model",
        "lifetime value and margin at risk",
        "share of wallet and growth headroom",
        "driver analysis",
    ),
    degraded=("care model and recommended action", "gross margin", "payment behaviour"),
    # Cost to serve is written (with its required columns, which are all it has).
    available=("monthly facts", "revenue and value tiers", "NPS", "customer profitability"),
)


@pytest.fixture(scope="module")
def company(tmp_path_factory):
    return build_company(SPEC, tmp_path_factory.mktemp("shape"))


def test_the_dagster_cli_built_it_in_the_data_decade(company):
    assert "RUN_SUCCESS" in company.outputs["refresh_and_train"]
    assert "RUN_SUCCESS" in company.outputs["score_month"]
    facts = company.table("fct_account_month")
    assert pd.to_datetime(facts["month_start"]).max() == pd.Timestamp("1999-06-01")


def test_digit_ids_keep_their_leading_zeros(company):
    ids = company.table("dim_account").query("account_key > 0")["account_id"]
    assert ids.str.fullmatch(r"\d{6}").all()
    assert ids.str.startswith("000").any()


def test_a_one_to_ten_scale_still_counts_its_detractors(company):
    responses = company.table("fct_survey_responses")
    assert responses["nps_score"].min() >= 1
    assert (responses["nps_category"] == "detractor").any()
    summary = company.table("mart_nps_summary")
    assert summary["nps"].notna().any()
