"""Customer-insight assets: the driver analysis, the competitor driver gaps and the response-bias-adjusted
NPS. Thin wiring: the statistics are in pipeline.insight (plain functions, tested without Dagster); dbt
turns the ``insight`` tables into marts (mart_driver_analysis, mart_competitor_driver_gaps,
mart_nps_summary).
"""

from collections.abc import Iterator

import dagster as dg

from assets.warehouse import model_key
from pipeline.insight import drivers, headlines, nps, segments, tables
from pipeline.resources import ONE_RUN, WAREHOUSE_POOL, BusinessRulesResource, WarehouseResource

RESPONDENTS_KEY = model_key("int_relationship_respondents")
INVITATIONS_KEY = model_key("int_relationship_invitations")
DRIVER_RATINGS_KEY = model_key("fct_driver_ratings")
SEGMENT_FEATURES_KEY = model_key("int_account_segment_features")
DRIVER_PROFILE_KEY = model_key("int_account_driver_profile")


def _md(frame) -> dg.MetadataValue:
    return dg.MetadataValue.md(frame.to_markdown(index=False, floatfmt=".2f"))


@dg.asset(
    backfill_policy=ONE_RUN,
    key=dg.AssetKey(["insight", "driver_analysis"]),
    deps=[RESPONDENTS_KEY, DRIVER_RATINGS_KEY],
    group_name="insight",
    pool=WAREHOUSE_POOL,
    description="Driver analysis of the relationship survey, overall, by wave and by size band: performance, "
    "relative-weight importance for promoter vs passive, penalty-reward asymmetry with 95% intervals, the "
    "driver class (hygiene, differentiator, performance, weak) and the same drivers against churn. "
    "Table insight.driver_analysis.",
)
def driver_analysis(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, rules: BusinessRulesResource
) -> dg.MaterializeResult:
    with warehouse.connect(read_only=True) as conn:
        respondents = tables.load_respondents(conn)
    analysis = drivers.analyse_drivers(respondents, drivers.DriverConfig(rules=rules.rules()))
    with warehouse.connect() as conn:
        tables.replace_table(conn, "driver_analysis", analysis, context.run.run_id)
    overall = analysis[(analysis["scope_type"] == "overall") & (analysis["outcome"] == drivers.RECOMMENDATION)]
    return dg.MaterializeResult(
        metadata={
            "respondents": len(respondents),
            "drivers": dg.MetadataValue.json(drivers.driver_columns(respondents)),
            "classes": dg.MetadataValue.json(dict(zip(overall["driver"], overall["driver_class"], strict=True))),
            "summary": dg.MetadataValue.md("\n".join(f"- {s}" for s in overall["summary"])),
            "overall": _md(
                overall[["driver_label", "performance", "importance_share", "penalty", "reward", "driver_class"]]
            ),
        }
    )


@dg.asset(
    backfill_policy=ONE_RUN,
    key=dg.AssetKey(["insight", "competitor_driver_gaps"]),
    deps=[RESPONDENTS_KEY, DRIVER_RATINGS_KEY],
    group_name="insight",
    pool=WAREHOUSE_POOL,
    description="Which drivers separate respondents considering another supplier (7-10) from the rest: mean "
    "ratings, the gap with a Welch 95% interval and the standardised gap. Table insight.competitor_driver_gaps.",
)
def competitor_driver_gaps(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, rules: BusinessRulesResource
) -> dg.MaterializeResult:
    with warehouse.connect(read_only=True) as conn:
        respondents = tables.load_respondents(conn)
    gaps = drivers.competitor_driver_gaps(respondents, drivers.DriverConfig(rules=rules.rules()))
    with warehouse.connect() as conn:
        tables.replace_table(conn, "competitor_driver_gaps", gaps, context.run.run_id)
    return dg.MaterializeResult(
        metadata={
            "considering_respondents": int(gaps["considering_respondents"].max()),
            "summary": dg.MetadataValue.md("\n".join(f"- {s}" for s in gaps.sort_values("gap_rank")["summary"])),
        }
    )


