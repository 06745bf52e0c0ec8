"""The report of the Power BI Project, in PBIR (Power BI's enhanced report format), generated with the model.

``<Name>.Report/definition/`` holds ``version.json``, ``report.json``, ``pages/pages.json`` and, per page,
``pages/<page>/page.json`` with ``visuals/<visual>/visual.json``: each file names its schema in Microsoft's
published JSON schemas (github.com/microsoft/json-schemas, fabric/item/report/definition/). Every visual is
bound to columns and measures of the generated semantic model only; ``write_report`` refuses a field the
model does not have, so a renamed mart column fails here rather than as a broken visual in Desktop.

The report becomes the BI developer's once edited. ``report.json`` carries the generator's marker, an
annotation holding a fingerprint of every file the generator wrote; the pages are rewritten only while the
folder still matches it. A folder edited in Desktop (or one without the marker) is left as it is.

Plain functions and frozen dataclasses; no Power BI needed (and none can run here: the layout is checked by
schema and by reference, not by eye).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

_DEFINITION = "https://developer.microsoft.com/json-schemas/fabric/item/report/definition"
VERSION_SCHEMA = f"{_DEFINITION}/versionMetadata/1.0.0/schema.json"
REPORT_SCHEMA = f"{_DEFINITION}/report/3.3.0/schema.json"
PAGES_SCHEMA = f"{_DEFINITION}/pagesMetadata/1.1.0/schema.json"
PAGE_SCHEMA = f"{_DEFINITION}/page/2.1.0/schema.json"
VISUAL_SCHEMA = f"{_DEFINITION}/visualContainer/2.9.0/schema.json"
PBIR_VERSION = "2.0.0"
MARKER = "accountIntelligenceGenerated"  # report.json annotation: the fingerprint of the generated files
PAGE_WIDTH, PAGE_HEIGHT = 1280, 720

# Aggregation functions of Power BI's semantic query (semanticQuery schema's QueryAggregateFunction).
AGGREGATIONS = {"sum": 0, "avg": 1, "min": 3, "max": 4, "count": 5}


@dataclass(frozen=True)
class Field:
    """A column or measure of the semantic model, as a visual binds it; ``aggregate`` for a column on a
    chart's value axis (columns that are never summed by default need one there)."""

    table: str
    name: str
    kind: Literal["column", "measure"] = "column"
    aggregate: str | None = None

    @property
    def query_ref(self) -> str:
        ref = f"{self.table}.{self.name}"
        return f"{self.aggregate.capitalize()}({ref})" if self.aggregate else ref


def column(table: str, name: str, aggregate: str | None = None) -> Field:
    return Field(table, name, "column", aggregate)


def measure(name: str, table: str = "_Measures") -> Field:
    return Field(table, name, "measure")


@dataclass(frozen=True)
class Filter:
    """A visual-level filter: keep (or, with ``exclude``, drop) rows whose column is one of ``values``."""

    field: Field
    values: tuple[str | int | bool, ...]
    exclude: bool = False


@dataclass(frozen=True)
class Visual:
    name: str
    visual_type: str  # Power BI's visualType: card, multiRowCard, slicer, tableEx, pivotTable, ...
    title: str
    position: tuple[int, int, int, int]  # x, y, width, height
    roles: Mapping[str, tuple[Field, ...]]
    filters: tuple[Filter, ...] = ()
    sort: tuple[Field, Literal["Ascending", "Descending"]] | None = None

    def fields(self) -> list[Field]:
        found = [f for fields in self.roles.values() for f in fields]
        found += [f.field for f in self.filters]
        return found + ([self.sort[0]] if self.sort else [])


@dataclass(frozen=True)
class Page:
    name: str  # stable id (folder name)
    display_name: str
    purpose: str  # one sentence for docs/powerbi.md
    visuals: tuple[Visual, ...]


@dataclass(frozen=True)
class ModelFields:
    """What the semantic model offers a visual: columns per table and measure names per table."""

    columns: Mapping[str, frozenset[str]]
    measures: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def has(self, item: Field) -> bool:
        pool = self.columns if item.kind == "column" else self.measures
        return item.name in pool.get(item.table, frozenset())


@dataclass(frozen=True)
class ReportResult:
    written: bool  # False: the report was edited since it was generated and is left alone
    reason: str
    pages: tuple[str, ...] = ()
    visuals: int = 0


