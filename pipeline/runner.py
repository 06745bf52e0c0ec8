"""Run one stage of the pipeline in this process, outside the Dagster daemon: the benchmarks and the
crash-safety trials use it (``python -m pipeline.runner <stage>``), the same assets the jobs run.

Stages, in order: ``ingest`` (landing files into raw), ``dbt`` (every model not fed by the analyses, the
monthly facts and features over ``--months``), ``train`` (the churn model), ``score`` (the newest month,
the analyses, and the marts they feed), ``publish`` (the gated BI release and the Power BI project).

``--job daily_refresh`` runs a whole job instead, in one process and one run as its schedule starts it
(the refresh window of monthly partitions unless ``--months`` is given; ``score_month`` the newest month
of the data), and prints each step's seconds.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections.abc import Mapping
from typing import Any

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
    with _instance() if instance is None else contextlib.nullcontext(instance) as active:
        return dg.materialize(
            list(defs.assets or []),  # type: ignore[arg-type]  # the definitions hold no cacheable assets
            selection=stage_selection(stage),
            resources=resources_from(settings),
            instance=active,
            partition_key=partition,
            tags=dict(stage_tags(stage, months)),
            raise_on_error=raise_on_error,
        )


def _instance() -> contextlib.AbstractContextManager[dg.DagsterInstance]:
    """The deployment's Dagster instance when DAGSTER_HOME names one (its runs and materialisations are
    kept there, as the daemon's would be), else a throwaway one."""
    if os.environ.get("DAGSTER_HOME"):
        return dg.DagsterInstance.get()
    return dg.instance_for_test()


def run_job(
    name: str, settings=None, months: tuple[str, str] | None = None
) -> tuple[dg.ExecuteInProcessResult, dict[str, float]]:
    """One job of the definitions, run as its schedule runs it: the job's own selection and executor, the
    monthly partitions of the refresh window (or ``months``). Returns the result and each step's seconds;
    with DAGSTER_HOME set, the run is recorded in that instance."""
    from assets.partitions import account_months
    from pipeline.config import Settings
    from pipeline.definitions import defs
    from pipeline.orchestration import partition_range_tags, refresh_window, scheduled_refresh_tags

    settings = settings or Settings.from_env()
    if name == "score_month":
        # The month just closed, as the monthly schedule asks for it: here the newest month of the data.
        from pipeline.cli import newest_snapshot_month

        run_options: dict[str, Any] = {"partition_key": newest_snapshot_month(settings)}
    elif months:
        run_options = {"tags": partition_range_tags(*months)}
    elif name == "ingest":
        run_options = {}
    else:
        start, end = refresh_window(account_months.get_partition_keys(), settings.refresh_months)
        run_options = {"tags": scheduled_refresh_tags(start, end, settings.refresh_months)}
    with _instance() as instance:
        result = defs.resolve_job_def(name).execute_in_process(instance=instance, raise_on_error=False, **run_options)
        started: dict[str, float] = {}
        seconds: dict[str, float] = {}
        for entry in instance.all_logs(result.run_id):
            event = entry.dagster_event
            if event is None or event.step_key is None:
                continue
            if event.event_type == dg.DagsterEventType.STEP_START:
                started[event.step_key] = entry.timestamp
            elif event.event_type in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE):
                seconds[event.step_key] = round(entry.timestamp - started[event.step_key], 2)
    return result, seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.runner", description=__doc__)
    # No argparse choices: with nargs="*" Python 3.11 rejects the empty list against them.
    parser.add_argument("stages", nargs="*", metavar="STAGE", help=f"one or more of {', '.join(STAGES + EXTRA_STAGES)}")
    parser.add_argument("--months", nargs=2, metavar=("FIRST", "LAST"), help="dbt: a range of monthly partitions")
    parser.add_argument("--job", help="run this job of the definitions instead of stages (e.g. daily_refresh)")
    args = parser.parse_args(argv)
    if args.job:
        if args.stages:
            parser.error("give either stages or --job, not both")
        started = time.perf_counter()
        result, steps = run_job(args.job, months=tuple(args.months) if args.months else None)
        print("STEPS " + json.dumps(steps), flush=True)
        materialised = sorted(
            {e.asset_key.to_user_string() for e in result.get_asset_materialization_events() if e.asset_key}
        )
        print("MATERIALISED " + json.dumps(materialised), flush=True)
        if not result.success:
            print(f"job {args.job} failed", file=sys.stderr)
            return 1
        print(f"job {args.job} succeeded in {time.perf_counter() - started:.2f} s", flush=True)
        return 0
    if not args.stages:
        parser.error("name at least one stage, or --job")
    unknown = [s for s in args.stages if s not in STAGES + EXTRA_STAGES]
    if unknown:
        parser.error(f"unknown stage {unknown[0]!r}: one of {', '.join(STAGES + EXTRA_STAGES)}")
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