@dg.asset(
    backfill_policy=ONE_RUN,
    key=dg.AssetKey(["insight", "nps_adjusted"]),
    deps=[INVITATIONS_KEY],
    group_name="insight",
    pool=WAREHOUSE_POOL,
    description="Response-bias-adjusted relationship NPS by quarter and over the last 12 months, for all "
    "segments and each: post-stratified to the invited mix of size band and contact role, with Kish's "
    "effective n and margin of error, and a sentence saying whether it differs from the raw NPS by more "
    "than the margin of error. Table insight.nps_adjusted.",
)
def nps_adjusted(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, rules: BusinessRulesResource
) -> dg.MaterializeResult:
    with warehouse.connect(read_only=True) as conn:
        invitations = tables.load_invitations(conn)
    table = nps.adjusted_nps_by_period(invitations, rules=rules.rules())
    with warehouse.connect() as conn:
        written = tables.replace_table(conn, "nps_adjusted", table, context.run.run_id)
    headline = table[(table["period"] == nps.LAST_12_MONTHS) & (table["segment_key"] == nps.ALL_SEGMENTS)]
    metadata: dict = {"rows": written}
    if len(headline):
        row = headline.iloc[0]
        metadata.update(
            raw_nps_last_12_months=float(row["raw_nps"]),
            adjusted_nps_last_12_months=float(row["adjusted_nps"]),
            margin_of_error=float(row["adjusted_nps_margin_of_error"]),
            summary=str(row["bias_statement"]),
        )
    return dg.MaterializeResult(metadata=metadata)


SEGMENT_TABLES = {
    "account_segments": "One row per active account: its behavioural and needs segment and the mixture's probability.",
    "segments": "One row per segment: its name and description in words, accounts, traits and the criterion.",
    "segmentation": "One row: whether the accounts were segmented (on behaviour and needs, or on behaviour "
    "only), or why not.",
}


@dg.multi_asset(
    backfill_policy=ONE_RUN,
    specs=[
        dg.AssetSpec(
            dg.AssetKey(["insight", table]),
            deps=[SEGMENT_FEATURES_KEY, DRIVER_PROFILE_KEY],
            group_name="insight",
            description=f"{text} Table insight.{table}.",
        )
        for table, text in SEGMENT_TABLES.items()
    ],
    pool=WAREHOUSE_POOL,
    description="Behavioural and needs segments of the active accounts: standardised spend level and trend, "
    "contact, product breadth, order rhythm and each driver's rating against the account's own average; a "
    "diagonal Gaussian mixture, the number of segments by BIC; each segment described by what sets it apart. "
    "Read by mart_account_360, mart_segments and mart_analysis_status. Reads intermediate models only (never "
    "mart_account_360): no cycle.",
)
def account_segments(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, rules: BusinessRulesResource
) -> Iterator[dg.MaterializeResult]:
    with warehouse.connect(read_only=True) as conn:
        features = tables.load_segment_features(conn)
    found = segments.segment_accounts(features, segments.SegmentConfig(rules=rules.rules()))
    status = found.status()
    with warehouse.connect() as conn:
        tables.replace_table(conn, "account_segments", found.accounts, context.run.run_id)
        tables.replace_table(conn, "segments", found.segments, context.run.run_id)
        tables.replace_table(conn, "segmentation", status, context.run.run_id)
    yield dg.MaterializeResult(
        asset_key=dg.AssetKey(["insight", "account_segments"]),
        metadata={
            "status": str(status["status"].iloc[0]),
            "reason": str(status["reason"].iloc[0]),
            "accounts": len(found.accounts),
            "segments": found.chosen or 0,
            "criterion": str(status["criterion"].iloc[0]),
            "segments_found": dg.MetadataValue.md("\n".join(f"- {d}" for d in found.segments["description"])),
        },
    )
    yield dg.MaterializeResult(asset_key=dg.AssetKey(["insight", "segments"]), metadata={"rows": len(found.segments)})
    yield dg.MaterializeResult(
        asset_key=dg.AssetKey(["insight", "segmentation"]), metadata={"status": str(status["status"].iloc[0])}
    )


HEADLINE_MARTS = [
    "mart_analysis_status",
    "mart_account_360",
    "mart_nps_summary",
    "mart_driver_analysis",
    "mart_survey_coverage",
    "mart_competitor_signals",
    "mart_crm_data_quality",
]


@dg.asset(
    backfill_policy=ONE_RUN,
    key=dg.AssetKey(["insight", "headlines"]),
    deps=[model_key(m) for m in HEADLINE_MARTS],
    group_name="insight",
    description="The headline findings in plain words, read from the finished marts: honest NPS, driver "
    "classes, value and tiers, care models, survey coverage, the leading competitor, CRM data quality.",
)
def insight_headlines(warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect(read_only=True) as conn:
        found = headlines.headlines(conn)
    return dg.MaterializeResult(
        metadata={
            "headlines": dg.MetadataValue.md("\n".join(f"- **{k.replace('_', ' ')}**: {v}" for k, v in found.items())),
            **{k: dg.MetadataValue.text(v) for k, v in found.items()},
        }
    )


insight_assets = [driver_analysis, competitor_driver_gaps, nps_adjusted, account_segments, insight_headlines]
