"""The UI in a real browser: backfill three snapshot months of ml/churn_scores from the asset graph.

The shared demo company as the `refresh_and_train` job left it (tests/companies.py) is copied to a
temporary PIPELINE_HOME and DAGSTER_HOME; then `pipeline ui` starts as a user starts it (`dagster dev`:
webserver and daemon) and Debian's headless Chromium opens the asset graph, selects ml/churn_scores,
launches a backfill of the three newest snapshot months and follows it until it succeeds. The partitions
must then be materialised in Dagster and scored in the warehouse.

Screenshots go to the test's temporary folder; with UPDATE_SCREENSHOTS=1 they also replace the ones in
docs/images/ that the README shows.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from pipeline.config import Settings
from tests.browser import REPO, chromium, dagster_ui
from tests.companies import copy_company

pytestmark = pytest.mark.filterwarnings("ignore::dagster.BetaWarning")

ASSET_PATH = ["ml", "churn_scores"]
SCREENSHOTS = REPO / "docs" / "images"
UI_START_TIMEOUT = 180
BACKFILL_TIMEOUT = 300
# Waits for the UI to render: generous, because under a full parallel test run it renders slowly.
UI_STEP_TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def trained_home(scheduled_month, tmp_path_factory) -> dict:
    """A copy of the shared company as `refresh_and_train` left it (warehouse built, a champion model, no
    scores yet), with its DAGSTER_HOME holding that run."""
    home = copy_company(scheduled_month["trained_home"], tmp_path_factory.mktemp("browser") / "home")
    dagster_home = home / "dagster_home"
    settings = Settings.from_env({"PIPELINE_HOME": str(home)})
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        as_of = pd.Timestamp(conn.execute("select as_of_month from intermediate.int_reporting_period").fetchone()[0])
    # The three newest snapshot months with data; the partitions start two months earlier, so the dialog
    # lists five and the test picks a range of three.
    months = [(as_of - pd.DateOffset(months=n)).strftime("%Y-%m-%d") for n in (2, 1, 0)]
    first_partition = (as_of - pd.DateOffset(months=4)).strftime("%Y-%m-%d")
    return {
        "home": home,
        "dagster_home": dagster_home,
        "settings": settings,
        "months": months,
        "first_partition": first_partition,
    }


def _screenshot(page: Page, folder: Path, name: str) -> Path:
    path = folder / name
    page.screenshot(path=str(path))
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, SCREENSHOTS / name)
    return path


def _launch_backfill_from_the_asset_graph(page: Page, base_url: str, months: list[str]) -> str:
    """The user's path: asset graph of the ml group, select the node, Materialize selected, pick the
    partition range, Launch backfill. Returns the backfill id the UI reports."""
    # The community sign-up dialog a first visit to a local UI shows is Dagster's onboarding, not ours: it
    # is marked as dismissed before the page loads (the key Dagster's CommunityNux stores on Skip), and a
    # handler still skips it should a later Dagster change the key.
    page.add_init_script("window.localStorage.setItem('communityNux', '\"1\"')")
    page.add_locator_handler(
        page.get_by_text("Join the Dagster community"),
        lambda: page.get_by_role("button", name="Skip").click(),
    )
    page.goto(f"{base_url}/locations/account_intelligence/asset-groups/ml/lineage")
    page.get_by_text("churn_scores", exact=True).click()

    # (The time-range menu below is a popover dialog too: keep to the launch dialog.)
    dialog = page.get_by_role("dialog").filter(has_text="Launch runs to materialize ml / churn_scores")
    materialize = page.get_by_role("button", name=re.compile("Materialize selected"))
    # The click first loads the asset's partitions (a spinner in the button), then opens the dialog. On a
    # loaded machine that can take long enough for the click to be lost: once the spinner has gone and no
    # dialog has opened, click again, as a user would.
    for attempt in range(3):
        materialize.click()
        try:
            expect(dialog).to_be_visible(timeout=UI_STEP_TIMEOUT_MS)
            break
        except AssertionError:
            if attempt == 2:
                raise
        expect(materialize.get_by_role("progressbar")).to_have_count(0, timeout=UI_STEP_TIMEOUT_MS)
        if dialog.is_visible():
            break
    # The dialog may show only the last 90 days of partitions: offer all of them.
    dialog.get_by_role("button", name=re.compile(r"Last \d+ days|This month|Last month|All time")).click()
    page.get_by_role("menuitem", name="All time").click()
    partitions = dialog.get_by_placeholder(re.compile(r"^ex: "))
    partitions.fill(f"[{months[0]}...{months[-1]}]")
    partitions.press("Enter")
    expect(dialog).to_contain_text(f"{len(months)} partitions", timeout=UI_STEP_TIMEOUT_MS)
    dialog.get_by_role("button", name="Launch backfill").click()

    toast = page.get_by_text(re.compile(r"Created backfill \w+"))
    expect(toast).to_be_visible(timeout=30_000)
    backfill_id = re.search(r"Created backfill (\w+)", toast.inner_text()).group(1)
    # Follow the toast's View link to the backfill's page, as a user would, and watch it from there. The
    # toast lasts five seconds: if it has gone already, open the page by its address instead.
    try:
        page.locator(f"a[href*='/runs/b/{backfill_id}']").first.click(timeout=4000)
    except PlaywrightTimeoutError:
        page.goto(f"{base_url}/runs/b/{backfill_id}")
    expect(page).to_have_url(re.compile(rf"/runs/b/{backfill_id}"))
    return backfill_id


def test_a_backfill_of_three_snapshot_months_launched_in_the_browser_succeeds(trained_home, tmp_path):
    months = trained_home["months"]
    env = {
        **os.environ,
        "PIPELINE_HOME": str(trained_home["home"]),
        "DAGSTER_HOME": str(trained_home["dagster_home"]),
        "PIPELINE_FIRST_SNAPSHOT_MONTH": trained_home["first_partition"],
    }
    timings: dict[str, float] = {}
    with dagster_ui(env, tmp_path / "ui.log") as ui:
        started = time.monotonic()
        ui.wait_for_asset(ASSET_PATH, timeout=UI_START_TIMEOUT)
        timings["ui_ready"] = time.monotonic() - started
        with chromium() as page:
            try:
                backfill_id = _launch_backfill_from_the_asset_graph(page, ui.url, months)
                timings["launched"] = time.monotonic() - started
                backfill = ui.wait_for_backfill(backfill_id, timeout=BACKFILL_TIMEOUT)
                timings["backfill_done"] = time.monotonic() - started
                assert backfill["status"] == "COMPLETED_SUCCESS", (backfill, ui.log_tail())

                # The backfill's page says so too, and the asset graph shows the partitions filled.
                page.reload()
                expect(page.get_by_text("Succeeded", exact=True).first).to_be_visible(timeout=UI_STEP_TIMEOUT_MS)
                expect(page.get_by_text(f"{months[0]}...{months[-1]}").first).to_be_visible(timeout=UI_STEP_TIMEOUT_MS)
                _screenshot(page, tmp_path, "dagster-backfill.png")
                page.goto(f"{ui.url}/locations/account_intelligence/asset-groups/ml/lineage")
                expect(page.get_by_text(re.compile(r"\d+% filled")).first).to_be_visible(timeout=UI_STEP_TIMEOUT_MS)
                _screenshot(page, tmp_path, "dagster-asset-graph.png")
            except Exception:
                page.screenshot(path=str(tmp_path / "failure.png"))
                raise

        # One run per month, or one run for the range (BackfillPolicy.single_run), each successful.
        assert backfill["numPartitions"] == len(months)
        assert backfill["runs"] and all(run["status"] == "SUCCESS" for run in backfill["runs"])
        run_tags = [{tag["key"]: tag["value"] for tag in run["tags"]} for run in backfill["runs"]]
        if len(run_tags) == 1 and "dagster/asset_partition_range_start" in run_tags[0]:
            assert (
                run_tags[0]["dagster/asset_partition_range_start"],
                run_tags[0]["dagster/asset_partition_range_end"],
            ) == (
                months[0],
                months[-1],
            )
        else:
            assert sorted(tags["dagster/partition"] for tags in run_tags) == months

        node = ui.graphql(
            """
            query Partitions($key: AssetKeyInput!) {
              assetNodeOrError(assetKey: $key) {
                ... on AssetNode {
                  partitionStats { numMaterialized numFailed numMaterializing }
                  assetPartitionStatuses {
                    ... on TimePartitionStatuses { ranges { startKey endKey status } }
                  }
                }
              }
            }
            """,
            {"key": {"path": ASSET_PATH}},
        )["assetNodeOrError"]
        assert node["partitionStats"] == {"numMaterialized": 3, "numFailed": 0, "numMaterializing": 0}
        assert node["assetPartitionStatuses"]["ranges"] == [
            {"startKey": months[0], "endKey": months[-1], "status": "MATERIALIZED"}
        ]

    # The scores are in the warehouse, written by the backfill's runs.
    run_ids = {run["runId"] for run in backfill["runs"]}
    with duckdb.connect(str(trained_home["settings"].warehouse_path), read_only=True) as conn:
        scored = conn.execute(
            "select strftime(snapshot_month, '%Y-%m-%d'), count(*), list(distinct run_id) "
            "from ml.churn_scores group by 1 order by 1"
        ).fetchall()
    assert [month for month, _, _ in scored] == months
    assert all(count > 0 and set(runs) <= run_ids for _, count, runs in scored)
    print(f"timings (s from `pipeline ui` start): {timings}")