# --- the pages ------------------------------------------------------------------------------------------

A360 = "mart_account_360"
_SEGMENTS_ONLY = Filter(column("dim_segment", "segment_key"), (0,), exclude=True)  # not "All segments"


def _grid(col: int, row: int, cols: int = 1, rows: int = 1) -> tuple[int, int, int, int]:
    """A position on a 4 x 4 grid of the 1280 x 720 page, below a 40 px band for the page's slicers."""
    width, height, gap = 305, 155, 10
    return (10 + col * (width + gap), 50 + row * (height + gap), cols * width + (cols - 1) * gap, rows * height)


def _slicer(name: str, title: str, item: Field, slot: int, filters: tuple[Filter, ...] = ()) -> Visual:
    return Visual(name, "slicer", title, (10 + slot * 250, 0, 240, 45), {"Values": (item,)}, filters)


def report_pages() -> tuple[Page, ...]:
    """The report's pages, in order: what management reads first comes first."""
    kpi = [
        ("revenue", "Revenue", "Revenue"),
        ("gross_margin", "Gross margin", "Gross margin"),
        ("churn_rate", "Churn rate", "Churn rate"),
        ("active_accounts", "Active accounts", "Active accounts"),
    ]
    overview = Page(
        "overview",
        "Overview",
        "Headline figures for the filter: revenue, margin, churn, NPS and adjusted NPS each with its 95% margin "
        "of error, margin at risk and the model's lift; revenue by quarter against the same quarter last year.",
        (
            _slicer("date_year", "Year", column("dim_date", "calendar_year"), 0),
            _slicer("segment", "Segment", column("dim_segment", "segment_name"), 1, (_SEGMENTS_ONLY,)),
            *(Visual(n, "card", t, _grid(i, 0), {"Values": (measure(m),)}) for i, (n, t, m) in enumerate(kpi)),
            Visual(
                "nps_with_margins",
                "multiRowCard",
                "NPS and adjusted NPS with their 95% margins of error",
                _grid(0, 1, 2),
                {
                    "Values": (
                        measure("NPS"),
                        measure("NPS margin of error"),
                        measure("Adjusted NPS"),
                        measure("Adjusted NPS margin of error"),
                    )
                },
            ),
            Visual(
                "risk_figures",
                "multiRowCard",
                "Risk: margin at risk, predicted churn, top-decile lift",
                _grid(2, 1, 2),
                {"Values": (measure("Margin at risk"), measure("Predicted churn rate"), measure("Top-decile lift"))},
            ),
            Visual(
                "revenue_by_quarter",
                "lineChart",
                "Revenue by quarter against the same period last year",
                _grid(0, 2, 4, 2),
                {
                    "Category": (column("dim_date", "year_quarter"),),
                    "Y": (measure("Revenue"), measure("Revenue same period last year")),
                },
            ),
        ),
    )
    accounts = Page(
        "accounts_to_act_on",
        "Accounts to act on",
        "The customers most at risk first, with their reasons and one recommended action, filtered by owner, "
        "value tier and care model.",
        (
            _slicer("owner", "Account owner", column("dim_account", "account_owner_key"), 0),
            _slicer("tier", "Value tier", column(A360, "value_tier"), 1),
            _slicer("care_model", "Care model", column(A360, "care_model"), 2),
            _slicer("risk_band", "Risk band", column(A360, "risk_band"), 3),
            Visual(
                "accounts",
                "tableEx",
                "Accounts by churn risk: reasons and recommended action",
                _grid(0, 0, 4, 4),
                {
                    "Values": (
                        column(A360, "account_name"),
                        column(A360, "value_tier"),
                        column(A360, "care_model"),
                        column(A360, "risk_band"),
                        column(A360, "churn_probability"),
                        column(A360, "margin_at_risk_eur"),
                        column(A360, "churn_reasons"),
                        column(A360, "recommended_action"),
                    )
                },
                # Customers only: an account that has already churned is lost, not one to act on.
                (Filter(column(A360, "is_active_customer"), (True,)),),
                sort=(column(A360, "churn_probability"), "Descending"),
            ),
        ),
    )
    drivers_filter = (
        Filter(column("mart_driver_analysis", "scope_type"), ("overall",)),
        Filter(column("mart_driver_analysis", "outcome"), ("recommendation",)),
    )
    drivers = Page(
        "drivers",
        "Drivers",
        "Penalty (a low rating against a middle one) and reward (a high one) of each survey driver on the NPS, "
        "coloured by class: hygiene, differentiator, performance driver or weak.",
        (
            *(
                Visual(
                    f"driver_{figure}",
                    "clusteredBarChart",
                    f"{figure.capitalize()} per driver, by class (all respondents, recommendation)",
                    _grid(2 * i, 0, 2, 3),
                    {
                        "Category": (column("mart_driver_analysis", "driver_label"),),
                        "Y": (column("mart_driver_analysis", figure, "avg"),),
                        "Series": (column("mart_driver_analysis", "driver_class"),),
                    },
                    drivers_filter,
                )
                for i, figure in enumerate(("penalty", "reward"))
            ),
            Visual(
                "driver_table",
                "tableEx",
                "Drivers: performance, importance, class and n",
                _grid(0, 3, 4),
                {
                    "Values": tuple(
                        column("mart_driver_analysis", c)
                        for c in ("driver_label", "driver_class", "performance", "importance_share", "respondents")
                    )
                },
                drivers_filter,
            ),
        ),
    )
    nps_figures = (
        measure("NPS"),
        measure("NPS margin of error"),
        measure("Adjusted NPS"),
        measure("Adjusted NPS margin of error"),
    )
    nps = Page(
        "nps",
        "NPS",
        "Raw and response-bias-adjusted NPS with their margins of error, by quarter and by segment.",
        (
            _slicer("segment", "Segment", column("dim_segment", "segment_name"), 0, (_SEGMENTS_ONLY,)),
            Visual(
                "nps_by_quarter",
                "lineChart",
                "NPS and adjusted NPS by quarter",
                _grid(0, 0, 4, 2),
                {"Category": (column("dim_date", "year_quarter"),), "Y": (measure("NPS"), measure("Adjusted NPS"))},
            ),
            Visual(
                "nps_quarter_table",
                "tableEx",
                "By quarter, with margins of error",
                _grid(0, 2, 2, 2),
                {"Values": (column("dim_date", "year_quarter"), *nps_figures)},
            ),
            Visual(
                "nps_segment_table",
                "tableEx",
                "By segment (last 12 months), with margins of error",
                _grid(2, 2, 2, 2),
                {"Values": (column("dim_segment", "segment_name"), *nps_figures)},
                (_SEGMENTS_ONLY,),
            ),
        ),
    )
    value = Page(
        "value_and_tiers",
        "Value and tiers",
        "The Pareto curve of gross profit (accounts by rank against their cumulative share), the value tier by "
        "care model matrix, and margin at risk by tier.",
        (
            Visual(
                "pareto",
                "lineChart",
                "Pareto: cumulative share of gross profit by account rank",
                _grid(0, 0, 4, 2),
                {
                    "Category": (column(A360, "gross_profit_rank"),),
                    "Y": (column(A360, "cumulative_gross_profit_share", "max"),),
                },
            ),
            Visual(
                "tier_by_care_model",
                "pivotTable",
                "Revenue (TTM) by value tier and care model",
                _grid(0, 2, 2, 2),
                {
                    "Rows": (column(A360, "value_tier"),),
                    "Columns": (column(A360, "care_model"),),
                    "Values": (measure("Revenue TTM"),),
                },
            ),
            Visual(
                "margin_at_risk_by_tier",
                "clusteredColumnChart",
                "Margin at risk by value tier",
                _grid(2, 2, 2, 2),
                {"Category": (column(A360, "value_tier"),), "Y": (measure("Margin at risk"),)},
            ),
        ),
    )
    competitors = Page(
        "competitors",
        "Competitors",
        "Which competitors customers consider or prefer, what was lost to them, and where the customers "
        "considering an alternative rate us lower.",
        (
            Visual(
                "considering_by_competitor",
                "clusteredBarChart",
                "Accounts considering an alternative, by competitor",
                _grid(0, 0, 2, 2),
                {
                    "Category": (column("mart_competitor_signals", "competitor_name"),),
                    "Y": (column("mart_competitor_signals", "accounts_considering_alternatives", "sum"),),
                },
            ),
            Visual(
                "driver_gaps",
                "clusteredBarChart",
                "Rating gap of those considering an alternative, by driver",
                _grid(2, 0, 2, 2),
                {
                    "Category": (column("mart_competitor_driver_gaps", "driver_label"),),
                    "Y": (column("mart_competitor_driver_gaps", "rating_gap", "avg"),),
                },
            ),
            Visual(
                "competitor_table",
                "tableEx",
                "Competitor signals",
                _grid(0, 2, 4, 2),
                {
                    "Values": tuple(
                        column("mart_competitor_signals", c)
                        for c in (
                            "competitor_name",
                            "accounts_naming_as_preferred",
                            "lost_opportunities_12m",
                            "lost_customers_12m",
                            "revenue_lost_eur",
                            "signal_summary",
                        )
                    )
                },
            ),
        ),
    )
    coverage = Page(
        "voice_coverage_and_crm_quality",
        "Voice coverage and CRM data quality",
        "Whose voice the survey hears (the largest accounts first, with their coverage gap) and how complete "
        "each owner's CRM fields are.",
        (
            Visual(
                "survey_coverage",
                "tableEx",
                "Survey coverage of the accounts by revenue",
                _grid(0, 0, 4, 2),
                {
                    "Values": tuple(
                        column("mart_survey_coverage", c)
                        for c in (
                            "account_name",
                            "share_of_revenue",
                            "invitations_12m",
                            "last_response_date",
                            "has_decision_maker_contact",
                            "coverage_gap",
                        )
                    )
                },
                sort=(column("mart_survey_coverage", "share_of_revenue"), "Descending"),
            ),
            Visual(
                "crm_quality",
                "tableEx",
                "CRM completeness by account owner",
                _grid(0, 2, 4, 2),
                {
                    "Values": tuple(
                        column("mart_crm_data_quality", c)
                        for c in (
                            "account_owner_key",
                            "accounts",
                            "share_with_potential_estimate",
                            "share_with_contact_roles",
                            "share_with_decision_maker",
                            "share_with_activity_90d",
                            "weakest_field",
                        )
                    )
                },
            ),
        ),
    )
    performance = Page(
        "model_performance",
        "Model performance",
        "The churn model's backtest: lift by risk decile (decile 1 the tenth most at risk), churn rate and "
        "predicted probability per decile, and the top-decile lift.",
        (
            _slicer("model_version", "Model version", column("mart_model_performance", "model_version"), 0),
            Visual(
                "lift_by_decile",
                "clusteredColumnChart",
                "Lift by risk decile",
                _grid(0, 0, 3, 2),
                {
                    "Category": (column("mart_model_performance", "risk_decile"),),
                    "Y": (column("mart_model_performance", "lift", "avg"),),
                },
            ),
            Visual(
                "backtest_figures",
                "multiRowCard",
                "Backtest",
                _grid(3, 0, 1, 2),
                {"Values": (measure("Top-decile lift"), measure("Backtest churn rate"))},
            ),
            Visual(
                "deciles",
                "tableEx",
                "Per decile: accounts, churners, churn rate, predicted probability",
                _grid(0, 2, 4, 2),
                {
                    "Values": tuple(
                        column("mart_model_performance", c)
                        for c in ("risk_decile", "accounts", "churners", "churn_rate", "mean_predicted_probability")
                    )
                },
            ),
        ),
    )
    segments = Page(
        "segments",
        "Segments",
        "The behavioural and needs segments: what sets each apart in words, its accounts, revenue, growth, NPS "
        "and churn risk (mart_segments), and the accounts of the segment chosen in the slicer.",
        (
            _slicer("behaviour_segment", "Segment", column("mart_segments", "segment"), 0),
            Visual(
                "revenue_by_segment",
                "clusteredBarChart",
                "Revenue (TTM) by segment",
                _grid(0, 0, 2, 2),
                {"Category": (column("mart_segments", "segment"),), "Y": (column("mart_segments", "revenue_ttm_eur"),)},
            ),
            Visual(
                "churn_risk_by_segment",
                "clusteredBarChart",
                "Mean churn probability by segment",
                _grid(2, 0, 2, 2),
                {
                    "Category": (column("mart_segments", "segment"),),
                    "Y": (column("mart_segments", "mean_churn_probability", "avg"),),
                },
            ),
            Visual(
                "segment_profiles",
                "tableEx",
                "What sets each segment apart: accounts, revenue share, growth, NPS, churn risk",
                _grid(0, 2, 4, 1),
                {
                    "Values": tuple(
                        column("mart_segments", c)
                        for c in (
                            "segment_number",
                            "description",
                            "accounts",
                            "revenue_share",
                            "revenue_growth_yoy",
                            "nps_12m",
                            "mean_churn_probability",
                        )
                    )
                },
                sort=(column("mart_segments", "segment_number"), "Ascending"),
            ),
            Visual(
                "segment_accounts",
                "tableEx",
                "Accounts of the segment",
                _grid(0, 3, 4, 1),
                {
                    "Values": tuple(
                        column(A360, c)
                        for c in (
                            "account_name",
                            "segment",
                            "value_tier",
                            "revenue_ttm_eur",
                            "churn_probability",
                            "care_model",
                        )
                    )
                },
                (Filter(column(A360, "is_active_customer"), (True,)),),
                sort=(column(A360, "revenue_ttm_eur"), "Descending"),
            ),
        ),
    )
    retention, follow_up, nps_results = _closing_the_loop_pages()
    return (
        overview,
        accounts,
        drivers,
        nps,
        value,
        segments,
        competitors,
        coverage,
        performance,
        retention,
        follow_up,
        nps_results,
    )


