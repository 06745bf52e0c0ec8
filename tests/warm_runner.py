"""``python -m pipeline.runner ...`` in a process of its own, forked from an interpreter that has already
imported the libraries the pipeline uses, instead of a new interpreter importing them again.

A job run's process spent about 10 s of CPU importing before and during its work (measured with py-spy on
the 300-account daily refresh): Dagster, dagster-dbt and dbt 4.3 s with the definitions, Great
Expectations 2.7 s when publishing, scikit-learn 2.2 s in the segmentation, matplotlib for the brief. The
suite starts about twenty such processes on two cores. Here a fork server per pytest worker
(``multiprocessing``'s ``forkserver``) imports those libraries once, and each run is a fork of it: a new
process with its own environment, working folder, output and exit code, running the runner's ``main`` as
``-m`` would, and the pipeline's own modules imported afresh in it (nothing of the pipeline is preloaded:
its definitions read the environment when imported).

What is not the same as a new interpreter: what an interpreter or a preloaded library reads once at its
start keeps the fork server's value (the ``PYTHON*`` variables, the locale, ``TMPDIR`` once ``tempfile``
has chosen, anything a preloaded library reads when imported); the run's own environment is set before
the pipeline's modules are imported, and the pipeline reads its settings from there. At the end the
runner's threads are joined and the exit handlers run, as at an interpreter's exit. The kill trials start
real interpreters (tests/reliability/safety.py): they kill process groups.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import multiprocessing
import os
import runpy
import subprocess
import sys
import tempfile
import threading
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path

# Libraries only: importing them reads no setting of the pipeline.
PRELOAD = (
    "pandas",
    "pyarrow.parquet",
    "duckdb",
    "dagster",
    "dagster_dbt",
    "dbt.cli.main",
    "dbt.adapters.duckdb",
    "dbt.task.build",
    "great_expectations",
    "pandera.pandas",
    "sklearn.ensemble",
    "sklearn.linear_model",
    "sklearn.mixture",
    "sklearn.cluster",
    "matplotlib.figure",
)

_context: multiprocessing.context.ForkServerContext | None = None


def _fork_server() -> multiprocessing.context.ForkServerContext:
    global _context
    if _context is None:
        context = multiprocessing.get_context("forkserver")
        # One module of ours, which prepares the interpreter and then imports PRELOAD (tests/warm_preload.py).
        context.set_forkserver_preload(["tests.warm_preload"])
        _context = context
    return _context


def prepare_fork_server() -> None:
    """Run in the fork server before it forks anything (tests/warm_preload.py)."""
    _main_as_a_script()
    for name in PRELOAD:
        importlib.import_module(name)


def _main_as_a_script() -> None:
    """The fork server runs as ``python -c``: its ``__main__`` has neither a spec nor a file, which pyspark
    (the `spark` extra; pandera imports it when installed) takes for a doctest run, and exits 0 on import
    (``pyspark.sql.connect.utils.check_dependencies``). A script's ``__main__`` has a file: so does this one."""
    main = sys.modules["__main__"]
    if getattr(main, "__spec__", None) is None and not hasattr(main, "__file__"):
        main.__file__ = __file__


def _run(target: str, args: Sequence[str], env: Mapping[str, str], cwd: str, out: str, err: str) -> None:
    _main_as_a_script()  # also when the preload could not run
    for path, fd in ((out, 1), (err, 2)):
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(handle, fd)
        os.close(handle)
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    code = 1
    try:
        if ":" in target:  # a console script's entry point, as its script calls it
            module, function = target.split(":")
            sys.argv = [function, *args]
            code = getattr(importlib.import_module(module), function)() or 0
        else:  # python -m target
            sys.argv = [target, *args]
            runpy.run_module(target, run_name="__main__", alter_sys=True)
            code = 0
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    except BaseException:
        traceback.print_exc()
    finally:
        with contextlib.suppress(BaseException):
            threading._shutdown()  # type: ignore[attr-defined]  # an interpreter's exit: threads joined first,
            atexit._run_exitfuncs()  # then the exit handlers: logging flushed, connections closed
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)


def run_module(
    module: str, args: Sequence[str], *, env: Mapping[str, str], cwd: Path, timeout: float = 900
) -> subprocess.CompletedProcess:
    """``python -m module args`` with ``env`` as its whole environment, in ``cwd``: the exit code and the
    output as ``subprocess.run(..., capture_output=True, text=True)`` gives them. ``module`` may also be a
    console script's entry point (``dagster_dg_cli.cli:main`` for ``dg``)."""
    with tempfile.TemporaryDirectory(prefix="warm-run-") as folder:
        out, err = str(Path(folder) / "stdout"), str(Path(folder) / "stderr")
        process = _fork_server().Process(
            target=_run, args=(module, list(args), dict(env), str(cwd), out, err), daemon=False
        )
        process.start()
        process.join(timeout)
        if process.is_alive():
            process.kill()
            process.join()
            raise subprocess.TimeoutExpired([module, *args], timeout, *_read(out, err))
        return subprocess.CompletedProcess(
            [sys.executable, "-m", module, *args],
            process.exitcode if process.exitcode is not None else 1,
            *_read(out, err),
        )


def _read(*paths: str) -> list[str]:
    return [Path(path).read_text(errors="replace") if Path(path).exists() else "" for path in paths]
