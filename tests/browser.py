"""Helpers for the browser test: the Dagster UI as a user starts it, its GraphQL API, and Debian's Chromium.

``DagsterUI`` runs ``python -m pipeline.cli ui`` (which becomes ``dagster dev``: webserver, daemon and code
server) on a free loopback port in its own process session, and stops that session at the end.
``chromium()`` drives Debian's Chromium (``/usr/bin/chromium``, which ``make test`` installs when it is
missing) headless through Playwright; no browser is ever downloaded. A test that needs the browser and
cannot start it fails; it never skips.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).parents[1]

BACKFILL_QUERY = """
query Backfill($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill {
      id
      status
      numPartitions
      runs(limit: 50) { runId status tags { key value } }
    }
    ... on PythonError { message }
  }
}
"""

# Backfill statuses that can still change (BulkActionStatus in Dagster's GraphQL schema).
BACKFILL_UNFINISHED = {"REQUESTED", "CANCELING", "FAILING"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class DagsterUI:
    """``pipeline ui`` on a free loopback port with the given environment; its output goes to ``log``."""

    def __init__(self, env: dict[str, str], log: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = env
        self.log = log
        self.process: subprocess.Popen | None = None

    def start(self) -> DagsterUI:
        with open(self.log, "wb") as out, _sigint_not_ignored_in_children():
            self.process = subprocess.Popen(
                [sys.executable, "-m", "pipeline.cli", "ui", "--port", str(self.port)],
                env=self.env,
                cwd=REPO,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                # Its own session: the webserver, the daemon, the code server and the runs the daemon
                # launches can all be stopped together, and nothing else.
                start_new_session=True,
            )
        return self

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def graphql(self, query: str, variables: dict | None = None, timeout: float = 30) -> dict:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(f"{self.url}/graphql", data=body, headers={"content-type": "application/json"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            payload = json.load(response)
        if payload.get("errors"):
            raise RuntimeError(f"GraphQL errors: {payload['errors']}")
        return payload["data"]

    def wait_for_asset(self, asset_path: list[str], timeout: float) -> None:
        """Until the code location is loaded and serves ``asset_path`` (the daemon starts alongside)."""
        query = "query Node($key: AssetKeyInput!) { assetNodeOrError(assetKey: $key) { __typename } }"
        deadline = time.monotonic() + timeout
        while True:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"`pipeline ui` exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                node = self.graphql(query, {"key": {"path": asset_path}}, timeout=10)["assetNodeOrError"]
                if node["__typename"] == "AssetNode":
                    return
            except (OSError, RuntimeError):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"the UI did not serve {asset_path} within {timeout:.0f} s:\n{self.log_tail()}")
            time.sleep(2)

    def wait_for_backfill(self, backfill_id: str, timeout: float) -> dict:
        """Poll the backfill until it finishes (whatever the outcome); return its last GraphQL state."""
        deadline = time.monotonic() + timeout
        while True:
            backfill = self.graphql(BACKFILL_QUERY, {"id": backfill_id})["partitionBackfillOrError"]
            if backfill["__typename"] != "PartitionBackfill":
                raise RuntimeError(f"backfill {backfill_id}: {backfill}")
            if backfill["status"] not in BACKFILL_UNFINISHED:
                return backfill
            if time.monotonic() > deadline:
                runs = [(r["runId"][:8], r["status"]) for r in backfill["runs"]]
                raise TimeoutError(
                    f"backfill {backfill_id} still {backfill['status']} after {timeout:.0f} s (runs {runs}):\n"
                    f"{self.log_tail()}"
                )
            time.sleep(3)

    def stop(self) -> None:
        """SIGTERM the session (``dagster dev`` stops its children), then SIGKILL whatever is left of it."""
        if self.process is None:
            return
        pgid = self.process.pid  # the session leader: its process group id is its pid
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=20)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)


@contextlib.contextmanager
def _sigint_not_ignored_in_children() -> Iterator[None]:
    """``dagster dev`` handles SIGTERM as SIGINT. Under a non-interactive background job (``cmd &``) this
    process inherited SIGINT as ignored, and so would the UI: it would then ignore SIGTERM too. Let the
    child start with the default disposition instead (the parent's is restored at once)."""
    ignored = signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    if not ignored or threading.current_thread() is not threading.main_thread():
        yield
        return
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextlib.contextmanager
def dagster_ui(env: dict[str, str], log: Path) -> Iterator[DagsterUI]:
    ui = DagsterUI(env, log)
    try:
        yield ui.start()
    finally:
        ui.stop()


@contextlib.contextmanager
def chromium(viewport: tuple[int, int] = (1440, 900)) -> Iterator:
    """A Playwright page in Debian's headless Chromium. Raises (never skips) when it cannot start."""
    from playwright.sync_api import sync_playwright

    if not os.access(CHROMIUM, os.X_OK):
        raise RuntimeError(
            f"{CHROMIUM} not found: run `make test`, which installs Debian's chromium package, "
            "or `apt-get install chromium` (never `playwright install`)"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
            page = context.new_page()
            page.set_default_timeout(60_000)
            yield page
        finally:
            browser.close()
