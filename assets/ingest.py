"""Ingest assets: one per contract entity, landing files -> ``raw.<source>__<entity>`` in DuckDB.

Thin wiring only: :func:`pipeline.ingest.loader.ingest_entity` does the work.
"""

from pathlib import Path

import dagster as dg

from pipeline.contract import CONTRACTS, EntityContract
from pipeline.ingest.landing import LandingFileNameError
from pipeline.ingest.loader import QuarantineThresholdExceeded, ingest_entity, reconcile
from pipeline.ingest.mapping import MappingError
from pipeline.ingest.readers import UnreadableFileError
from pipeline.ingest.report import files_markdown, preview_markdown
from pipeline.resources import ONE_RUN, WAREHOUSE_POOL, LandingZoneResource, WarehouseResource


def ingest_asset_key(contract: EntityContract) -> dg.AssetKey:
    return dg.AssetKey(["raw", contract.table])


def build_ingest_asset(contract: EntityContract) -> dg.AssetsDefinition:
    @dg.asset(
        backfill_policy=ONE_RUN,
        key=ingest_asset_key(contract),
        group_name="ingest",
        kinds={"duckdb"},
        pool=WAREHOUSE_POOL,
        description=f"{contract.description} Landing folder `{contract.source}/`, {contract.kind} drops "
        f"named `{contract.entity}_<YYYYMMDD>.<csv|parquet|xlsx>` or as a source mapping routes them; "
        f"key {', '.join(contract.key)}.",
        metadata={"landing_folder": contract.source, "drop_kind": contract.kind, "key": ", ".join(contract.key)},
    )
    def _ingest(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource, landing_zone: LandingZoneResource
    ) -> dg.MaterializeResult:
        with warehouse.connect() as conn:
            try:
                result = ingest_entity(
                    conn,
                    contract,
                    Path(landing_zone.path),
                    context.run.run_id,
                    max_quarantine_share=landing_zone.max_quarantine_share,
                    tmp_dir=warehouse.scratch_dir,
                    mappings_dir=Path(landing_zone.mappings_path) if landing_zone.mappings_path else None,
                )
            except (UnreadableFileError, QuarantineThresholdExceeded, LandingFileNameError, MappingError) as error:
                raise dg.Failure(description=str(error), allow_retries=False) from error
            preview = preview_markdown(conn, contract, context.run.run_id)
        for name in result.not_understood:
            context.log.warning(
                f"{name}: not a drop of any known entity (expected <entity>_<YYYYMMDD>.<ext>, or a name a source "
                "mapping's pattern matches: `pipeline inspect` drafts one)"
            )
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": dg.MetadataValue.int(result.table_rows),
                "rows_read": dg.MetadataValue.int(result.rows_read),
                "rows_loaded": dg.MetadataValue.int(result.rows_loaded),
                "rows_quarantined": dg.MetadataValue.int(result.rows_quarantined),
                "files_loaded": dg.MetadataValue.int(len(result.loaded)),
                "files_unchanged": dg.MetadataValue.int(result.files_unchanged),
                "files": dg.MetadataValue.md(files_markdown(result)),
                "quarantine_by_check": dg.MetadataValue.json(result.quarantine_by_check),
                "files_not_understood": dg.MetadataValue.json(result.not_understood),
                "preview": dg.MetadataValue.md(preview),
                "table": dg.MetadataValue.text(result.table),
            }
        )

    return _ingest


def build_reconciliation_check(contract: EntityContract) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=ingest_asset_key(contract),
        name="rows_reconcile_with_ledger",
        blocking=True,
        description="Raw rows equal the rows the ledger says were loaded, and read = loaded + quarantined.",
    )
    def _check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        with warehouse.connect() as conn:
            counts = reconcile(conn, contract)
        return dg.AssetCheckResult(
            passed=counts.holds,
            metadata={
                "table_rows": counts.table_rows,
                "ledger_rows_loaded": counts.ledger_rows_loaded,
                "ledger_rows_read": counts.ledger_rows_read,
                "ledger_rows_quarantined": counts.ledger_rows_quarantined,
            },
        )

    return _check


ingest_assets = [build_ingest_asset(contract) for contract in CONTRACTS]
ingest_checks = [build_reconciliation_check(contract) for contract in CONTRACTS]
