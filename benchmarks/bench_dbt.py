"""dbt benchmark: `dbt run` / `dbt build` of every model against the same SQL run directly in DuckDB.

    python benchmarks/bench_dbt.py --warehouse PATH_TO_INGESTED.duckdb [--work DIR]

Start from a warehouse whose raw schema is loaded (benchmarks/bench_ingest.py leaves one as
<work>/pipeline.duckdb). Each phase runs on its own copy of that file, in a fresh process, so peak
memory (ru_maxrss of the child) is per phase:
- reference: the compiled SQL of every model (dbt compile, no dbt at run time), executed in DAG order
  as CREATE VIEW / CREATE TABLE AS statements by DuckDB's Python client;
- dbt run: the same models through dbt;
- dbt build: models plus every data and unit test.
Prints one JSON document and writes it to benchmarks/results/dbt-<name>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DBT_DIR = ROOT / "dbt_project"
DBT = Path(sys.executable).parent / "dbt"


MEASURE = (
    "import resource, subprocess, sys; code = subprocess.call(sys.argv[1:]); "
    "print('PEAK_RSS_KIB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(code)"
)


def _child(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, str]:
    """Run a command in a fresh measuring process: (seconds, peak RSS MiB of the command, stdout)."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, *command], env=env, cwd=cwd, capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    peak_kib = int(done.stderr.rsplit("PEAK_RSS_KIB", 1)[1].split()[0])
    return elapsed, peak_kib / 1024, done.stdout


def run_compiled(warehouse: str, target_path: str) -> None:
    """Child process: execute the compiled SQL of every model in dependency order."""
    import duckdb

    manifest = json.loads((Path(target_path) / "manifest.json").read_text())
    nodes = {uid: n for uid, n in manifest["nodes"].items() if n["resource_type"] == "model"}
    order: list[str] = []
    seen: set[str] = set()

    def visit(uid: str) -> None:
        if uid in seen or uid not in nodes:
            return
        seen.add(uid)
        for parent in nodes[uid]["depends_on"]["nodes"]:
            visit(parent)
        order.append(uid)

    for uid in sorted(nodes):
        visit(uid)
    conn = duckdb.connect(warehouse, config={"memory_limit": os.environ.get("PIPELINE_DUCKDB_MEMORY_LIMIT", "2GB")})
    for uid in order:
        node = nodes[uid]
        sql = (Path(target_path) / "compiled" / node["package_name"] / node["original_file_path"]).read_text()
        conn.execute(f"create schema if not exists {node['schema']}")
        kind = "view" if node["config"]["materialized"] == "view" else "table"
        conn.execute(f"create or replace {kind} {node['relation_name']} as {sql}")
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--warehouse", required=True, help="a warehouse with the raw schema loaded")
    parser.add_argument("--work", help="folder for the copies (default: beside the warehouse)")
    parser.add_argument("--name", default=None, help="results file suffix (default: the work folder name)")
    parser.add_argument("--compiled", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.compiled:
        run_compiled(*args.compiled)
        return

    source = Path(args.warehouse).resolve()
    work = Path(args.work).resolve() if args.work else source.parent / "dbt-bench"
    work.mkdir(parents=True, exist_ok=True)
    report: dict[str, object] = {"warehouse": str(source), "warehouse_mib": round(source.stat().st_size / 2**20, 1)}

    for phase in ("reference", "dbt_run", "dbt_build"):
        folder = work / phase
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        copy = folder / source.name  # same file name: compiled SQL names the catalog after it
        shutil.copy(source, copy)
        env = {**os.environ, "PIPELINE_WAREHOUSE_PATH": str(copy), "DBT_TARGET": "duckdb"}
        target = folder / "target"
        flags = ["--profiles-dir", ".", "--target-path", str(target), "--log-path", str(folder / "logs")]
        if phase == "reference":
            _child([str(DBT), "compile", *flags, "--quiet"], env, DBT_DIR)
            elapsed, peak, _ = _child(
                [sys.executable, __file__, "--warehouse", str(copy), "--compiled", str(copy), str(target)], env, ROOT
            )
        else:
            command = "run" if phase == "dbt_run" else "build"
            elapsed, peak, _ = _child([str(DBT), command, *flags], env, DBT_DIR)
        report[phase] = {"seconds": round(elapsed, 2), "peak_rss_mib": round(peak, 1)}
        shutil.rmtree(folder, ignore_errors=True)

    report["run_vs_reference"] = round(report["dbt_run"]["seconds"] / report["reference"]["seconds"], 2)
    report["target"] = {"dbt_run_vs_compiled_sql_at_most": 1.5}
    results = ROOT / "benchmarks" / "results"
    results.mkdir(parents=True, exist_ok=True)
    name = args.name or work.parent.name
    (results / f"dbt-{name}.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
