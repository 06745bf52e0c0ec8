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

What is not the same as a new interpreter, and why it does not matter to what the tests check: the
libraries' module-level state is the fork server's (none of them read the pipeline's environment when
imported), and the interpreter's exit handlers run when the runner returns, as they would at exit.
The kill trials start real interpreters (tests/reliability/safety.py): they kill process groups.
"""

from __future__ import annotations

import atexit
import contextlib
import multiprocessing
import os
import runpy
import subprocess
import sys
import tempfile
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
        context.set_forkserver_preload(list(PRELOAD))
        _context = context
    return _context


def _run_module(module: str, args: Sequence[str], env: Mapping[str, str], cwd: str, out: str, err: str) -> None:
    for path, fd in ((out, 1), (err, 2)):
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(handle, fd)
        os.close(handle)
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    sys.argv = [module, *args]
    code = 1
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    except BaseException:
        traceback.print_exc()
    finally:
        with contextlib.suppress(BaseException):
            atexit._run_exitfuncs()  # an interpreter's exit: logging flushed, connections closed
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)


def run_module(
    module: str, args: Sequence[str], *, env: Mapping[str, str], cwd: Path, timeout: float = 900
) -> subprocess.CompletedProcess:
    """``python -m module args`` with ``env`` as its whole environment, in ``cwd``: the exit code and the
    output as ``subprocess.run(..., capture_output=True, text=True)`` gives them."""
    with tempfile.TemporaryDirectory(prefix="warm-run-") as folder:
        out, err = str(Path(folder) / "stdout"), str(Path(folder) / "stderr")
        process = _fork_server().Process(
            target=_run_module, args=(module, list(args), dict(env), str(cwd), out, err), daemon=False
        )
        process.start()
        process.join(timeout)
        if process.is_alive():
            process.kill()
            process.join()
            raise subprocess.TimeoutExpired([module, *args], timeout)
        return subprocess.CompletedProcess(
            [sys.executable, "-m", module, *args],
            process.exitcode if process.exitcode is not None else 1,
            *(Path(path).read_text(errors="replace") if Path(path).exists() else "" for path in (out, err)),
        )
