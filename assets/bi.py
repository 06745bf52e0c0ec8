"""Publishing to the BI layer: thin wiring of pipeline.publish and pipeline.quality.

``bi/release`` is downstream of every published mart and gated explicitly on the blocking checks: the
newest dbt test results of the published marts, pandera on the churn scores, the Great Expectations
suites on every table and the personal-data scan. A failing check publishes nothing and leaves the
previous release current.
"""

from pathlib import Path

import dagster as dg

from pipeline import catalog
from pipeline.publish import gate
from pipeline.publish.parquet import current_release, publish_parquet
from pipeline.resources import ONE_RUN, WAREHOUSE_POOL, BiLayerResource, BusinessRulesResource, WarehouseResource

BI_RELEASE_KEY = dg.AssetKey(["bi", "release"])
# After the PostgreSQL swap: the same suites on the published tables (reports; the release is already out).
POSTGRES_CHECK = "great_expectations_postgres"


def _published_mart_keys() -> list[dg.AssetKey]:
    """The catalog's published models (pipeline.catalog), as the dbt assets' keys."""
    from assets.warehouse import dbt_project, model_key

    return [model_key(name) for name in catalog.published_names(catalog.load_manifest(dbt_project.manifest_path))]


def _check_metadata(outcome: gate.CheckOutcome) -> dict[str, dg.MetadataValue]:
    if outcome.summary is not None:
        return {
            "summary": dg.MetadataValue.md(outcome.summary),
            "data_docs": dg.MetadataValue.path(str(outcome.data_docs or "")),
        }
    return {"problems": dg.MetadataValue.json(outcome.problems)}


@dg.asset(
    backfill_policy=ONE_RUN,
    key=BI_RELEASE_KEY,
    deps=_published_mart_keys(),
    group_name="bi",
    pool=WAREHOUSE_POOL,
    description="Publishes every dim_, fct_ and mart_ table as a new Parquet release (atomic pointer switch, "
    "last N kept) and, when PIPELINE_BI_POSTGRES_URL is set, to PostgreSQL (COPY into a staging schema, swap "
    "in one transaction, read-only reader role). Nothing is published unless every blocking check passes.",
    check_specs=[
        *(
            dg.AssetCheckSpec(name, asset=BI_RELEASE_KEY, description=text, blocking=True)
            for name, text in gate.BLOCKING_CHECKS.items()
        ),
        dg.AssetCheckSpec(
            POSTGRES_CHECK,
            asset=BI_RELEASE_KEY,
            description="Great Expectations suites on the PostgreSQL tables after publishing (when configured)",
        ),
    ],
)
def bi_release(context: dg.AssetExecutionContext, warehouse: WarehouseResource, bi: BiLayerResource):
    from assets.warehouse import dbt_project

    bi_dir = Path(bi.path)
    previous = current_release(bi_dir)
    # One read-only connection from the gate to the last file written: no writer can change a table between
    # its checks (and content fingerprint) and its publication.
    with warehouse.connect(read_only=True) as conn:
        checked = gate.evaluate_release(
            conn,
            catalog.published_names(catalog.load_manifest(dbt_project.manifest_path)),
            dbt_project.manifest_path,
            previous.row_counts() if previous else None,
            bi.quality_thresholds(),
            Path(bi.data_docs_dir) if bi.data_docs_dir else None,
            run_name=context.run.run_id,
            previous_validations=previous.validations() if previous else None,
        )
        if not checked.passed:
            # Nothing has been written: the previous release stays current. The failure names every problem.
            raise dg.Failure(
                description=checked.blocked_message(previous.release_id if previous else None),
                metadata={
                    f"{name}.{k}": v
                    for name in checked.failed
                    for k, v in _check_metadata(checked.checks[name]).items()
                },
            )
        tables, as_of = checked.tables, checked.data_as_of
        release = publish_parquet(
            conn,
            tables,
            bi_dir,
            context.run.run_id,
            bi.keep_releases,
            str(as_of),
            fingerprints=checked.fingerprints,
            validations=checked.validations,
        )
        postgres_rows = None
        if bi.postgres_url:
            from pipeline.publish.postgres import publish_postgres

            postgres_rows = publish_postgres(
                conn, tables, bi.postgres_url, context.run.run_id, bi.postgres_schema, bi.reader_role
            )
    metadata = {
        "release_id": release.release_id,
        "release_folder": dg.MetadataValue.path(str(release.path)),
        "tables": len(tables),
        "rows": sum(e["rows"] for e in release.manifest["tables"].values()),
        "data_as_of": str(as_of),
        "previous_release": previous.release_id if previous else "none",
        # Unchanged since the previous release: hard-linked from it, not written again.
        "tables_reused": sum("reused_from" in e for e in release.manifest["tables"].values()),
        # Unchanged content under an unchanged suite: the validation of an earlier release stands.
        "tables_validated_before": sum(bool(r.checked_in) for r in checked.quality.tables.values()),
        "postgres": f"schema {bi.postgres_schema}: {sum(postgres_rows.values())} rows"
        if postgres_rows
        else "not configured",
    }
    yield dg.MaterializeResult(metadata=metadata)
    for name, outcome in checked.checks.items():
        yield dg.AssetCheckResult(check_name=name, passed=outcome.passed, metadata=_check_metadata(outcome))
    if bi.postgres_url:
        from pipeline import quality

        published = quality.validate_postgres(
            bi.postgres_url,
            bi.postgres_schema,
            [t.name for t in tables if t.name in checked.suites],
            checked.suites,
            None,
        )
        yield dg.AssetCheckResult(
            check_name=POSTGRES_CHECK,
            passed=published.success,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={"summary": dg.MetadataValue.md(published.summary())},
        )
    else:
        yield dg.AssetCheckResult(
            check_name=POSTGRES_CHECK, passed=True, metadata={"postgres": "not configured: nothing to check"}
        )


