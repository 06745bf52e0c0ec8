"""A kill trial: SIGKILL a stage of the pipeline at a random moment of its work, then check what is left
and that the next run of the stage ends where an uninterrupted run ends.

Before a publish trial one published value is changed in the warehouse, so the release the killed run was
writing differs from the current one: after the kill the current release must be exactly the previous one
or exactly the new one, never a mix.
"""

from __future__ import annotations

import random
from pathlib import Path

import duckdb

from pipeline.publish.parquet import complete_releases, current_release
from tests.reliability.safety import (
    assert_release_complete,
    assert_warehouse_usable,
    copy_home,
    release_hashes,
    run_stages,
    warehouse_hashes,
)

WAREHOUSE_FILES = ("warehouse.duckdb", "warehouse.duckdb.wal", "warehouse.duckdb.lock")
# The kill falls in this share of the stage's measured work, after its imports: late enough to be inside
# the work, early enough that the stage cannot have finished (the trial asserts that it had not). The work
# was measured in the shared company's scheduled run, possibly under another load than the trial's: at 0.8 a
# dbt trial once found its stage done in 28 s where the build had taken 52 s (a Spark build shared the
# machine then), so the window ends at 0.6.
KILL_WINDOW = (0.05, 0.6)
# The published table a publish trial changes (one cent on one row), so that a mix would show.
CHANGED_TABLE = "fct_account_month"


def _trial_home(built: dict, stage: str, target: Path) -> Path:
    home = copy_home(built["home"], target)
    if stage == "ingest":  # ingest has work to do only on an empty warehouse
        for name in WAREHOUSE_FILES:
            (home / name).unlink(missing_ok=True)
    if stage == "publish":
        with duckdb.connect(str(home / "warehouse.duckdb")) as conn:
            conn.execute(
                f"update marts.{CHANGED_TABLE} set revenue_eur = revenue_eur + 0.01 "
                f"where rowid = (select min(rowid) from marts.{CHANGED_TABLE})"
            )
    return home


def kill_trial(built: dict, stage: str, seed: int, tmp_path: Path, *, rerun: tuple[str, ...] | None = None) -> None:
    """``rerun``: the stages the next run runs (the killed stage alone by default). Every stage from ingest to
    publish (``safety.STAGES``) makes the next run a materialisation of everything again, which must give
    exactly the shared company's marts and release, published as a new release."""
    home = _trial_home(built, stage, tmp_path / f"{stage}-{seed}")
    before = current_release(home / "bi").release_id
    releases_before = set(complete_releases(home / "bi"))
    moment = random.Random(seed).uniform(*KILL_WINDOW) * built["seconds"][stage]
    run = run_stages(home, stage, kill_after=moment)
    assert run.killed, (
        f"the {stage} stage ended (exit {run.returncode}) before the kill at {moment:.1f} s:\n{run.log[-4000:]}"
    )

    # Right after the kill: the warehouse opens and reads, and the BI layer's current release is complete
    # and is exactly the previous one or exactly a new one.
    if (home / "warehouse.duckdb").exists():
        assert_warehouse_usable(home / "warehouse.duckdb")
    after_kill = assert_release_complete(home / "bi")
    new_releases = set(complete_releases(home / "bi")) - releases_before
    assert after_kill == before or after_kill in new_releases
    seen_after_kill = release_hashes(home / "bi")
    if stage != "publish":  # nothing was being published
        assert after_kill == before and seen_after_kill == built["release"]

    # The next run completes and ends where an uninterrupted run ends.
    rerun_stages = rerun or (stage,)
    next_run = run_stages(home, *rerun_stages)
    assert next_run.returncode == 0, f"killed at {moment:.1f} s; the re-run failed:\n{next_run.log[-4000:]}"
    schemas = {"ingest": ("raw",), "dbt": ("raw", "marts"), "publish": ("raw",)}[stage]
    if "dbt" in rerun_stages:
        schemas = ("raw", "marts")
    expected = {name: value for name, value in built["warehouse"].items() if name.split(".")[0] in schemas}
    assert warehouse_hashes(home / "warehouse.duckdb", schemas) == expected
    current = assert_release_complete(home / "bi")
    published = release_hashes(home / "bi")
    if "publish" in rerun_stages and stage != "publish":
        assert current not in releases_before  # published again: a new release, the same content
    if stage == "publish":
        # The new release holds the changed value, and nothing else differs; what the reader saw right
        # after the kill was one of the two releases whole.
        assert {t for t in published if published[t] != built["release"][t]} == {CHANGED_TABLE}
        assert seen_after_kill in (built["release"], published)
        assert (after_kill == before) == (seen_after_kill == built["release"])
    else:
        assert published == built["release"]
    assert not list((home / "bi" / "releases").glob(".tmp-*")), "a crashed publish left its folder behind"