RETENTION_EFFECT = "mart_retention_effect"
RETENTION_CONTACTS = "mart_retention_contacts"
FOLLOW_UP = "mart_feedback_follow_up"
FOLLOW_UP_SUMMARY = "mart_feedback_follow_up_summary"
NPS_RESULTS = "mart_nps_and_results"


def _closing_the_loop_pages() -> tuple[Page, Page, Page]:
    """Issue 22's pages: whether acting on the scores works (contacts against a holdout), whether every
    critical answer is followed up, and whether a higher NPS goes with better results on this company's data."""
    retention = Page(
        "retention_effect",
        "Retention effect",
        "The retention contact list (the holdout left off) and, by cohort month past the horizon, the churn of "
        "the contact group against the holdout with the relative reduction and its 95% interval.",
        (
            _slicer("owner", "Account owner", column("dim_account", "account_owner_key"), 0),
            Visual(
                "retention_effect",
                "card",
                "Churn cut by the calls (ITT)",
                _grid(0, 0),
                {"Values": (measure("Retention effect (ITT)"),)},
            ),
            Visual(
                "retention_to_make",
                "card",
                "Contacts still to make",
                _grid(1, 0),
                {"Values": (measure("Retention contacts to make"),)},
            ),
            Visual(
                "retention_contact_list",
                "tableEx",
                "Retention contact list, most at risk first (the holdout is not listed: do not call it)",
                _grid(2, 0, 2, 2),
                {
                    "Values": (
                        column("dim_account", "account_name"),
                        *(
                            column(RETENTION_CONTACTS, c)
                            for c in (
                                "contact_priority",
                                "contact_by_date",
                                "risk_band",
                                "expected_revenue_at_risk_eur",
                                "contact_reason",
                                "is_contacted",
                            )
                        ),
                    )
                },
                sort=(column(RETENTION_CONTACTS, "contact_priority"), "Ascending"),
            ),
            Visual(
                "retention_effect_by_cohort",
                "tableEx",
                "Contact group against holdout by cohort month ('all': every cohort past the horizon)",
                _grid(0, 2, 4, 2),
                {
                    "Values": tuple(
                        column(RETENTION_EFFECT, c)
                        for c in (
                            "cohort_key",
                            "accounts_contact_group",
                            "accounts_holdout",
                            "contact_rate",
                            "churn_rate_contact_group",
                            "churn_rate_holdout",
                            "itt_relative_reduction",
                            "itt_relative_reduction_ci_low",
                            "itt_relative_reduction_ci_high",
                            # Per protocol beside it, flagged as not randomised: what the call could do,
                            # not its effect.
                            "churn_rate_contacted",
                            "per_protocol_relative_reduction",
                            "is_per_protocol_randomised",
                            "accounts_kept",
                            "revenue_kept_eur",
                            "is_distinguishable_from_zero",
                            "more_cohorts_needed",
                            "effect_sentence",
                        )
                    )
                },
                sort=(column(RETENTION_EFFECT, "cohort_key"), "Descending"),
            ),
        ),
    )
    follow_up = Page(
        "feedback_follow_up",
        "Feedback follow-up",
        "Every detractor answer and every answer considering another supplier, followed up within the service "
        "level or not: the closed-loop rate by owner with its 95% interval, and the open follow-ups, oldest first.",
        (
            _slicer("owner", "Account owner", column("dim_account", "account_owner_key"), 0),
            Visual(
                "closed_loop_rate", "card", "Closed-loop rate", _grid(0, 0), {"Values": (measure("Closed-loop rate"),)}
            ),
            Visual(
                "open_follow_ups", "card", "Open follow-ups", _grid(1, 0), {"Values": (measure("Open follow-ups"),)}
            ),
            Visual(
                "closed_loop_by_owner",
                "tableEx",
                "Closed-loop rate by owner, last 12 months, with its 95% interval",
                _grid(2, 0, 2, 1),
                {
                    "Values": tuple(
                        column(FOLLOW_UP_SUMMARY, c)
                        for c in (
                            "account_owner_key",
                            "answers_past_due_date",
                            "followed_up_in_time",
                            "closed_loop_rate",
                            "closed_loop_rate_ci_low",
                            "closed_loop_rate_ci_high",
                        )
                    )
                },
                (
                    Filter(column(FOLLOW_UP_SUMMARY, "period_type"), ("last_12_months",)),
                    Filter(column(FOLLOW_UP_SUMMARY, "segment_key"), (0,)),
                ),
                sort=(column(FOLLOW_UP_SUMMARY, "closed_loop_rate"), "Ascending"),
            ),
            Visual(
                "open_follow_up_list",
                "tableEx",
                "Open follow-ups of current customers, oldest first",
                _grid(0, 1, 4, 3),
                {
                    "Values": (
                        column("dim_account", "account_name"),
                        *(
                            column(FOLLOW_UP, c)
                            for c in (
                                "account_owner_key",
                                "response_date",
                                "nps_score",
                                "follow_up_reason",
                                "follow_up_due_date",
                                "days_open",
                                "revenue_ttm_eur",
                            )
                        ),
                    )
                },
                # The mart's action list: still open, and the account still a customer (a lost one is
                # not followed up; its answer stays in the closed-loop rate as a miss).
                (
                    Filter(column(FOLLOW_UP, "is_open"), (True,)),
                    Filter(column(FOLLOW_UP, "is_active_customer"), (True,)),
                ),
                sort=(column(FOLLOW_UP, "response_date"), "Ascending"),  # oldest first
            ),
        ),
    )
    nps_results = Page(
        "nps_and_results",
        "NPS and results",
        "Accounts banded by their NPS, per twelve-month period: revenue, margin, profitability against the "
        "average with its 95% interval, growth and later churn, and whether the field's claim holds here.",
        (
            _slicer("nps_results_period", "Period", column(NPS_RESULTS, "period"), 0),
            Visual(
                "profitability_by_band",
                "clusteredBarChart",
                "Customer profitability against the average, by NPS band",
                _grid(0, 0, 2, 2),
                {
                    "Category": (column(NPS_RESULTS, "nps_band"),),
                    "Y": (column(NPS_RESULTS, "profitability_vs_average", "avg"),),
                    "Series": (column(NPS_RESULTS, "period"),),
                },
                (Filter(column(NPS_RESULTS, "nps_band"), ("All accounts",), exclude=True),),
            ),
            Visual(
                "nps_results_statement",
                "tableEx",
                "What this company's data says about the claim",
                _grid(2, 0, 2, 2),
                {"Values": (column(NPS_RESULTS, "period"), column(NPS_RESULTS, "results_statement"))},
                (Filter(column(NPS_RESULTS, "nps_band"), ("All accounts",)),),
                sort=(column(NPS_RESULTS, "period"), "Descending"),
            ),
            Visual(
                "nps_results_by_band",
                "tableEx",
                "By band: accounts, revenue, margin, profitability, growth, churn in the next 12 months",
                _grid(0, 2, 4, 2),
                {
                    "Values": tuple(
                        column(NPS_RESULTS, c)
                        for c in (
                            "period",
                            "nps_band",
                            "accounts",
                            "mean_account_nps",
                            "revenue_per_account_eur",
                            "gross_margin_pct",
                            "share_of_gross_margin",
                            "share_of_gross_margin_ci_low",
                            "share_of_gross_margin_ci_high",
                            "profitability_vs_average",
                            "profitability_vs_average_ci_low",
                            "profitability_vs_average_ci_high",
                            "revenue_growth_yoy",
                            "churn_rate_next_12m",
                            "field_claim_verdict",
                        )
                    )
                },
                sort=(column(NPS_RESULTS, "nps_band"), "Ascending"),  # business order: nps_band_order
            ),
        ),
    )
    return retention, follow_up, nps_results


