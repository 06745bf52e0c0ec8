"""`make ui` (pipeline ui) serves the whole asset graph, with the venv not on PATH, as a user runs it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from pipeline.contract import CONTRACTS


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _asset_keys(port: int) -> list[str]:
    query = json.dumps({"query": "{ assetNodes { assetKey { path } } }"}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql", data=query, headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        nodes = json.load(response)["data"]["assetNodes"]
    return ["/".join(node["assetKey"]["path"]) for node in nodes]


def test_the_ui_loads_the_code_location_with_every_asset(tmp_path: Path):
    port = _free_port()
    env = {**os.environ, "PIPELINE_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    env.pop("DAGSTER_HOME", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", "ui", "--port", str(port)],
        env=env,
        cwd=Path(__file__).parents[1],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        keys: list[str] = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not keys:
            time.sleep(2)
            assert server.poll() is None, "the UI exited early"
            try:
                keys = _asset_keys(port)
            except OSError:
                continue
        assert {f"raw/{c.table}" for c in CONTRACTS} <= set(keys)
        assert "marts/mart_account_360" in keys
    finally:
        server.send_signal(signal.SIGTERM)  # `pipeline ui` is `dagster dev` itself: it stops its children
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
