"""Running the dbt CLI of this venv on the project, with target and logs in a test's temporary folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pipeline.dbt import DBT_PROJECT_DIR


def run_dbt(args: list[str], env: dict[str, str], work: Path) -> subprocess.CompletedProcess:
    dbt = Path(sys.executable).parent / "dbt"
    return subprocess.run(
        [
            str(dbt),
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
