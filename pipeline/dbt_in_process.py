"""dbt run inside the Dagster run's own process instead of a dbt process per dbt asset.

A run of the daily refresh invokes dbt four times (the Python analyses sit between the dbt assets). As a
process of its own, each invocation started Python, imported dbt (1.4 s) and loaded the project's parse
(about 1 s) before it ran a single model: on the 300-account company a build of the monthly models took
4.1 s from the shell, of which 1.2 s were the models and their tests. In the run's process dbt is imported
once (dagster-dbt imports most of it already), the project is parsed once per run, and each further
invocation reuses the parsed manifest, as dbt's programmatic interface provides (``dbtRunner(manifest=...)``,
"Reusing objects" in dbt's documentation): the same build took 1.3 s.

What dagster-dbt sees does not change. :class:`InProcessDbt` stands in for the ``subprocess.Popen`` of a dbt
command: dbt runs in a thread, and every event it fires at info level or above becomes one line of JSON on
its ``stdout``, exactly the line dbt's JSON log would print, so dagster-dbt turns them into materialisations
and asset checks as before, while they happen. dbt reads its flags from the environment dagster-dbt
prepared, set for the invocation's length (only dbt's own variables and what the asset added); its file log
(``dbt.log``) is written as before, and it prints nothing itself (dagster-dbt echoes every event).

A parsed manifest is reused only while everything a parse reads is the same: the command's arguments other
than the selection, the environment variables dbt's profile and project read (PIPELINE_*, DBT_*), the
values of the variables the parse itself recorded (``Manifest.env_vars``), and every file of the project
(names, sizes, modification times). Anything else parses again, as dbt would. The monthly window is read
when a model runs, not when it is parsed (macros/partition_months.sql): a reused manifest compiles each
invocation's window afresh.

After each invocation dbt's connections are closed, DuckDB's included (dbt-duckdb keeps its database open
for the process otherwise, and this process opens the same file next with settings of its own).
"""

from __future__ import annotations

import contextlib
import os
import queue
import subprocess
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

# dbt options that choose what runs, not what the project parses to: a manifest serves every selection.
SELECTION_OPTIONS = frozenset(
    {
        "--select",
        "-s",
        "--models",
        "-m",
        "--exclude",
        "--selector",
        "--resource-type",
        "--resource-types",
        "--exclude-resource-type",
    }
)
# Environment variables that name this invocation's artefacts and selection, not the project's parse.
PER_INVOCATION_VARIABLES = frozenset(
    {"DBT_TARGET_PATH", "DBT_LOG_PATH", "DBT_INDIRECT_SELECTION", "DAGSTER_DBT_CLI", "DBT_LOG_LEVEL", "DBT_QUIET"}
)
PARSE_VARIABLE_PREFIXES = ("PIPELINE_", "DBT_")
# Read by the monthly models when they run (macros/partition_months.sql), never while parsing.
RUN_TIME_VARIABLES = frozenset({"PIPELINE_PARTITION_MONTH_START", "PIPELINE_PARTITION_MONTH_END"})
PROJECT_FOLDERS = ("models", "macros", "tests", "snapshots", "seeds", "analyses")

_END = object()
# One dbt invocation at a time in a process: dbt keeps its flags, adapters and event manager in globals.
_invocation_lock = threading.Lock()
# The parsed project and the variables its parse read (None: read while unset), by everything else the
# parse read (parse_key).
_manifests: dict[tuple, tuple[Any, dict[str, str | None]]] = {}
_manifests_guard = threading.Lock()


def project_files(project_dir: Path) -> tuple:
    """Every file a parse reads, by name, size and modification time."""
    found = []
    for folder in PROJECT_FOLDERS:
        root = project_dir / folder
        if root.is_dir():
            for path in sorted(root.rglob("*")):
                if path.is_file():
                    stat = path.stat()
                    found.append((str(path.relative_to(project_dir)), stat.st_size, stat.st_mtime_ns))
    for name in ("dbt_project.yml", "profiles.yml", "packages.yml", "dependencies.yml", "selectors.yml"):
        path = project_dir / name
        if path.is_file():
            stat = path.stat()
            found.append((name, stat.st_size, stat.st_mtime_ns))
    return tuple(found)


def parse_arguments(args: Sequence[str]) -> tuple[str, ...]:
    """The arguments of a command that matter to its parse: without the command and the selection."""
    kept: list[str] = []
    skip_values = False
    for arg in args[1:]:
        if arg.startswith("-"):
            name = arg.split("=", 1)[0]
            skip_values = name in SELECTION_OPTIONS and "=" not in arg
            if name not in SELECTION_OPTIONS:
                kept.append(arg)
        elif not skip_values:
            kept.append(arg)
    return tuple(kept)


def parse_key(args: Sequence[str], env: Mapping[str, str], project_dir: Path) -> tuple:
    variables = tuple(
        sorted(
            (name, value)
            for name, value in env.items()
            if name.startswith(PARSE_VARIABLE_PREFIXES)
            and name not in PER_INVOCATION_VARIABLES
            and name not in RUN_TIME_VARIABLES
        )
    )
    return (str(project_dir.resolve()), parse_arguments(args), variables, project_files(project_dir))


