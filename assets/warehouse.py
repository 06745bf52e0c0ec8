"""dbt models as Dagster assets: staging, intermediate and marts in one graph with the ingest assets.

dbt sources carry ``meta.dagster.asset_key`` = the ingest asset's key, so lineage runs from the landing
files to the marts. dbt tests become asset checks. The manifest is prepared by ``make`` (``dbt parse``)
or by ``dg`` / ``dagster dev`` (``prepare_if_dev``, only when a dbt file is newer than the manifest); loading
the code location only reads it.
"""

import json
from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
    dbt_assets,
    get_asset_key_for_model,
)

from assets.partitions import account_months
from pipeline import engine, orchestration
from pipeline.churn import tables as churn_tables
from pipeline.dbt import (
    DBT_PROJECT_DIR,
    SCHEDULED_BUILD_FLAGS,
    data_month_range,
    dbt_environment,
    manifest_is_current,
    partition_env,
    shared_partial_parse,
    stored_relations,
    vars_arguments,
)
from pipeline.publish import gate
from pipeline.resources import ONE_RUN, WAREHOUSE_POOL, BusinessRulesResource, WarehouseResource
from pipeline.warehouse import writer_lock

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
# Under `dg` or `dagster dev`, parse only when a dbt file changed since the manifest was written.
if not manifest_is_current():
    dbt_project.prepare_if_dev()


