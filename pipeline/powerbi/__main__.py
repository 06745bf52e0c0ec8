"""``python -m pipeline.powerbi OUT_DIR``: write the Power BI Project for the published marts into OUT_DIR.

Without ``--manifest`` it runs ``dbt parse`` (no warehouse needed) into a temporary folder and reads the
manifest from there. Details: docs/powerbi.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from pipeline.config import Settings
from pipeline.dbt import run_dbt
from pipeline.powerbi.tmdl import write_project


def parse_manifest(work: Path) -> Path:
    """Run ``dbt parse`` on the project with its target in ``work``; return the manifest path."""
    result = run_dbt(["parse"], {"DBT_TARGET": os.environ.get("DBT_TARGET", "duckdb")}, work)
    if result.returncode != 0:
        raise SystemExit(f"dbt parse failed:\n{result.stdout}\n{result.stderr}")
    return work / "target" / "manifest.json"


def _default_server() -> str:
    """PIPELINE_PG_HOST[:PIPELINE_PG_PORT], as the pipeline itself connects (a port other than 5432 is kept)."""
    host = os.environ.get("PIPELINE_PG_HOST", "localhost")
    port = os.environ.get("PIPELINE_PG_PORT", "5432")
    return host if port == "5432" else f"{host}:{port}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.powerbi", description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path, help="folder to write <name>.pbip and its folders into")
    parser.add_argument("--manifest", type=Path, help="dbt manifest.json (default: run dbt parse)")
    parser.add_argument("--name", default="AccountIntelligence", help="project name (default: %(default)s)")
    parser.add_argument(
        "--parquet-folder",
        help="default of the ParquetFolder parameter (default: the current folder of PIPELINE_BI_DIR)",
    )
    parser.add_argument("--postgres-server", default=_default_server(), help="host or host:port (default: %(default)s)")
    parser.add_argument(
        "--postgres-database",
        default=os.environ.get("PIPELINE_PG_DATABASE", "warehouse"),
        help="(default: %(default)s)",
    )
    args = parser.parse_args(argv)

    parquet_folder = args.parquet_folder or str(Settings.from_env().bi_dir / "current")
    with tempfile.TemporaryDirectory(prefix="pbip-dbt-") as work:
        manifest = args.manifest or parse_manifest(Path(work))
        pbip, report = write_project(
            manifest,
            args.out_dir,
            args.name,
            parquet_folder=parquet_folder,
            postgres_server=args.postgres_server,
            postgres_database=args.postgres_database,
        )
    print(pbip)
    if not report.written:
        print(f"report not regenerated: {report.reason}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
