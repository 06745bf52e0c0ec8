"""Scale benchmark: the whole pipeline on tiers S, M and L, stage by stage, plus an incremental run.

    python benchmarks/bench_scale.py                       # S, M, L (2,000 / 20,000 / 100,000 accounts)
    python benchmarks/bench_scale.py --tiers S --work /var/tmp/scale

For each tier (36 months): generate, ingest, dbt build, train, score, publish, each in its own process
(``python -m pipeline.runner``, the same assets the jobs run): wall time, peak memory of the stage's
process and of its children (dbt), rows and rows per second. Then, on the largest tier, an incremental
run as the daily refresh does it: one new day of events dropped into the landing zone, then the
``daily_refresh`` job in one process, as its schedule runs it (ingest, the dbt build with the monthly
models over the refresh window of 13 months, the analyses and the marts they feed, and publishing),
against the full run. ``--incremental-only`` repeats just that on the results file's largest tier.

Results: benchmarks/results/scale.json and benchmarks/results/scale.png. Growth exponent from M to L per
stage: log(t_L / t_M) / log(rows_L / rows_M) (1.0 = linear).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import duckdb

from pipeline.demo.new_day import drop_one_new_day

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
TIERS = {"S": 2_000, "M": 20_000, "L": 100_000}
STAGES = ("ingest", "dbt", "train", "score", "publish")

# Runs a command and reports its peak memory: the process itself and its children (dbt) separately.
MEASURED = """
import json, os, resource, runpy, sys, threading, time

# The whole process tree's resident memory, sampled: a JVM that pyspark starts inside a dbt process is never
# waited for, so getrusage's children figure leaves it out.
def tree_bytes():
    children = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as stat:
                    children.setdefault(int(stat.read().rsplit(")", 1)[1].split()[1]), []).append(int(name))
            except (OSError, IndexError, ValueError):
                pass
    total, todo = 0, [os.getpid()]
    while todo:
        pid = todo.pop()
        try:
            with open(f"/proc/{pid}/statm") as statm:
                total += int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except OSError:
            pass
        todo += children.get(pid, [])
    return total

tree_peak = [0]
def sample():
    while True:
        tree_peak[0] = max(tree_peak[0], tree_bytes())
        time.sleep(0.5)

threading.Thread(target=sample, daemon=True).start()
sys.argv = sys.argv[1:]
code = 0
try:
    runpy.run_module(sys.argv[0], run_name="__main__")
except SystemExit as exit:
    code = exit.code or 0