# --- JSON -----------------------------------------------------------------------------------------------


def _source(item: Field) -> dict:
    return {"Expression": {"SourceRef": {"Entity": item.table}}, "Property": item.name}


def field_expression(item: Field) -> dict:
    """The semantic-query expression of a field (Column, Measure, or an Aggregation of a column)."""
    if item.kind == "measure":
        return {"Measure": _source(item)}
    if item.aggregate:
        return {"Aggregation": {"Expression": {"Column": _source(item)}, "Function": AGGREGATIONS[item.aggregate]}}
    return {"Column": _source(item)}


def _literal(value: str | int | bool) -> dict:
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, int):
        text = f"{value}L"
    else:
        text = "'" + value.replace("'", "''") + "'"
    return {"Literal": {"Value": text}}


def _filter_json(index: int, item: Filter) -> dict:
    condition: dict = {
        "In": {
            "Expressions": [{"Column": {"Expression": {"SourceRef": {"Source": "t"}}, "Property": item.field.name}}],
            "Values": [[_literal(v)] for v in item.values],
        }
    }
    if item.exclude:
        condition = {"Not": {"Expression": condition}}
    return {
        "name": f"filter_{index}",
        "field": field_expression(item.field),
        "type": "Categorical",
        "filter": {
            "Version": 2,
            "From": [{"Name": "t", "Entity": item.field.table, "Type": 0}],
            "Where": [{"Condition": condition}],
        },
    }


