"""A company with a CRM and a survey tool but no finance system, and a single relationship wave: NPS and
its honest reading are published; revenue, tiers and everything built on invoices are withheld. Accounts
the CRM export lacks but the survey tool knows are accounts too."""

from __future__ import annotations

import pytest

from pipeline.demo.shape import SHAPES, CompanyShape
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
    name="survey_only",
    # Three accounts are known only from the survey tool (answers and invitations, not the CRM).
    shape=CompanyShape(
        absent=SHAPES["survey_only"].absent, scale_from_one=True, relationship_waves=1, accounts_missing_from_crm=3
    ),
    accounts=300,
    months=24,
    seed=7,
    withheld=(
        "segments",
        "churn model",
        "revenue and value tiers",
        "gross margin",
        "customer profitability",
        "payment behaviour",
        "lifetime value and margin at risk",
    ),
    available=("NPS", "response-bias-adjusted NPS", "survey coverage"),
)


@pytest.fixture(scope="module")
def company(tmp_path_factory):
    return build_company(SPEC, tmp_path_factory.mktemp("shape"))


def test_nps_is_published_and_revenue_is_absent(company):
    summary = company.table("mart_nps_summary")
    assert summary["nps"].notna().any()
    assert company.table("fct_invoice_lines").empty
    accounts = company.table("mart_account_360")
    assert (accounts["revenue_ttm_eur"].fillna(0) == 0).all()


def test_accounts_known_only_from_the_survey_tool_are_accounts(company):
    # The first three accounts were invited but are in no CRM export.
    accounts = company.table("dim_account").set_index("account_id")
    missing = ["A000001", "A000002", "A000003"]
    assert set(missing) <= set(accounts.index)
    assert not accounts.loc[missing, "is_in_crm"].any()