usage = {"self_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
         "children_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
         "tree_kib": tree_peak[0] // 1024}
print("PEAK " + json.dumps(usage), flush=True)
sys.exit(code)
"""


def measure(home: Path, module: str, *args: str, engine: str = "duckdb") -> dict:
    env = {**os.environ, "PIPELINE_HOME": str(home), "PYTHONUNBUFFERED": "1", "PIPELINE_ENGINE": engine}
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-c", MEASURED, module, *args], cwd=REPO, env=env, capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"{module} {' '.join(args)} failed:\n{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}")
    peak = json.loads(next(line[5:] for line in completed.stdout.splitlines() if line.startswith("PEAK ")))
    steps = [json.loads(line[6:]) for line in completed.stdout.splitlines() if line.startswith("STEPS ")]
    return {
        **({"steps": steps[0]} if steps else {}),
        "seconds": round(seconds, 1),
        "peak_gib": round(max(peak["self_kib"], peak["children_kib"]) / 2**20, 2),
        "peak_gib_process": round(peak["self_kib"] / 2**20, 2),
        "peak_gib_children": round(peak["children_kib"] / 2**20, 2),
        # Every process of the stage at once (sampled every 0.5 s), Spark's JVM included.
        "peak_gib_tree": round(peak["tree_kib"] / 2**20, 2),
    }


def _count(conn: duckdb.DuckDBPyConnection, sql: str) -> int:
    return int(conn.execute(sql).fetchall()[0][0] or 0)


def stage_rows(home: Path) -> dict[str, int]:
    """The rows each stage handles: landing rows (generate, ingest), raw rows read (dbt), labelled
    snapshots (train), accounts scored (score), rows published (publish)."""
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        raw_tables = [
            r[0] for r in conn.execute("select table_name from duckdb_tables() where schema_name = 'raw'").fetchall()
        ]
        raw = sum(_count(conn, f"select count(*) from raw.{t}") for t in raw_tables)
        labelled = _count(conn, "select count(*) from marts.feat_account_snapshot where churned_within_6m is not null")
        scored = _count(
            conn,
            "select count(*) from ml.churn_scores "
            "where snapshot_month = (select max(snapshot_month) from ml.churn_scores)",
        )
    manifest = json.loads((home / "bi" / "current" / "_manifest.json").read_text())
    published = sum(t["rows"] for t in manifest["tables"].values())
    return {"generate": raw, "ingest": raw, "dbt": raw, "train": labelled, "score": scored, "publish": published}


def run_tier(name: str, accounts: int, work: Path, engine: str = "duckdb", landing_from: Path | None = None) -> dict:
    """One tier's full run on one engine; ``landing_from``: a home whose generated company to copy rather than
    generate again (the same files; its generate stage is reported)."""
    home = work / name if engine == "duckdb" else work / f"{name}-{engine}"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    print(f"[{name}, {engine}] {accounts:,} accounts x 36 months in {home}", flush=True)
    if landing_from is None:
        generate = measure(home, "pipeline.cli", "generate", "--accounts", str(accounts), "--months", "36")
    else:
        for folder in ("landing", "truth"):
            shutil.copytree(landing_from / folder, home / folder)
        generate = {"seconds": 0.0, "peak_gib": 0.0, "peak_gib_tree": 0.0, "copied_from": str(landing_from)}
    stages = {"generate": generate}
    for stage in STAGES:
        stages[stage] = measure(home, "pipeline.runner", stage, engine=engine)
        print(
            f"[{name}, {engine}] {stage}: {stages[stage]['seconds']} s, {stages[stage]['peak_gib_tree']} GiB (tree)",
            flush=True,
        )
    for stage, rows in stage_rows(home).items():
        stages[stage]["rows"] = rows
        stages[stage]["rows_per_second"] = round(rows / max(stages[stage]["seconds"], 0.01))
    total = sum(s["seconds"] for s in stages.values())
    return {
        "accounts": accounts,
        "months": 36,
        "engine": engine,
        "stages": stages,
        "total_seconds": round(total, 1),
        "pipeline_seconds": round(sum(stages[stage]["seconds"] for stage in STAGES), 1),
        "peak_gib": max(s["peak_gib"] for s in stages.values()),
        "peak_gib_tree": max(s.get("peak_gib_tree", 0.0) for s in stages.values()),
        "home": str(home),
    }


# The daily refresh's steps, by the stage of a full run they repeat.
INCREMENTAL_STAGES = {
    "ingest": lambda step: step.startswith("raw__"),
    "dbt": lambda step: step in ("warehouse_models", "monthly_models", "models_on_monthly_facts"),
    "analyses": lambda step: step in ("scored_models", "account_segments") or step.startswith("insight__"),
    "publish": lambda step: step.startswith("bi__"),
}


def run_incremental(tier: dict, refresh_months: int = 13) -> dict:
    """One new day, then the ``daily_refresh`` job as its schedule runs it: one process, one run (the
    definitions' in-process executor), the monthly models over the refresh window. The stages are its
    steps' seconds summed; ``start-up`` is the rest (imports, the run's set-up, between steps)."""
    home = Path(tier["home"])
    engine = tier.get("engine", "duckdb")
    rows = drop_one_new_day(home)
    print(f"[incremental, {engine}] new day dropped: {rows}", flush=True)
    from assets.partitions import account_months
    from pipeline.orchestration import refresh_window

    start, end = refresh_window(account_months.get_partition_keys(), refresh_months)
    job = measure(home, "pipeline.runner", "--job", "daily_refresh", "--months", start, end, engine=engine)
    steps = job.pop("steps")
    stages = {
        stage: {"seconds": round(sum(t for step, t in steps.items() if belongs(step)), 1)}
        for stage, belongs in INCREMENTAL_STAGES.items()
    }
    stages["start-up"] = {"seconds": round(job["seconds"] - sum(s["seconds"] for s in stages.values()), 1)}
    return {
        "on_tier_accounts": tier["accounts"],
        "new_rows": rows,
        "monthly_partitions_rebuilt": [start, end],
        "run": "the daily_refresh job in one process, as scheduled",
        "stages": stages,
        "steps": steps,
        "peak_gib": job["peak_gib"],
        "peak_gib_tree": job["peak_gib_tree"],
        "total_seconds": job["seconds"],
        "share_of_full_run": round(job["seconds"] / tier["total_seconds"], 3),
    }


def growth(small: dict, large: dict) -> dict[str, float]:
    exponents = {}
    for stage in ("generate", *STAGES):
        s, l_ = small["stages"][stage], large["stages"][stage]
        if s.get("rows") and l_.get("rows") and l_["rows"] != s["rows"]:
            exponents[stage] = round(math.log(l_["seconds"] / s["seconds"]) / math.log(l_["rows"] / s["rows"]), 2)
    rows_small, rows_large = small["stages"]["ingest"]["rows"], large["stages"]["ingest"]["rows"]
    exponents["total"] = round(
        math.log(large["total_seconds"] / small["total_seconds"]) / math.log(rows_large / rows_small), 2
    )
    return exponents


def chart(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tiers = list(results["tiers"])
    labels = [f"{t}\n{results['tiers'][t]['accounts']:,}" for t in tiers]
    stages = ("generate", *STAGES, "analyses", "start-up")
    bars = [results["tiers"][t]["stages"] for t in tiers]
    peaks = [max(s["peak_gib"] for s in b.values()) for b in bars]
    if results.get("incremental"):
        labels.append("L + 1 day\n(incremental)")
        bars.append(results["incremental"]["stages"])
        peaks.append(results["incremental"]["peak_gib"])
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8))
    bottom = [0.0] * len(bars)
    for stage in stages:
        heights = [b.get(stage, {}).get("seconds", 0) / 60 for b in bars]
        left.bar(labels, heights, bottom=bottom, label=stage)
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    left.axhline(10, color="red", linestyle="--", linewidth=1, label="L target (10 min)")
    left.set_ylabel("wall time (minutes)")
    left.set_title("Wall time by stage")
    left.legend(fontsize=8)
    right.bar(labels, peaks, color="tab:gray")
    right.axhline(6, color="red", linestyle="--", linewidth=1, label="target (6 GiB)")
    right.set_ylabel("peak memory of any stage (GiB)")
    right.set_title("Peak memory")
    right.legend(fontsize=8)
    fig.suptitle(f"Account intelligence pipeline, 36 months, {results['machine']}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def compare_engines(args: argparse.Namespace) -> None:
    work = Path(args.work)
    tiers = [t.strip() for t in args.tiers.split(",") if t.strip()]
    if len(tiers) != 1:
        raise SystemExit("--engines compares the engines on one tier: give one, e.g. --tiers M")
    (name,) = tiers
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    results: dict = {
        "measured_on": date.today().isoformat(),
        "machine": f"{os.cpu_count()} cores, {memory_gib:.0f} GiB",
    }
    runs: dict = {}
    for engine in engines:
        first = next(iter(runs.values()), None)
        runs[engine] = run_tier(name, TIERS[name], work, engine, Path(first["home"]) if first else None)
    if not args.no_incremental:
        for tier in runs.values():
            tier["incremental"] = run_incremental(tier)
    results["engines"] = runs
    out = Path(args.out if args.out != str(RESULTS / "scale.json") else RESULTS / "engines.json")
    out.write_text(json.dumps(results, indent=2) + "\n")
    for engine, tier in runs.items():
        stages = ", ".join(
            f"{stage} {tier['stages'][stage]['seconds']} s / {tier['stages'][stage]['peak_gib_tree']} GiB"
            for stage in STAGES
        )
        refresh = tier.get("incremental", {}).get("total_seconds")
        print(
            f"{name} on {engine}: {tier['pipeline_seconds']:.0f} s ({stages}), peak {tier['peak_gib_tree']} GiB; "
            f"daily refresh {refresh} s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiers", default="S,M,L")
    parser.add_argument("--work", default="/var/tmp/account-intelligence-scale")
    parser.add_argument("--no-incremental", action="store_true")
    parser.add_argument(
        "--incremental-only",
        action="store_true",
        help="only the incremental run, on the largest tier of the results file (its home and full-run time)",
    )
    parser.add_argument("--out", default=str(RESULTS / "scale.json"))
    parser.add_argument(
        "--engines",
        help="compare engines on one tier, in one run (e.g. --tiers M --engines duckdb,spark): the same generated "
        "company through each, stage by stage, then a daily refresh on each; results in engines.json",
    )
    args = parser.parse_args()
    if args.engines:
        compare_engines(args)
        return
    if args.incremental_only:
        out = Path(args.out)
        results = json.loads(out.read_text())
        largest = max(results["tiers"].values(), key=lambda t: t["accounts"])
        results["incremental"] = run_incremental(largest)
        results["incremental"]["measured_on"] = date.today().isoformat()
        out.write_text(json.dumps(results, indent=2) + "\n")
        chart(results, out.with_suffix(".png"))
        print(json.dumps(results["incremental"], indent=2))
        return
    work = Path(args.work)
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    names = [t.strip() for t in args.tiers.split(",") if t.strip()]
    results = {
        "measured_on": date.today().isoformat(),
        "machine": f"{os.cpu_count()} cores, {memory_gib:.0f} GiB",
        "tiers": {name: run_tier(name, TIERS[name], work) for name in names},
    }
    if "M" in results["tiers"] and "L" in results["tiers"]:
        results["growth_exponent_m_to_l"] = growth(results["tiers"]["M"], results["tiers"]["L"])
    if not args.no_incremental:
        largest = max(results["tiers"].values(), key=lambda t: t["accounts"])
        results["incremental"] = run_incremental(largest)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    chart(results, out.with_suffix(".png"))
    print(json.dumps({k: v for k, v in results.items() if k != "tiers"}, indent=2))
    for name, tier in results["tiers"].items():
        print(f"{name}: {tier['total_seconds']:.0f} s, peak {tier['peak_gib']} GiB")


if __name__ == "__main__":
    main()
