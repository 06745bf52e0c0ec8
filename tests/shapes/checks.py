"""The checks every company shape must pass, as test functions the shape modules import (pytest collects
them in each module, with that module's ``company`` fixture)."""

from __future__ import annotations

import pandas as pd

from pipeline.insight import headlines
from tests.shapes.company import Company, assert_ids_and_revenue_survive, assert_published_with_status


def test_a_release_is_published_saying_what_it_withholds_and_why(company: Company):
    status = assert_published_with_status(company)
    churn = status.loc["churn model"]
    if "refresh_and_train" not in company.spec.jobs:
        assert (churn["status"], churn["enable_hint"]) == ("withheld", "run the refresh_and_train job")
    elif churn["status"] != "available":
        # The reason counts what the history has against what it needs; the hint names a way out.
        assert "needed" in churn["reason"], churn["reason"]
        assert "PIPELINE_CHURN_HORIZON_MONTHS" in churn["enable_hint"] or "wait until" in churn["enable_hint"]


def test_the_headline_says_what_is_withheld(company: Company):
    status = company.table("mart_analysis_status")
    with company.warehouse() as conn:
        found = headlines.headlines(conn)
    withheld = status.loc[status["status"] == "withheld", "analysis"].tolist()
    if withheld:
        assert found["analysis_status"].startswith("Withheld: "), found["analysis_status"]
        for analysis in withheld:
            assert f"{analysis} (" in found["analysis_status"], analysis
    # Every other headline is still a sentence, whatever is missing.
    assert all(isinstance(text, str) and text.endswith(".") for text in found.values()), found


def test_the_brief_describes_the_release_and_says_what_it_withholds(company: Company):
    """The brief is written for every shape; a company without survey data gets sections that say so."""
    page = (company.home / "bi" / "brief.html").read_text(encoding="utf-8")
    assert company.release.name in page
    status = company.table("mart_analysis_status").set_index("analysis")["status"]
    survey_withheld = status.get("NPS") == "withheld"
    assert ('<h2>NPS, raw and adjusted</h2><p class="withheld">' in page) == survey_withheld
    if "churn model" in company.spec.withheld:
        assert '<h2>How well the churn model finds churners</h2><p class="withheld">' in page


def test_account_ids_keep_their_text_and_revenue_reconciles_with_the_landing_zone(company: Company):
    assert_ids_and_revenue_survive(company)


def test_no_month_of_data_is_missing_from_the_monthly_facts(company: Company):
    facts = company.table("fct_account_month")
    inventory = company.table("mart_analysis_status").set_index("analysis").loc["monthly facts", "reason"]
    months = set(pd.to_datetime(facts["month_start"]).dt.to_period("M"))
    # Invoices date from the first generated month; without them the facts begin at the first response.
    first = company.spec.first_month if company.spec.shape.writes("invoice_lines") else str(min(months))
    expected = set(pd.period_range(first, company.spec.end_month, freq="M"))
    assert months == expected, (sorted(expected - months)[:5], sorted(months - expected)[:5])
    assert f"{len(expected)} months of data" in inventory, inventory


def test_no_personal_data_and_no_score_without_a_model(company: Company):
    scores = company.table("mart_churn_scores")
    accounts = company.table("mart_account_360")
    status = company.table("mart_analysis_status").set_index("analysis")
    active = accounts[accounts["is_active_customer"]]
    if status.loc["churn model", "status"] == "withheld":
        assert scores.empty
        assert active["churn_probability"].isna().all()
        assert active["customer_lifetime_value_eur"].isna().all()
        assert (active["care_model_basis"] == "tier and growth headroom (no churn score)").all()
        assert active["care_model"].notna().all() and active["recommended_action"].notna().all()
    for table in ("fct_survey_responses", "mart_account_360", "dim_account"):
        assert not {"email", "comment", "notes", "account_owner"} & set(company.table(table).columns)
