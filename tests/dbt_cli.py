"""Running the pipeline's dbt command on the project, with target and logs in a test's temporary folder."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from pipeline.dbt import DBT_COMMAND, DBT_PROJECT_DIR, shared_partial_parse


def run_dbt(args: list[str], env: dict[str, str], work: Path) -> subprocess.CompletedProcess:
    dbt_vars = json.loads(args[args.index("--vars") + 1]) if "--vars" in args else {}
    with shared_partial_parse(work / "target", dbt_vars, env.get("DBT_TARGET"), env.get("PIPELINE_WAREHOUSE_PATH")):
        return subprocess.run(
            [
                str(DBT_COMMAND),
                *args,
                "--profiles-dir",
                ".",
                "--target-path",
                str(work / "target"),
                "--log-path",
                str(work / "logs"),
            ],
            cwd=DBT_PROJECT_DIR,
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            check=False,
        )
