from __future__ import annotations

import csv
import io
import json
import os
import shutil
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from hypothesis import settings as hypothesis_settings

from pipeline.contract import contract_for
from pipeline.ingest.loader import IngestResult, ingest_entity
from tests.companies import scheduled_month, shared_company  # noqa: F401  (scheduled_month: a shared fixture)

# Property tests draw the same examples on every run (a CI failure replays on any machine); set
# HYPOTHESIS_PROFILE=explore to search new ones.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
hypothesis_settings.register_profile("explore", derandomize=False)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# The suite's homes (warehouse, Dagster's storage, releases) go to a RAM-backed folder when the machine has
# one with room: every Dagster event is a SQLite commit and every DuckDB checkpoint an fsync, about 3 ms each
# on this machine's disk, and one job run on a 300-account company stores over a thousand events. The files
# are the same files; only the disk under them differs. PYTEST_DEBUG_TEMPROOT (pytest's own setting) or
# --basetemp chooses another place.
RAM_FOLDER = Path("/dev/shm")
RAM_FOLDER_MIN_FREE_BYTES = 12 * 2**30


def _ram_temp_root() -> Path | None:
    try:
        mounts = Path("/proc/mounts").read_text().split("\n")
    except OSError:
        return None
    if not any(line.split()[1:3] == [str(RAM_FOLDER), "tmpfs"] for line in mounts if line.strip()):
        return None
    return RAM_FOLDER if shutil.disk_usage(RAM_FOLDER).free >= RAM_FOLDER_MIN_FREE_BYTES else None


def pytest_configure(config: pytest.Config) -> None:
    # The controller chooses (xdist hands each worker a folder beneath its own base).
    if os.environ.get("PYTEST_XDIST_WORKER") or config.option.basetemp or "PYTEST_DEBUG_TEMPROOT" in os.environ:
        return
    if root := _ram_temp_root():
        os.environ["PYTEST_DEBUG_TEMPROOT"] = str(root)