def cached_manifest(key: tuple) -> Any | None:
    with _manifests_guard:
        manifest, parse_variables = _manifests.get(key, (None, {}))
    # The variables the parse itself read must still have the values it read. (The manifest's own record
    # grows as models run and read variables: the parse's is the copy taken when it ended.)
    if manifest is None or any(os.environ.get(name) != value for name, value in parse_variables.items()):
        return None
    return manifest


# What dbt records for a variable its parse read with a default while it was not set (dbt.constants).
UNSET_AT_PARSE = "DBT_DEFAULT_PLACEHOLDER"


def reusable(manifest: Any) -> bool:
    """Whether a build can run from this manifest again. Compiling changes a manifest's nodes in place:
    ephemeral models' CTEs are marked injected, and foreign-key constraints have their ``ref`` replaced by a
    relation name, so a second build from the same manifest would miss the CTEs and reject the constraint.
    The project has neither today; should it gain one, each invocation parses again (from dbt's partial
    parse), as a dbt process did."""
    for node in manifest.nodes.values():
        config = getattr(node, "config", None)
        if getattr(config, "materialized", None) == "ephemeral":
            return False
        constraints = list(getattr(node, "constraints", None) or [])
        for column in (getattr(node, "columns", None) or {}).values():
            constraints.extend(getattr(column, "constraints", None) or [])
        if any(str(getattr(c, "type", "")).endswith("foreign_key") for c in constraints):
            return False
    return True


def keep_manifest(key: tuple, manifest: Any) -> None:
    with _manifests_guard:
        _manifests.clear()  # one project state at a time: an older one is never read again
        recorded = {name: None if value == UNSET_AT_PARSE else value for name, value in manifest.env_vars.items()}
        _manifests[key] = (manifest, recorded)


def forget_manifests() -> None:
    with _manifests_guard:
        _manifests.clear()


class _EventLines:
    """The ``stdout`` of :class:`InProcessDbt`: one JSON line (bytes) per dbt event, until dbt has finished."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self.closed = False

    def put(self, line: object) -> None:
        self._queue.put(line)

    def __iter__(self) -> Iterator[bytes]:
        while True:
            line = self._queue.get()
            if line is _END:
                return
            yield line

    def __enter__(self) -> _EventLines:
        return self

    def __exit__(self, *exc: object) -> None:
        self.closed = True


class InProcessDbt:
    """A dbt command run in a thread of this process, with the part of ``subprocess.Popen``'s interface that
    dagster-dbt's ``DbtCliInvocation`` uses: ``args``, ``stdout``, ``wait``, ``returncode``, ``send_signal``."""

    def __init__(self, args: Sequence[str], env: Mapping[str, str], project_dir: Path) -> None:
        self.args = list(args)
        self.returncode: int | None = None
        self.stdout = _EventLines()
        self.manifest_reused = False
        self._errors_reported = False
        self._env = dict(env)
        self._project_dir = Path(project_dir)
        self._thread = threading.Thread(target=self._run, name="dbt", daemon=True)
        self._thread.start()

    def wait(self, timeout: float | None = None) -> int | None:
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise subprocess.TimeoutExpired(self.args, timeout or 0)
        return self.returncode

    def poll(self) -> int | None:
        return self.returncode

    def send_signal(self, signal: int) -> None:
        """dagster-dbt sends SIGINT when the step is interrupted, then waits for the process. A dbt process
        cancels its open queries and stops; here the open queries are cancelled (the node running fails)
        and ``wait`` gives up after dagster-dbt's timeout. A terminated run then ends its process, and the
        dbt thread with it; until then it holds the warehouse's DuckDB lock, so a run that starts in between
        fails to open the file instead of writing beside it."""
        with contextlib.suppress(Exception):
            from dbt.adapters.factory import FACTORY

            for adapter in list(FACTORY.adapters.values()):
                adapter.cancel_open_connections()  # type: ignore[attr-defined]  # every SQL adapter has it

    def _emit(self, event: Any) -> None:
        from dbt_common.events.base_types import EventLevel
        from dbt_common.events.functions import env_scrubber, msg_to_json

        if event.info.level == EventLevel.DEBUG:  # dbt's JSON log at its default level prints no debug events
            return
        self._errors_reported |= event.info.level == EventLevel.ERROR
        # The line dbt's JSON log prints, secrets (DBT_ENV_SECRET_*) scrubbed as that log scrubs them.
        self.stdout.put(env_scrubber(msg_to_json(event)).encode())

    def _run(self) -> None:
        try:
            with _invocation_lock:
                try:
                    with _dbt_environment(self._env):
                        self.returncode = self._invoke()
                finally:
                    _close_connections()  # before the next invocation may open its own
        except BaseException as error:  # reported as dbt reports an error, never lost in the thread
            self.stdout.put(_error_line(f"dbt failed in the run's process: {error!r}"))
            self.returncode = 2
        finally:
            self.stdout.put(_END)  # always: dagster-dbt reads until it

    def _invoke(self) -> int:
        from dbt.cli.main import dbtRunner

        from pipeline.dbt_command import keep_partial_parse_across_paths

        keep_partial_parse_across_paths()
        args = self.args[1:]  # the first is the dbt executable
        key = parse_key(self.args, self._env, self._project_dir)
        manifest = cached_manifest(key)
        self.manifest_reused = manifest is not None
        if manifest is None:
            parsed = dbtRunner(callbacks=[self._emit]).invoke(["parse", "--no-write-json", *_parse_options(args)])
            if not parsed.success:
                return self._failed(parsed.exception)
            manifest = parsed.result  # a parse's result is its Manifest
            if reusable(manifest):
                keep_manifest(key, manifest)
        result = dbtRunner(manifest=manifest, callbacks=[self._emit]).invoke(args)  # type: ignore[arg-type]  # a Manifest
        if result.success:
            return 0
        return self._failed(result.exception) if result.exception is not None else 1

    def _failed(self, exception: BaseException | None) -> int:
        """dbt's exit code for an error; the error told as an event where dbt told none (a usage error)."""
        if not self._errors_reported:
            self.stdout.put(_error_line(str(exception or "dbt failed")))
        return 2


