"""The churn model's assets: training (champion and challenger) and monthly scoring with reasons.

Thin wiring: the work is in pipeline.churn (plain functions, tested without Dagster).
"""

import base64

import dagster as dg
from dagster_dbt import get_asset_key_for_model

from assets.partitions import snapshot_months
from assets.warehouse import monthly_models

# The modelling modules (scikit-learn, skops, matplotlib) are imported by the assets that run them:
# loading the definitions, which every run, the UI and every sensor tick do, need not pay for them.
from pipeline.churn import tables
from pipeline.resources import ONE_RUN, WAREHOUSE_POOL, BusinessRulesResource, ModelStoreResource, WarehouseResource

FEATURE_TABLE_KEY = get_asset_key_for_model([monthly_models], "feat_account_snapshot")
CHURN_MODEL_KEY = dg.AssetKey(["ml", "churn_model"])
CHURN_SCORES_KEY = dg.AssetKey(["ml", "churn_scores"])


def _image(path) -> str:
    return f"![{path.stem}](data:image/png;base64,{base64.b64encode(path.read_bytes()).decode()})"


ENOUGH_HISTORY_CHECK = "enough_labelled_history"


@dg.asset(
    backfill_policy=ONE_RUN,
    key=CHURN_MODEL_KEY,
    deps=[FEATURE_TABLE_KEY],
    group_name="ml",
    pool=WAREHOUSE_POOL,
    description="Trains the churn model out of time (logistic regression and gradient boosting, calibrated), "
    "stores it as a versioned artefact and promotes it to champion if it is at least as good on the same window. "
    "With too little labelled history it trains nothing, says why in ml.churn_model_status and warns.",
    check_specs=[
        dg.AssetCheckSpec(
            ENOUGH_HISTORY_CHECK,
            asset=CHURN_MODEL_KEY,
            description="Enough labelled months and churners for an honest out-of-time evaluation (warns: the "
            "rest of the pipeline publishes without churn scores, saying why)",
        )
    ],
)
def churn_model(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    model_store: ModelStoreResource,
    rules: BusinessRulesResource,
):
    from pipeline.churn import features, lifecycle, report
    from pipeline.churn.training import NotEnoughHistory, TrainingConfig

    with warehouse.connect(read_only=True) as conn:
        frame = features.load_feature_table(conn, max_rows=features.TRAINING_MAX_ROWS)
        data_as_of = str(frame["snapshot_month"].max().date()) if len(frame) else ""
    training_sample = frame.attrs.get("sample", "")
    # raises FeatureTableInvalid naming columns and rows
    frame = features.validate_features(frame, rules=rules.rules())
    config = TrainingConfig(
        seed=model_store.seed, promotion_margin=model_store.promotion_margin, horizon_months=rules.churn_horizon_months
    )
    store = model_store.store()
    labelled = len(features.labelled_months(frame).complete)
    try:
        outcome = lifecycle.train_and_register(frame, config, store, data_as_of)
    except NotEnoughHistory as error:
        champion = store.champion()
        newest = frame["snapshot_month"].max() if len(frame) else None
        status = lifecycle.withheld_status(
            error, newest, config, rules.silent_churn_months, champion["version"] if champion else None
        )
        with warehouse.connect() as conn:
            tables.write_model_status(conn, status, context.run.run_id)
            tables.write_model_performance(conn, lifecycle.model_performance_table(store))
        context.log.warning(f"{status['reason']}. To enable it: {status['enable_hint']}.")
        yield dg.MaterializeResult(
            metadata={
                "status": status["status"],
                "reason": status["reason"],
                "enable_hint": status["enable_hint"],
                "labelled_months": labelled,
                "champion_version": status["champion_version"] or "none",
            }
        )
        yield dg.AssetCheckResult(
            check_name=ENOUGH_HISTORY_CHECK,
            passed=False,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"reason": status["reason"], "enable_hint": status["enable_hint"]},
        )
        return
    with warehouse.connect() as conn:
        tables.write_model_performance(conn, lifecycle.model_performance_table(store))
        tables.write_model_status(conn, lifecycle.trained_status(outcome, labelled, config), context.run.run_id)
    result = outcome.result
    comparison = outcome.decision.comparison(result.chosen, {n: c.metrics for n, c in result.candidates.items()})
    metrics = result.best.metrics
    yield dg.MaterializeResult(
        metadata={
            "status": "trained",
            "model_version": outcome.version,
            "champion_version": outcome.champion_version,
            "promoted": outcome.promoted,
            "decision": outcome.decision.reason,
            "model_type": result.chosen,
            # Every row of the feature table, or whole accounts beyond the row budget (features.sampled_accounts).
            "training_sample": training_sample,
            # How the challenger and its settings were chosen: on the calibration months, not the window.
            "selection": dg.MetadataValue.json(result.hyperparameters),
            "window": dg.MetadataValue.json(result.split.describe()),
            "roc_auc": metrics["roc_auc"],
            "brier": metrics["brier"],
            "top_decile_lift": metrics["top_decile_lift"],
            "headline": outcome.headline,
            "comparison": dg.MetadataValue.md(report.metrics_markdown(comparison)),
            "baselines": dg.MetadataValue.json(result.baselines),
            "features_left_out": dg.MetadataValue.json(result.features_left_out),
            "report": dg.MetadataValue.md("\n\n".join(_image(p) for p in outcome.report_files.values())),
            "report_folder": dg.MetadataValue.path(str(next(iter(outcome.report_files.values())).parent)),
        }
    )
    yield dg.AssetCheckResult(check_name=ENOUGH_HISTORY_CHECK, passed=True, metadata={"labelled_months": labelled})


