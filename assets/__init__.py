"""Thin Dagster asset definitions, one module per stage of the graph."""

import warnings

import dagster as dg

# Every asset has a single-run backfill policy (pipeline.resources.ONE_RUN, so `dg launch --partition-range`
# runs whole jobs); Dagster marks the parameter beta and would warn once per asset on every load.
warnings.filterwarnings("ignore", message=r"Parameter `backfill_policy`", category=dg.BetaWarning)
