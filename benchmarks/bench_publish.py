"""Benchmark: publish a built warehouse's marts to the BI layer, against the references.

    python benchmarks/bench_publish.py --warehouse /var/tmp/bench/pipeline.duckdb --name 100000x36

Phases, each in its own process (wall time and that process's peak RSS):
- ``parquet_publish``: pipeline.publish.parquet (release folder, manifest, checksums, atomic switch);
- ``parquet_reference``: DuckDB's own ``COPY (select * from marts.x) TO 'x.parquet'`` for the same tables;
- ``quality``: the Great Expectations suites on every published table (DataFrames, as the gate runs them);
- ``postgres_publish``: pipeline.publish.postgres (COPY into staging, swap, grants) on a throwaway cluster;
- ``postgres_reference``: a plain ``COPY ... FROM STDIN`` of the same CSV into plain tables.
Results: benchmarks/results/publish-<name>.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PARQUET = """
import sys, duckdb
from pathlib import Path
from pipeline.publish.parquet import publish_parquet
from pipeline.publish.tables import published_tables
conn = duckdb.connect(sys.argv[1], read_only=True)
conn.execute("set enable_progress_bar = false")
tables = published_tables(conn)
release = publish_parquet(conn, tables, Path(sys.argv[2]), "bench-0000-run")
print(len(tables), sum(e["rows"] for e in release.manifest["tables"].values()))
"""

PARQUET_REFERENCE = """
import sys, duckdb
from pathlib import Path
from pipeline.publish.tables import published_tables
conn = duckdb.connect(sys.argv[1], read_only=True)
conn.execute("set enable_progress_bar = false")
out = Path(sys.argv[2]); out.mkdir(parents=True, exist_ok=True)
for t in published_tables(conn):
    conn.execute(f"copy (select * from marts.{t.name}) to '{out / (t.name + '.parquet')}' (format parquet)")
print("ok")
"""

QUALITY = """
import sys, duckdb
from pipeline import quality
from pipeline.quality import inputs
from pipeline.publish.tables import published_tables
conn = duckdb.connect(sys.argv[1], read_only=True)
conn.execute("set enable_progress_bar = false")
names = [t.name for t in published_tables(conn)]
frames = inputs.read_frames(conn, names)
suites = quality.build_suites(sys.argv[2], None, inputs.reporting_date(conn))
report = quality.validate_frames({n: f for n, f in frames.items() if n in suites}, suites, None)
print(report.success, sum(len(f) for f in frames.values()))
"""

POSTGRES = """
import sys, duckdb
from pipeline.publish.postgres import publish_postgres
from pipeline.publish.tables import published_tables
conn = duckdb.connect(sys.argv[1], read_only=True)
conn.execute("set enable_progress_bar = false")
counts = publish_postgres(conn, published_tables(conn), sys.argv[2], "bench-0000-run")
print(sum(counts.values()))
"""

POSTGRES_REFERENCE = """
import sys, duckdb, psycopg, tempfile
from pathlib import Path
from pipeline.publish.postgres import pg_type
from pipeline.publish.tables import published_tables
conn = duckdb.connect(sys.argv[1], read_only=True)
conn.execute("set enable_progress_bar = false")
with psycopg.connect(sys.argv[2]) as pg, tempfile.TemporaryDirectory() as scratch:
    pg.execute("drop schema if exists plain cascade"); pg.execute("create schema plain")
    for t in published_tables(conn):
        cols = ", ".join(f'"{c}" {pg_type(ty)}' for c, ty in t.columns)
        pg.execute(f"create table plain.{t.name} ({cols})")
        path = Path(scratch) / f"{t.name}.csv"
        conn.execute(f"copy (select * from marts.{t.name}) to '{path}' (format csv, header false)")
        with pg.cursor().copy(f"copy plain.{t.name} from stdin with (format csv)") as copy, open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                copy.write(block)
    pg.commit()
print("ok")
"""


def run_phase(code: str, *args: str) -> dict:
    wrapper = (
        "import resource, runpy, sys\n"
        f"exec(compile({code!r}, 'phase', 'exec'))\n"
        "print('PEAK_KIB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-c", wrapper, *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[1],
    )
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(completed.stderr[-3000:])
    lines = completed.stdout.strip().splitlines()
    peak = int(next(line.split()[1] for line in lines if line.startswith("PEAK_KIB")))
    return {
        "seconds": round(elapsed, 1),
        "peak_rss_gib": round(peak / 2**20, 2),
        "output": " ".join(line for line in lines if not line.startswith("PEAK_KIB")),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--warehouse", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument(
        "--manifest", default=str(Path(__file__).resolve().parents[1] / "dbt_project/target/manifest.json")
    )
    parser.add_argument("--skip-quality", action="store_true")
    args = parser.parse_args()
    from tests.postgres_server import ThrowawayCluster

    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="bench-publish-", dir="/var/tmp") as work:
        work_dir = Path(work)
        results["parquet_publish"] = run_phase(PARQUET, args.warehouse, str(work_dir / "bi"))
        results["parquet_reference"] = run_phase(PARQUET_REFERENCE, args.warehouse, str(work_dir / "plain"))
        if not args.skip_quality:
            results["quality"] = run_phase(QUALITY, args.warehouse, args.manifest)
        cluster = ThrowawayCluster()
        server = cluster.start()
        try:
            results["postgres_publish"] = run_phase(POSTGRES, args.warehouse, server.url)
            results["postgres_reference"] = run_phase(POSTGRES_REFERENCE, args.warehouse, server.url)
        finally:
            cluster.stop()
    out = Path(__file__).resolve().parent / "results" / f"publish-{args.name}.json"
    out.write_text(json.dumps({"name": args.name, "warehouse": args.warehouse, "phases": results}, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
