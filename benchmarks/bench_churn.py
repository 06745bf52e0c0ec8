"""Benchmark: train the churn model and score the newest snapshot month on a built warehouse.

    python benchmarks/bench_churn.py --warehouse /var/tmp/bench/pipeline.duckdb --name 100000x36

Each phase runs in its own process (wall time and peak RSS of that process); results go to
benchmarks/results/churn-<name>.json. The warehouse must hold marts.feat_account_snapshot (dbt build).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TRAIN = """
import sys, duckdb
from pipeline.churn import features, lifecycle, store, training
conn = duckdb.connect(sys.argv[1], read_only=True)
frame = features.validate_features(features.load_feature_table(conn))
outcome = lifecycle.train_and_register(frame, training.TrainingConfig(), store.ModelStore(sys.argv[2]), "bench")
print(outcome.version, outcome.result.chosen, outcome.result.best.metrics["roc_auc"], len(frame))
"""

SCORE = """
import sys, duckdb, pandas as pd
from pipeline.churn import features, scoring, store
conn = duckdb.connect(sys.argv[1], read_only=True)
month = str(conn.execute("select max(snapshot_month) from marts.feat_account_snapshot").fetchall()[0][0])
frame = features.validate_features(features.load_feature_table(conn, [month]))
models = store.ModelStore(sys.argv[2])
champion = models.load_champion()
scores = scoring.score_snapshot(champion, frame, models.reference(champion.version), pd.Timestamp.now())
print(month, len(scores))
"""


def run_phase(code: str, *args: str) -> dict:
    started = time.perf_counter()
    completed = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(completed.stderr)
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {
        "seconds": round(elapsed, 1),
        "peak_rss_gib_so_far": round(peak_kib / 2**20, 2),
        "output": completed.stdout.strip(),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--warehouse", required=True)
    parser.add_argument("--name", required=True)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as models:
        train = run_phase(TRAIN, args.warehouse, models)
        score = run_phase(SCORE, args.warehouse, models)
    result = {
        "train": train,
        "score": score,
        "total_seconds": round(train["seconds"] + score["seconds"], 1),
        "peak_rss_gib": score["peak_rss_gib_so_far"],
        "targets": {"total_seconds": 300, "peak_rss_gib": 4},
    }
    out = Path(__file__).parent / "results" / f"churn-{args.name}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