@dg.asset(
    key=CHURN_SCORES_KEY,
    deps=[CHURN_MODEL_KEY, FEATURE_TABLE_KEY],
    partitions_def=snapshot_months,
    backfill_policy=ONE_RUN,
    group_name="ml",
    pool=WAREHOUSE_POOL,
    description="Scores every account active at the end of the snapshot month with the champion: probability, "
    "decile, risk band, expected revenue at risk and the top three reasons. Table ml.churn_scores.",
    check_specs=[
        dg.AssetCheckSpec(
            "feature_drift",
            asset=CHURN_SCORES_KEY,
            description="PSI of each model input, scored month vs training population",
        ),
        dg.AssetCheckSpec(
            "score_shift",
            asset=CHURN_SCORES_KEY,
            description="PSI of the probabilities, scored month vs the evaluation window",
        ),
        dg.AssetCheckSpec(
            "all_active_accounts_scored",
            asset=CHURN_SCORES_KEY,
            blocking=True,
            description="Every account active at the month end has exactly one score",
        ),
    ],
)
def churn_scores(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    model_store: ModelStoreResource,
    rules: BusinessRulesResource,
):
    from pipeline.churn import drift, monthly_scoring

    # A backfill of a range of months is one run (BackfillPolicy.single_run): each month in turn.
    months_to_score = list(context.partition_keys)
    store = model_store.store()
    if store.champion() is None:
        # No model yet (too little history): nothing is scored, the marts build without scores and the
        # release says why (ml.churn_model_status). A known state, so a warning, not a failed run.
        with warehouse.connect() as conn:
            reason, hint = tables.read_model_status(conn)
        context.log.warning(f"Churn scores withheld for {', '.join(m[:7] for m in months_to_score)}: {reason}")
        withheld = {"withheld": reason, "enable_hint": hint}
        return dg.MaterializeResult(
            metadata={"snapshot_months": ", ".join(m[:7] for m in months_to_score), "accounts_scored": 0, **withheld},
            check_results=[
                dg.AssetCheckResult(check_name=name, passed=True, metadata=withheld)
                for name in ("feature_drift", "score_shift", "all_active_accounts_scored")
            ],
        )
    champion = store.load_champion()
    try:
        run = monthly_scoring.score_months(
            warehouse.connect,
            months_to_score,
            champion,
            store.reference(champion.version),
            rules.rules(),
            context.run.run_id,
            log=context.log.info,
        )
    except monthly_scoring.NoActiveAccounts as error:
        raise dg.Failure(description=str(error)) from error

    # The checks judge the worst month of the run; the summary shows the newest.
    worst = run.worst_drift
    worst_feature, worst_psi = worst.drift.worst
    scores = run.latest.scores
    band_counts = scores["risk_band"].value_counts().to_dict()
    return dg.MaterializeResult(
        metadata={
            "snapshot_months": ", ".join(m.month for m in run.months),
            "accounts_scored": run.rows_written,
            "model_version": run.model_version,
            "mean_churn_probability": float(scores["churn_probability"].mean()),
            "expected_revenue_at_risk_eur": float(scores["expected_revenue_at_risk_eur"].sum()),
            "risk_bands": dg.MetadataValue.json({k: int(v) for k, v in band_counts.items()}),
            "top_of_the_list": dg.MetadataValue.md(
                scores.sort_values("churn_probability", ascending=False)
                .head(10)[["account_id", "churn_probability", "risk_band", "reasons"]]
                .to_markdown(index=False)
            ),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name="feature_drift",
                passed=run.drift_passed(),
                severity=dg.AssetCheckSeverity.ERROR if run.drift_failed() else dg.AssetCheckSeverity.WARN,
                metadata={
                    "worst_month": worst.month,
                    "worst_feature": worst_feature,
                    "worst_psi": round(worst_psi, 4),
                    "over_warn_threshold": dg.MetadataValue.json(worst.drift.over(drift.PSI_WARN)),
                    "warn_at": drift.PSI_WARN,
                    "fail_at": drift.PSI_FAIL,
                },
            ),
            dg.AssetCheckResult(
                check_name="score_shift",
                passed=run.score_shift <= drift.PSI_WARN,
                severity=dg.AssetCheckSeverity.ERROR
                if run.score_shift > drift.PSI_FAIL
                else dg.AssetCheckSeverity.WARN,
                metadata={"psi": round(run.score_shift, 4), "warn_at": drift.PSI_WARN, "fail_at": drift.PSI_FAIL},
            ),
            dg.AssetCheckResult(
                check_name="all_active_accounts_scored",
                passed=run.all_scored,
                metadata={"rows": run.rows_written, "active_accounts": run.active_accounts},
            ),
        ],
    )
