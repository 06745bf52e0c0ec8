"""Demo companies built once per test session and shared by every pytest-xdist worker.

The first worker that asks for a company builds it under a file lock in the session's shared temporary
folder; the others wait for the lock and read what it built. A built company is read-only: a test that
writes copies it first (``copy_company``). A worker that died half-way leaves no ``_built.json``: the next
one starts again from an empty folder.

``scheduled_month`` is the company the end-to-end, browser, reliability and quality tests share: the demo
company (400 accounts x 36 months, seed 7) run through the jobs as their schedules run them, each in its own
process with a DAGSTER_HOME of its own: ``refresh_and_train`` (kept as the ``trained`` copy, before any
scoring), then ``score_month`` for the newest month, which publishes.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import pytest
from filelock import FileLock

from tests.warm_runner import run_module

REPO = Path(__file__).resolve().parents[1]
BUILT = "_built.json"


def shared_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's temporary folder every xdist worker sees (the workers' own are beneath it)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def shared_company(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], dict]) -> dict:
    """``build(folder)`` once per session for all workers; returns what it returned, plus ``folder``."""
    root = shared_root(tmp_path_factory) / "companies"
    root.mkdir(exist_ok=True)
    folder = root / name
    with FileLock(str(root / f"{name}.lock")):
        if not (folder / BUILT).exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            (folder / BUILT).write_text(json.dumps(build(folder)))
    return {**json.loads((folder / BUILT).read_text()), "folder": str(folder)}


def copy_company(home: Path, target: Path, *, landing: bool = True) -> Path:
    """A private copy of a built home (warehouse, models, releases, Dagster's storage) to change."""
    ignored = ["*.log", ".scratch"] + ([] if landing else ["landing"])
    shutil.copytree(home, target, symlinks=True, ignore=shutil.ignore_patterns(*ignored))
    return target


def job_env(home: Path) -> dict[str, str]:
    """The environment of a deployment whose PIPELINE_HOME and DAGSTER_HOME are ``home``'s."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIPELINE_", "DAGSTER_"))}
    env.update(
        {
            "PIPELINE_HOME": str(home),
            "DAGSTER_HOME": str(home / "dagster_home"),
            "PYTHONUNBUFFERED": "1",
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        }
    )
    return env


@dataclass
class JobRun:
    """What ``python -m pipeline.runner --job NAME`` reported: each step's seconds, the assets it
    materialised, and its output."""

    job: str
    steps: dict[str, float] = field(default_factory=dict)
    materialised: list[str] = field(default_factory=list)
    output: str = ""


def run_job(home: Path, job: str, timeout: float = 900, env: dict[str, str] | None = None) -> JobRun:
    """One job in its own process, as its schedule starts it, recorded in ``home``'s Dagster instance (the
    process forked from a warm interpreter: tests/warm_runner.py); ``env`` adds settings (PIPELINE_ENGINE)."""
    from pipeline.cli import DAGSTER_YAML

    (home / "dagster_home").mkdir(exist_ok=True)
    if not (home / "dagster_home" / "dagster.yaml").exists():
        (home / "dagster_home" / "dagster.yaml").write_text(DAGSTER_YAML)  # as `pipeline` writes it
    environment = {**job_env(home), **(env or {})}
    done = run_module("pipeline.runner", ["--job", job], env=environment, cwd=REPO, timeout=timeout)
    output = done.stdout + done.stderr
    tail = "\n".join(line for line in output.splitlines() if " - DEBUG - " not in line)[-8000:]
    assert done.returncode == 0, f"{job} failed:\n{tail}"
    run = JobRun(job, output=tail)
    for line in done.stdout.splitlines():
        if line.startswith("STEPS "):
            run.steps = json.loads(line.removeprefix("STEPS "))
        elif line.startswith("MATERIALISED "):
            run.materialised = json.loads(line.removeprefix("MATERIALISED "))
    return run


def job_selection(job: str) -> set[str]:
    """The asset keys a job of the definitions selects."""
    from pipeline.definitions import defs

    return {key.to_user_string() for key in defs.resolve_job_def(job).asset_layer.selected_asset_keys}


def generate_scheduled_company(home: Path):
    """The landing zone of the shared company (the same files on every call)."""
    from pipeline.demo.generator import generate_demo_company

    return generate_demo_company(home / "landing", home / "truth", accounts=400, months=36, seed=7)


def build_scheduled_month(folder: Path) -> dict:
    """The demo company through ``refresh_and_train`` (copied aside as ``trained``) and ``score_month``."""
    home = folder / "scored"
    summary = generate_scheduled_company(home)
    trained = run_job(home, "refresh_and_train")
    copy_company(home, folder / "trained")
    scored = run_job(home, "score_month")
    return {
        "home": str(home),
        "trained_home": str(folder / "trained"),
        "rows": dict(summary.rows),
        "runs": {run.job: {"steps": run.steps, "materialised": run.materialised} for run in (trained, scored)},
    }


@pytest.fixture(scope="session")
def scheduled_month(tmp_path_factory) -> dict:
    """The shared 400-account company after one month's scheduled jobs (read it; copy it to change it)."""
    built = shared_company(tmp_path_factory, "scheduled_month", build_scheduled_month)
    return {**built, "home": Path(built["home"]), "trained_home": Path(built["trained_home"])}


# --- what the runs recorded in Dagster ------------------------------------------------------------------


@dataclass
class RecordedRun:
    """A run as its Dagster instance recorded it: success, the metadata of each materialisation (by asset
    key) and each asset check's outcome."""

    job: str
    run_id: str
    success: bool
    materialisations: dict[str, dict]
    checks: list[tuple[str, str, bool]]  # (asset key, check name, passed)


def recorded_runs(dagster_home: Path) -> dict[str, RecordedRun]:
    """The newest run of each job in ``dagster_home``'s instance."""
    found: dict[str, RecordedRun] = {}
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        for record in reversed(instance.get_run_records()):  # oldest first, so the newest run wins
            run = record.dagster_run
            materialisations, checks = {}, []
            for entry in instance.all_logs(run.run_id):
                event = entry.dagster_event
                if event is None:
                    continue
                if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
                    materialisation = event.event_specific_data.materialization
                    materialisations[materialisation.asset_key.to_user_string()] = {
                        k: v.value for k, v in materialisation.metadata.items()
                    }
                elif event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
                    evaluation = event.event_specific_data
                    checks.append((evaluation.asset_key.to_user_string(), evaluation.check_name, evaluation.passed))
            found[run.job_name] = RecordedRun(
                run.job_name, run.run_id, run.status == dg.DagsterRunStatus.SUCCESS, materialisations, checks
            )
    return found