def _parse_options(args: Sequence[str]) -> list[str]:
    """The options of ``args`` (a build, run or test) that a ``parse`` accepts: the same project, profile,
    target, vars and paths; none of the selection or of the command's own behaviour."""
    accepted = {
        "--vars",
        "--target",
        "-t",
        "--profile",
        "--profiles-dir",
        "--project-dir",
        "--target-path",
        "--log-path",
        "--threads",
    }
    kept: list[str] = []
    index = 0
    while index < len(args):
        name = args[index].split("=", 1)[0]
        if name in accepted:
            if "=" in args[index]:
                kept.append(args[index])
            elif index + 1 < len(args):
                kept.extend(args[index : index + 2])
                index += 1
        index += 1
    return kept


def _error_line(message: str) -> bytes:
    import json

    return json.dumps(
        {"data": {}, "info": {"name": "MainEncounteredError", "level": "error", "msg": message, "code": "Z002"}}
    ).encode()


@contextlib.contextmanager
def _dbt_environment(env: Mapping[str, str]) -> Iterator[None]:
    """The variables dagster-dbt prepared for dbt, set in this process for the invocation's length. dbt
    prints nothing itself (``DBT_LOG_LEVEL=none``: dagster-dbt echoes the events); its file log keeps the
    level it would have had."""
    overrides = {name: value for name, value in env.items() if os.environ.get(name) != value}
    overrides.setdefault("DBT_LOG_LEVEL_FILE", env.get("DBT_LOG_LEVEL_FILE") or env.get("DBT_LOG_LEVEL") or "debug")
    overrides["DBT_LOG_LEVEL"] = "none"
    from pipeline.dbt import environment_set

    with environment_set(overrides):
        yield


def _close_connections() -> None:
    with contextlib.suppress(Exception):
        from dbt.adapters.factory import cleanup_connections

        cleanup_connections()
    with contextlib.suppress(Exception):  # a failed close (a full disk at the checkpoint) must not hang the run
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager

        with DuckDBConnectionManager._LOCK:
            environment = DuckDBConnectionManager._ENV
            DuckDBConnectionManager._ENV = None
        if environment is not None:
            environment.close()


def _invocation_class() -> type:
    from dagster_dbt.core.dbt_cli_invocation import DbtCliInvocation

    class InProcessDbtCliInvocation(DbtCliInvocation):
        """dagster-dbt's invocation of a dbt command, started in this process (:class:`InProcessDbt`)."""

        @classmethod
        def run(  # the same arguments as dagster-dbt's, which passes them by keyword
            cls,
            args: Sequence[str],
            env: dict[str, str],
            manifest: Mapping[str, Any],
            dagster_dbt_translator: Any,
            project_dir: Path,
            target_path: Path,
            raise_on_error: bool,
            context: Any,
            adapter: Any,
            cli_version: Any,
            dbt_project: Any = None,
            **ignored: Any,
        ) -> DbtCliInvocation:
            return cls(
                process=InProcessDbt(args, env, project_dir),  # type: ignore[arg-type]  # Popen's interface
                manifest=manifest,
                project=dbt_project,
                dagster_dbt_translator=dagster_dbt_translator,
                project_dir=project_dir,
                target_path=target_path,
                raise_on_error=raise_on_error,
                context=context,
                adapter=adapter,
                cli_version=cli_version,
            )

    return InProcessDbtCliInvocation


def __getattr__(name: str) -> Any:
    # Built on first use: importing this module must not import dagster-dbt (and dbt with it).
    if name == "InProcessDbtCliInvocation":
        value = _invocation_class()
        globals()[name] = value
        return value
    raise AttributeError(name)
