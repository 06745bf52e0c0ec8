"""Rows and content hash of every mart, insight table and released Parquet table after a rebuild from raw.

The "no behaviour change" check of a refactoring: run it on a copy of a built company before and after the
change and compare the two JSON files (equal files: every published figure is the same).

    cp -r HOME /tmp/before && python benchmarks/rebuild_hashes.py /tmp/before before.json
    # change the code, then on a second copy of the same HOME:
    python benchmarks/rebuild_hashes.py /tmp/after after.json && diff before.json after.json

Staging, intermediate and marts are dropped first, so incremental models rebuild whole under the new code.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.reliability.safety import release_hashes, run_stages, warehouse_hashes


def main(home: Path, out: Path) -> None:
    with duckdb.connect(str(home / "warehouse.duckdb")) as conn:
        for schema in ("staging", "intermediate", "marts"):
            conn.execute(f"drop schema if exists {schema} cascade")
    run = run_stages(home, "dbt", "analyses", "publish")
    if run.returncode != 0:
        raise SystemExit(run.log[-4000:])
    hashes = {k: list(v) for k, v in warehouse_hashes(home / "warehouse.duckdb", ("marts", "insight")).items()}
    hashes.update({f"release:{k}": list(v) for k, v in release_hashes(home / "bi").items()})
    out.write_text(json.dumps(hashes, indent=1, sort_keys=True) + "\n")
    print(f"{len(hashes)} tables hashed into {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