@dg.asset(
    backfill_policy=ONE_RUN,
    key=dg.AssetKey(["bi", "powerbi_project"]),
    deps=[BI_RELEASE_KEY],
    group_name="bi",
    description="A Power BI Project (.pbip, TMDL) generated from the dbt manifest: the published tables with "
    "types and descriptions, relationships, a date table, the headline measures and a SourceType parameter "
    "(Parquet release folder or PostgreSQL). Written to PIPELINE_BI_DIR/powerbi; see docs/powerbi.md.",
)
def powerbi_project(bi: BiLayerResource, rules: BusinessRulesResource) -> dg.MaterializeResult:
    from assets.warehouse import dbt_project
    from pipeline.powerbi import write_pbip

    bi_dir = Path(bi.path)
    project = write_pbip(
        dbt_project.manifest_path,
        bi_dir / "powerbi",
        # The `current` link, not the release it points to today: a refresh follows the next release.
        parquet_folder=str(bi_dir.resolve() / "current"),
        rules=rules.rules(),
    )
    tables = sorted(p.stem for p in project.parent.glob("*.SemanticModel/definition/tables/*.tmdl"))
    return dg.MaterializeResult(
        metadata={"project": dg.MetadataValue.path(str(project)), "tables": dg.MetadataValue.json(tables)}
    )


@dg.asset(
    backfill_policy=ONE_RUN,
    key=dg.AssetKey(["bi", "brief"]),
    deps=[BI_RELEASE_KEY],
    group_name="bi",
    description="The brief: one self-contained HTML file (PIPELINE_BI_DIR/brief.html) with the current release's "
    "findings, the accounts to act on and its charts, for people without Power BI (pipeline/publish/brief.py).",
)
def brief(warehouse: WarehouseResource, bi: BiLayerResource) -> dg.MaterializeResult:
    from pipeline.insight.headlines import headlines
    from pipeline.publish.brief import BRIEF, build_brief

    bi_dir = Path(bi.path)
    release = current_release(bi_dir)
    if release is None:
        raise dg.Failure(description=f"no complete release in {bi_dir}: the brief describes one")
    with warehouse.connect(read_only=True) as conn:
        findings = headlines(conn)
    written = build_brief(release.path, findings, bi_dir / BRIEF)
    return dg.MaterializeResult(
        metadata={
            "brief": dg.MetadataValue.path(str(written.path)),
            "release_id": release.release_id,
            "charts": written.charts,
            "withheld": dg.MetadataValue.json(written.withheld),
            "bytes": written.bytes,
        }
    )


bi_assets = [bi_release, powerbi_project, brief]