class WarehouseTranslator(DagsterDbtTranslator):
    """Groups follow the dbt layers: staging, intermediate, marts."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        if dbt_resource_props.get("resource_type") == "model" and len(fqn) > 2:
            return fqn[1]
        return super().get_group_name(dbt_resource_props)


translator = WarehouseTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


# Models fed by tables the Python analyses write (schemas ml and insight) build after those assets, in their
# own dbt assets; the rest build before them. Split by selector, so each @dbt_assets is one dbt invocation
# of its own models.
SCORED_SELECTION = "source:ml+ source:insight+"
# The monthly facts and features are partitioned by month (incremental models keyed on the month): a run
# for a range of months rebuilds only those months, in one dbt invocation (BackfillPolicy.single_run).
MONTHLY_SELECTION = "tag:monthly"
# The unpartitioned models on top of the monthly ones build in a dbt asset of their own, after them: no
# dbt asset is then both upstream and downstream of another (which would split it into a subset, and run
# relationship tests before the table they test exists).
ON_MONTHLY_SELECTION = "tag:monthly+"


@dbt_assets(
    backfill_policy=ONE_RUN,
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=translator,
    exclude=f"{SCORED_SELECTION} {ON_MONTHLY_SELECTION}",
    pool=WAREHOUSE_POOL,
)
def warehouse_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource, rules: BusinessRulesResource
) -> Iterator[Any]:
    yield from build_models(context, dbt, warehouse, "warehouse_models", rules)


@dbt_assets(
    backfill_policy=ONE_RUN,
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=translator,
    select=SCORED_SELECTION,
    name="scored_models",
    pool=WAREHOUSE_POOL,
)
def scored_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource, rules: BusinessRulesResource
) -> Iterator[Any]:
    # The churn model's tables exist (empty) even where no model has been trained: the marts over them build.
    with warehouse.connect() as conn:
        churn_tables.ensure_tables(conn)
    yield from build_models(context, dbt, warehouse, "scored_models", rules)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=translator,
    select=MONTHLY_SELECTION,
    name="monthly_models",
    partitions_def=account_months,
    backfill_policy=ONE_RUN,
    pool=WAREHOUSE_POOL,
)
def monthly_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource, rules: BusinessRulesResource
) -> Iterator[Any]:
    first_window, last_window = account_months.get_first_partition_window(), account_months.get_last_partition_window()
    if first_window is None or last_window is None:
        raise dg.Failure(description="the monthly partitions are empty: PIPELINE_FIRST_SNAPSHOT_MONTH is in the future")
    first, partitions_end = first_window.start.date(), last_window.end.date()
    window = context.partition_time_window  # a partitioned asset always has its window
    window_start, window_end = window.start.date(), window.end.date()
    with warehouse.connect(read_only=True) as conn:
        data_months = data_month_range(conn)
    refresh = context.run.tags.get(orchestration.REFRESH_MONTHS_TAG)
    try:
        rebuild = orchestration.months_to_rebuild(
            window_start, window_end, first, partitions_end, data_months, int(refresh) if refresh else None
        )
    except orchestration.DataOutsidePartitions as error:
        raise dg.Failure(description=str(error)) from error
    for note in rebuild.notes:
        context.log.warning(f"Monthly facts: {note}")
    context.log.info(f"Monthly facts: months {rebuild.start or 'from the data start'} to {rebuild.end or 'the newest'}")
    yield from build_models(context, dbt, warehouse, "monthly_models", rules, partition_env(rebuild.start, rebuild.end))


@dbt_assets(
    backfill_policy=ONE_RUN,
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=translator,
    select=ON_MONTHLY_SELECTION,
    exclude=f"{MONTHLY_SELECTION} {SCORED_SELECTION}",
    name="models_on_monthly_facts",
    pool=WAREHOUSE_POOL,
)
def models_on_monthly_facts(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource, rules: BusinessRulesResource
) -> Iterator[Any]:
    yield from build_models(context, dbt, warehouse, "models_on_monthly_facts", rules)


# Every dbt asset, for lookups that must not care which of them builds a model.
DBT_ASSETS = (warehouse_models, monthly_models, models_on_monthly_facts, scored_models)


def model_key(model: str) -> dg.AssetKey:
    """The asset key of a dbt model, whichever dbt asset builds it."""
    for models in DBT_ASSETS:
        if any(key.path[-1] == model for key in models.keys):
            return get_asset_key_for_model([models], model)
    raise KeyError(f"dbt model {model} is in no dbt asset")


def build_models(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: WarehouseResource,
    dbt_asset: str,
    rules: BusinessRulesResource,
    extra_env: dict[str, str] | None = None,
) -> Iterator[Any]:
    # dbt is the only writer while it runs; row counts are read after it has released the file. The
    # artefacts are read under the lock too: the next run of this dbt asset writes the same folder.
    dbt_vars = rules.dbt_vars()
    target_dir = warehouse.dbt_target_dir(dbt_asset)
    # The previous build's artefacts go first: a build that stops before its end writes none, and must not
    # be read as this one (its test results would reach the publishing gate).
    for artefact in ("manifest.json", "run_results.json"):
        (target_dir / artefact).unlink(missing_ok=True)
    with writer_lock(warehouse.path_obj, warehouse.lock_timeout_seconds):
        # On Spark, dbt's sources go to the lake first, and the tables it built are mounted after it.
        engine_env = _push_sources_to_spark(context, warehouse, dbt_asset) if warehouse.engine == "spark" else {}
        with (
            # Every build sets the monthly window, open unless given: a value left in the environment never
            # narrows one.
            dbt_environment(warehouse.path, extra={**(extra_env or partition_env(None, None)), **engine_env}),
            shared_partial_parse(target_dir, dbt_vars),
        ):
            invocation = dbt.cli(
                ["build", *SCHEDULED_BUILD_FLAGS, *vars_arguments(dbt_vars)],
                context=context,
                raise_on_error=False,
                target_path=target_dir,
            )
            events = list(invocation.stream())
            manifest = invocation.get_artifact("manifest.json")
            run_results = invocation.get_artifact("run_results.json")
        if warehouse.engine == "spark":
            _mount_spark_tables(context, warehouse, manifest)
    relations = stored_relations(manifest)
    # Every test's result is kept in the warehouse: publishing, possibly in a later run, is gated on it.
    results = gate.test_results(run_results, manifest)
    with warehouse.connect() as conn:
        gate.record_dbt_results(conn, results, context.run.run_id)
    with warehouse.connect(read_only=True) as conn:
        for event in events:
            yield _with_row_count(event, conn, relations)
    if not invocation.is_successful():
        raise dg.Failure(description=f"dbt build failed: {invocation.get_error()}")


def _push_sources_to_spark(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, dbt_asset: str
) -> dict[str, str]:
    """dbt's sources whose content changed, written to Spark's lake, the new ones registered; the environment
    of the dbt command on Spark (pipeline/engine.py)."""
    manifest = json.loads(dbt_project.manifest_path.read_text())
    lake = warehouse.spark_lake
    try:
        pushed = engine.push_and_register(warehouse.connect, lake, manifest, warehouse.dbt_target_dir(dbt_asset))
    except engine.SparkBuildError as error:
        raise dg.Failure(description=str(error)) from error
    context.log.info(
        f"Spark: {len(pushed.written)} source tables written to the lake "
        f"({', '.join(pushed.written) or 'none changed'}), {len(pushed.registered)} registered"
    )
    return lake.dbt_environment()


def _mount_spark_tables(context: dg.AssetExecutionContext, warehouse: WarehouseResource, manifest: dict) -> None:
    # Whatever Spark built, even in a build that failed part-way: the next stage reads Spark's rows.
    with warehouse.connect() as conn:
        mounted = engine.mount_models(conn, warehouse.spark_lake, manifest)
    context.log.info(f"Spark: {len(mounted)} tables mounted in the local store")


def _with_row_count(event: Any, conn: Any, relations: dict[str, str]) -> Any:
    if not isinstance(event, dg.Output | dg.AssetMaterialization):
        return event
    unique_id = event.metadata.get("unique_id")
    relation = relations.get(str(unique_id.value)) if unique_id is not None else None
    if relation is None:
        return event
    try:
        rows = conn.execute(f"select count(*) from {relation}").fetchall()[0][0]
    except Exception:  # a view over a missing source, say: the count is information, not a gate
        return event
    return event.with_metadata({**event.metadata, "dagster/row_count": dg.MetadataValue.int(rows)})