def _text(value: str) -> dict:
    return {"expr": _literal(value)}


def visual_json(visual: Visual, z: int) -> dict:
    x, y, width, height = visual.position
    query: dict = {
        "queryState": {
            role: {
                "projections": [
                    {"field": field_expression(f), "queryRef": f.query_ref, "nativeQueryRef": f.name} for f in fields
                ]
            }
            for role, fields in visual.roles.items()
        }
    }
    if visual.sort:
        query["sortDefinition"] = {
            "sort": [{"field": field_expression(visual.sort[0]), "direction": visual.sort[1]}],
            "isDefaultSort": True,
        }
    body: dict = {
        "visualType": visual.visual_type,
        "query": query,
        "visualContainerObjects": {
            "title": [{"properties": {"show": {"expr": {"Literal": {"Value": "true"}}}, "text": _text(visual.title)}}]
        },
        "drillFilterOtherVisuals": True,
    }
    document: dict = {
        "$schema": VISUAL_SCHEMA,
        "name": visual.name,
        "position": {"x": x, "y": y, "z": z, "height": height, "width": width, "tabOrder": z},
        "visual": body,
    }
    if visual.filters:
        document["filterConfig"] = {"filters": [_filter_json(i, f) for i, f in enumerate(visual.filters)]}
    return document