# The longest modules first, longest first (worker seconds in one quiet run of the suite on 2026-12-07,
# benchmarks/suite_timeline.py: 105, 99, 85, 80, 67, 56, 49, 49, 44, 39, 37, 36, 30, 29, 14 s), the rest
# after by their number of tests. With `--dist loadfile --no-loadscope-reorder` (the Makefile) xdist hands
# the modules out in this order, so the last minutes go to short modules on both workers: ordered by number
# of tests alone, one worker ran the browser backfill and the dbt kill trial last while the other sat idle
# for 100 s. The second module is one that needs neither shared company: the other worker builds the
# second one meanwhile. A module not listed here only runs later; nothing else depends on the list.
LONG_MODULES = (
    "tests/test_scheduled_jobs.py",
    "tests/shapes/test_sparse_old_company.py",
    "tests/test_end_to_end.py",
    "tests/test_browser.py",
    "tests/test_contract_equivalence.py",
    "tests/reliability/test_kill_dbt.py",
    "tests/shapes/test_survey_only_company.py",
    "tests/test_churn_model.py",
    "tests/test_retention_effect.py",
    "tests/shapes/test_no_survey_company.py",
    "tests/test_rules.py",
    "tests/test_dbt_command.py",
    "tests/test_quality.py",
    "tests/shapes/test_invoices_only_company.py",
    "tests/test_dbt_in_process.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    def module(item: pytest.Item) -> str:
        return item.nodeid.split("::", 1)[0]

    sizes: dict[str, int] = {}
    for item in items:
        sizes[module(item)] = sizes.get(module(item), 0) + 1
    rank = {name: index for index, name in enumerate(LONG_MODULES)}
    # sorted() is stable: the tests of a module keep their order.
    items.sort(key=lambda item: (rank.get(module(item), len(rank)), -sizes[module(item)], module(item)))


# The companies built once per session and shared by every worker, in the order the workers start them.
SHARED_COMPANIES = ("scheduled_month", "demo_company_2000")


@pytest.fixture(scope="session", autouse=True)
def _start_shared_companies(request: pytest.FixtureRequest) -> None:
    """Worker n starts building the n-th shared company this session needs, before its first test: each
    takes a minute or more, and a worker that reaches a test needing a company another worker is building
    waits for it, idle. Started at once, the builds run side by side (``--dist loadfile`` orders the
    modules by their number of tests, not by what they need)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw"):
        return
    needed = [name for name in SHARED_COMPANIES if any(name in item.fixturenames for item in request.session.items)]
    index = int(worker.removeprefix("gw"))
    if index < len(needed):
        request.getfixturevalue(needed[index])


# PYTEST_TIMELINE=<file>: each test's worker, start and end (setup and teardown included) as a JSON line,
# to see where the two workers wait (benchmarks/suite_timeline.py reads it).
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    timeline = os.environ.get("PYTEST_TIMELINE")
    started = time.time()
    yield
    if timeline:
        line = {"worker": os.environ.get("PYTEST_XDIST_WORKER", "main"), "test": item.nodeid}
        with open(timeline, "a", encoding="utf-8") as out:
            out.write(json.dumps({**line, "start": started, "end": time.time()}) + "\n")


class Landing:
    """A temporary landing zone and warehouse, with helpers to drop files and ingest them."""

    def __init__(self, root: Path):
        self.root = root
        self.landing = root / "landing"
        self.landing.mkdir()
        self.conn = duckdb.connect(str(root / "warehouse.duckdb"))
        self.runs = 0

    def write_csv(
        self,
        relative: str,
        rows: list[list[object]],
        *,
        delimiter: str = ",",
        encoding: str = "utf-8",
        newline: str = "\n",
    ) -> Path:
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer, delimiter=delimiter, lineterminator=newline, quoting=csv.QUOTE_MINIMAL)
        writer.writerows([["" if v is None else v for v in row] for row in rows])
        return self.write_bytes(relative, buffer.getvalue().encode(encoding))

    def write_bytes(self, relative: str, content: bytes) -> Path:
        path = self.landing / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        return path

    def ingest(self, source: str, entity: str, **kwargs) -> IngestResult:
        self.runs += 1
        kwargs.setdefault("mappings_dir", self.landing / "mappings")  # where production looks by default
        return ingest_entity(
            self.conn, contract_for(source, entity), self.landing, f"run-{self.runs}", tmp_dir=self.root, **kwargs
        )

    def write_mapping(self, name: str, text: str) -> Path:
        return self.write_bytes(f"mappings/{name}", textwrap.dedent(text).encode())

    def rows(self, sql: str, params: list | None = None) -> list[tuple]:
        return self.conn.execute(sql, params or []).fetchall()

    def quarantine(self) -> list[tuple]:
        return self.rows(
            "select file, row_number, column_name, check_name, value from quarantine.rejected_rows "
            "order by file, row_number, column_name, check_name"
        )


@pytest.fixture
def landing(tmp_path: Path) -> Iterator[Landing]:
    zone = Landing(tmp_path)
    yield zone
    zone.conn.close()


ACCOUNT_HEADER = [
    "account_id",
    "account_name",
    "business_id",
    "country",
    "employees",
    "created_date",
    "status",
    "estimated_annual_potential_eur",
]


def account_row(account_id: str = "A001", **overrides: object) -> list[object]:
    row = {
        "account_id": account_id,
        "account_name": "Mäkinen Metalli Oy",
        "business_id": "0737546-2",
        "country": "FI",
        "employees": "120",
        "created_date": "2020-01-15",
        "status": "active",
        "estimated_annual_potential_eur": "250000.50",
    }
    row.update(overrides)
    return [row[c] for c in ACCOUNT_HEADER]


def _build_demo_company_2000(home: Path) -> dict:
    import dagster as dg

    from assets.ingest import ingest_assets
    from assets.partitions import account_months
    from assets.warehouse import DBT_ASSETS, scored_models
    from pipeline.config import Settings
    from pipeline.demo.generator import generate_demo_company
    from pipeline.orchestration import full_range_tags
    from pipeline.resources import resources_from

    generate_demo_company(home / "landing", home / "truth", accounts=2000, months=36, seed=11)
    settings = Settings.from_env({"PIPELINE_HOME": str(home)})
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [*ingest_assets, *(a for a in DBT_ASSETS if a is not scored_models)],
            resources=resources_from(settings),
            instance=instance,
            tags=full_range_tags(account_months),
        )
    assert result.success
    return {"home": str(home)}


@pytest.fixture(scope="session")
def demo_company_2000(tmp_path_factory) -> dict:
    """The demo company (2,000 accounts x 36 months, seed 11) ingested and built by dbt, built once per
    session for every worker and shared by the churn-model and customer-insight tests. Read it; copy it
    before changing it."""
    from pipeline.config import Settings

    home = Path(shared_company(tmp_path_factory, "demo_company_2000", _build_demo_company_2000)["home"])
    return {"home": home, "settings": Settings.from_env({"PIPELINE_HOME": str(home)})}
