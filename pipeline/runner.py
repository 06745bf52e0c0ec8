"""Run one stage of the pipeline in this process, outside the Dagster daemon: the benchmarks and the
crash-safety trials use it (``python -m pipeline.runner <stage>``), the same assets the jobs run.

Stages, in order: ``ingest`` (landing files into raw), ``dbt`` (every model not fed by the analyses, the
monthly facts and features over ``--months``), ``train`` (the churn model), ``score`` (the newest month,
the analyses, and the marts they feed), ``publish`` (the gated BI release and the Power BI project).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Mapping

import dagster as dg

STAGES = ("ingest", "dbt", "train", "score", "publish")
# Not part of a full run: the daily refresh's middle part, the analyses and the marts they feed, with the
# scores already there (no scoring: a day in an open month has no closed month to score).
EXTRA_STAGES = ("analyses",)


def stage_selection(stage: str):
    """The asset selection of a stage (a Dagster AssetSelection over the whole graph)."""
    from assets.bi import bi_assets
    from assets.churn import churn_model, churn_scores
    from assets.insight import insight_assets
    from assets.warehouse import models_on_monthly_facts, monthly_models, scored_models, warehouse_models

    selections = {
        "ingest": dg.AssetSelection.groups("ingest"),
        "dbt": dg.AssetSelection.assets(warehouse_models, monthly_models, models_on_monthly_facts),
        "train": dg.AssetSelection.assets(churn_model),
        "score": dg.AssetSelection.assets(churn_scores, scored_models, *insight_assets),
        "analyses": dg.AssetSelection.assets(scored_models, *insight_assets),
        "publish": dg.AssetSelection.assets(*bi_assets),
    }
    if stage not in selections:
        raise ValueError(f"unknown stage {stage!r}: one of {', '.join(STAGES + EXTRA_STAGES)}")
    return selections[stage]


def stage_tags(stage: str, months: tuple[str, str] | None = None) -> Mapping[str, str]:
    """The dbt stage runs over a range of monthly partitions (all of them unless ``months`` is given)."""
    from assets.partitions import account_months
    from pipeline.orchestration import full_range_tags, partition_range_tags

    if stage != "dbt":
        return {}
    return partition_range_tags(*months) if months else full_range_tags(account_months)


def run_stage(
    stage: str,
    settings=None,
    instance: dg.DagsterInstance | None = None,
    months: tuple[str, str] | None = None,
    raise_on_error: bool = True,
) -> dg.ExecuteInProcessResult:
    from pipeline.cli import newest_snapshot_month
    from pipeline.config import Settings
    from pipeline.resources import resources_from

    settings = settings or Settings.from_env()
    from pipeline.definitions import defs

    partition = newest_snapshot_month(settings) if stage == "score" else None
    print(f"stage {stage} starting", flush=True)  # the crash trials start their clock here
    with dg.instance_for_test() if instance is None else contextlib.nullcontext(instance) as active:
        return dg.materialize(
            list(defs.assets),
            selection=stage_selection(stage),
            resources=resources_from(settings),
            instance=active,
            partition_key=partition,
            tags=dict(stage_tags(stage, months)),
            raise_on_error=raise_on_error,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.runner", description=__doc__)
    parser.add_argument("stages", nargs="+", choices=STAGES + EXTRA_STAGES)
    parser.add_argument("--months", nargs=2, metavar=("FIRST", "LAST"), help="dbt: a range of monthly partitions")
    args = parser.parse_args(argv)
    for stage in args.stages:
        started = time.perf_counter()
        result = run_stage(stage, months=tuple(args.months) if args.months else None, raise_on_error=False)
        if not result.success:
            print(f"stage {stage} failed", file=sys.stderr)
            return 1
        print(f"stage {stage} succeeded in {time.perf_counter() - started:.2f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