def page_json(page: Page) -> dict:
    return {
        "$schema": PAGE_SCHEMA,
        "name": page.name,
        "displayName": page.display_name,
        "displayOption": "FitToPage",
        "height": PAGE_HEIGHT,
        "width": PAGE_WIDTH,
    }


def report_files(pages: Iterable[Page]) -> dict[str, dict]:
    """Every file of ``definition/`` (path relative to it -> JSON), report.json without its marker."""
    pages = tuple(pages)
    files: dict[str, dict] = {
        "version.json": {"$schema": VERSION_SCHEMA, "version": PBIR_VERSION},
        "report.json": {
            "$schema": REPORT_SCHEMA,
            "themeCollection": {},
            "settings": {"useStylableVisualContainerHeader": True, "defaultDrillFilterOtherVisuals": True},
        },
        "pages/pages.json": {
            "$schema": PAGES_SCHEMA,
            "pageOrder": [p.name for p in pages],
            "activePageName": pages[0].name,
        },
    }
    for page in pages:
        files[f"pages/{page.name}/page.json"] = page_json(page)
        for z, visual in enumerate(page.visuals):
            files[f"pages/{page.name}/visuals/{visual.name}/visual.json"] = visual_json(visual, z * 1000)
    return files


def _dump(document: dict) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _without_marker(report: dict) -> dict:
    kept = [a for a in report.get("annotations", []) if a.get("name") != MARKER]
    stripped = {k: v for k, v in report.items() if k != "annotations"}
    return stripped | ({"annotations": kept} if kept else {})


