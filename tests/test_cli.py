"""The `pipeline` command as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def _pipeline(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_generate_writes_the_landing_zone_and_the_truth_beside_it(tmp_path: Path):
    landing = tmp_path / "company" / "landing"
    result = _pipeline("generate", "--accounts", "200", "--months", "12", "--seed", "3", "--out", str(landing), env={})
    assert result.returncode == 0, result.stderr
    assert {p.name for p in landing.iterdir()} == {"crm", "survey", "finance"}
    assert (tmp_path / "company" / "truth" / "churn_probabilities.parquet").exists()
    assert not (landing / "truth").exists()  # never inside the landing zone
    assert "accounts" in result.stdout


def test_generate_refuses_sizes_outside_the_supported_range(tmp_path: Path):
    result = _pipeline("generate", "--accounts", "10", "--out", str(tmp_path / "landing"), env={})
    assert result.returncode != 0
    assert "200" in result.stderr
