"""`make ui` (pipeline ui) serves the whole asset graph, with the venv not on PATH, as a user runs it.

Started and stopped as the browser test does (tests/browser.py): in its own process session, so that the
webserver and the daemon under `dagster dev` stop with it. Stopped otherwise, a `dagster dev` that did not
exit within the wait was killed alone and left its webserver and daemon running after the suite."""

from __future__ import annotations

import os
import time
from pathlib import Path

from pipeline.contract import CONTRACTS
from tests.browser import dagster_ui


def test_the_ui_loads_the_code_location_with_every_asset(tmp_path: Path):
    env = {**os.environ, "PIPELINE_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    env.pop("DAGSTER_HOME", None)
    with dagster_ui(env, tmp_path / "ui.log") as ui:
        keys: list[str] = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not keys:
            time.sleep(2)
            assert ui.process is not None and ui.process.poll() is None, f"the UI exited early:\n{ui.log_tail()}"
            try:
                nodes = ui.graphql("{ assetNodes { assetKey { path } } }", timeout=5)["assetNodes"]
            except OSError:
                continue
            keys = ["/".join(node["assetKey"]["path"]) for node in nodes]
        assert {f"raw/{c.table}" for c in CONTRACTS} <= set(keys), ui.log_tail()
        assert "marts/mart_account_360" in keys
    # Nothing of the UI's session is left running.
    assert ui.process is not None and ui.process.poll() is not None
    deadline = time.monotonic() + 10  # processes killed with the group may take a moment to be reaped
    while time.monotonic() < deadline:
        try:
            os.killpg(ui.process.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    raise AssertionError("processes of the UI's session were still running 10 s after it stopped")
