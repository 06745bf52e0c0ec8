"""The dbt command the pipeline runs: dbt itself, with partial parsing kept across warehouse paths.

dbt re-parses the whole project (about 4 s here) whenever the profile's connection details differ from
the last parse, and the DuckDB file's path is one of them: every new pipeline home (a test, a benchmark
tier, a company moved to another disk) paid a full parse on each of its dbt assets. The path cannot
change what the project parses to: no model, macro or test reads ``target.path`` (tests/test_dbt_project.py
checks), and the database name dbt derives from the path's stem stays in the hash. Everything else dbt
checks before it reuses a parse (its version, the vars, every file's checksum) still applies.

A ``build`` also writes ``manifest.json`` once, not twice: dbt writes it after parsing and again when the
build ends (with the compiled SQL), and the second overwrites the first; each write is 0.6 s of JSON for
this project, on each of a run's four dbt invocations. Every other command (``parse`` above all) writes it
as dbt does.
"""

from __future__ import annotations

import sys


def keep_partial_parse_across_paths() -> None:
    from dbt.adapters.duckdb.credentials import DuckDBCredentials

    keys = DuckDBCredentials._connection_keys
    if getattr(keys, "_without_path", False):
        return

    def connection_keys_without_path(self) -> tuple[str, ...]:
        return tuple(key for key in keys(self) if key != "path")

    connection_keys_without_path._without_path = True  # type: ignore[attr-defined]  # a marker: patched once
    DuckDBCredentials._connection_keys = connection_keys_without_path  # type: ignore[method-assign]  # the patch


# The commands whose task writes manifest.json itself when it ends (dbt.task.runnable).
WRITE_MANIFEST_AT_END = frozenset({"build", "run", "test", "seed", "snapshot"})


def write_manifest_once(command: str | None) -> None:
    """Skip the parse's write of manifest.json for a command that writes it again at its end."""
    if command not in WRITE_MANIFEST_AT_END:
        return
    import dbt.parser.manifest
    import dbt.task.runnable  # imported first: it binds the real write_manifest, for the end

    def written_at_the_end(*args, **kwargs) -> None:
        return None

    # parse_manifest calls the module's write_manifest; dbt.task.runnable holds its own reference, untouched.
    dbt.parser.manifest.write_manifest = written_at_the_end  # the patch


def main() -> int:
    keep_partial_parse_across_paths()
    # The command comes first as Dagster, make and the tests call dbt; anything else (a global flag first) is
    # left to dbt as it is.
    write_manifest_once(sys.argv[1] if len(sys.argv) > 1 else None)
    from dbt.cli.main import cli

    sys.argv[0] = "dbt"
    return cli()


if __name__ == "__main__":
    sys.exit(main())