def fingerprint(definition: Path) -> str | None:
    """SHA-256 of every file under ``definition`` (report.json without the marker); None if unreadable."""
    digest = hashlib.sha256()
    try:
        for path in sorted(p for p in definition.rglob("*") if p.is_file()):
            relative = path.relative_to(definition).as_posix()
            text = path.read_text(encoding="utf-8")
            if relative == "report.json":
                text = _dump(_without_marker(json.loads(text)))
            digest.update(relative.encode() + b"\0" + text.encode() + b"\0")
    except (OSError, ValueError):
        return None
    return digest.hexdigest()


def _marker(definition: Path) -> str | None:
    try:
        report = json.loads((definition / "report.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return next((a.get("value") for a in report.get("annotations", []) if a.get("name") == MARKER), None)


def unbound_fields(pages: Iterable[Page], model: ModelFields) -> list[str]:
    """Every field a visual binds that the model lacks, as 'page/visual: table[name]'."""
    return [
        f"{page.name}/{visual.name}: {item.table}[{item.name}]"
        for page in pages
        for visual in page.visuals
        for item in visual.fields()
        if not model.has(item)
    ]


_NAME = re.compile(r"^[A-Za-z0-9_]{1,50}$")


def write_report(report_dir: Path, model: ModelFields, pages: tuple[Page, ...] | None = None) -> ReportResult:
    """Write ``report_dir/definition/`` unless the BI developer has made the report theirs.

    Written when there is no report yet, when the folder is exactly what this generator last wrote (its
    marker's fingerprint matches), or over the legacy blank report.json earlier versions wrote. Raises
    ValueError for a visual bound to a field the model lacks.
    """
    pages = pages if pages is not None else report_pages()
    if missing := unbound_fields(pages, model):
        raise ValueError("report visuals bound to fields the model does not have: " + "; ".join(missing))
    for name in [p.name for p in pages] + [v.name for p in pages for v in p.visuals]:
        if not _NAME.match(name):
            raise ValueError(f"report object name {name!r} is not a plain name of at most 50 characters")
    definition = report_dir / "definition"
    legacy = report_dir / "report.json"
    if definition.exists():
        marker = _marker(definition)
        if marker is None or marker != fingerprint(definition):
            reason = "no generator marker" if marker is None else "edited since it was generated"
            return ReportResult(False, f"{definition}: {reason}; left as it is")
    elif legacy.exists() and legacy.read_text(encoding="utf-8") != LEGACY_BLANK_REPORT:
        return ReportResult(False, f"{legacy}: a report in the legacy format, edited; left as it is")

    files = report_files(pages)
    staging = report_dir / f"definition.tmp-{uuid.uuid4().hex}"
    try:
        for relative, document in files.items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(_dump(document), encoding="utf-8", newline="\n")
        report = files["report.json"] | {"annotations": [{"name": MARKER, "value": fingerprint(staging)}]}
        (staging / "report.json").write_text(_dump(report), encoding="utf-8", newline="\n")
        if definition.exists():
            shutil.rmtree(definition)
        staging.rename(definition)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    if legacy.exists():
        legacy.unlink()  # the blank legacy report: PBIR replaces it (a folder may not hold both)
    return ReportResult(
        True,
        "generated",
        tuple(p.display_name for p in pages),
        sum(len(p.visuals) for p in pages),
    )


# The blank one-page report.json (PBIR-Legacy) that earlier versions wrote: recognised so it is replaced.
LEGACY_BLANK_REPORT = _dump(
    {
        "config": json.dumps({"version": "5.43", "themeCollection": {}, "activeSectionIndex": 0}),
        "layoutOptimization": 0,
        "resourcePackages": [],
        "sections": [
            {
                "name": "ReportSection",
                "displayName": "Overview",
                "displayOption": 1,
                "filters": "[]",
                "ordinal": 0,
                "visualContainers": [],
                "config": "{}",
                "width": 1280,
                "height": 720,
            }
        ],
    }
)
