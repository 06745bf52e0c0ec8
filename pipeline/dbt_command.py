"""The dbt command the pipeline runs: dbt itself, with partial parsing kept across warehouse paths.

dbt re-parses the whole project (about 4 s here) whenever the profile's connection details differ from
the last parse, and the DuckDB file's path is one of them: every new pipeline home (a test, a benchmark
tier, a company moved to another disk) paid a full parse on each of its dbt assets. The path cannot
change what the project parses to: no model, macro or test reads ``target.path`` (tests/test_dbt_project.py
checks), and the database name dbt derives from the path's stem stays in the hash. Everything else dbt
checks before it reuses a parse (its version, the vars, every file's checksum) still applies.
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


def main() -> int:
    keep_partial_parse_across_paths()
    from dbt.cli.main import cli

    sys.argv[0] = "dbt"
    return cli()


if __name__ == "__main__":
    sys.exit(main())
