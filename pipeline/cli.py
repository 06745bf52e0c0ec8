"""The ``pipeline`` command: generate the demo company, run the demo, open the UI, print a summary, inspect
an export."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from pipeline.config import Settings

DAGSTER_YAML = """\
# Written by `pipeline` when DAGSTER_HOME has no dagster.yaml. Storage stays in this folder (SQLite).
# For PostgreSQL run storage in production see docs/operations.md.
concurrency:
  pools:
    # duckdb_warehouse: one writer of the DuckDB file at a time, across runs.
    default_limit: 1
# A failed run is retried (jobs carry dagster/max_retries); needs the daemon (`dagster dev` runs one).
run_retries:
  enabled: true
  max_retries: 2
telemetry:
  enabled: false
"""


def dagster_env(settings: Settings) -> dict[str, str]:
    """The environment for Dagster commands: DAGSTER_HOME defaults to PIPELINE_HOME/dagster_home."""
    env = dict(os.environ)
    home = Path(env.get("DAGSTER_HOME") or settings.home / "dagster_home")
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML)
    env["DAGSTER_HOME"] = str(home)
    env["PIPELINE_HOME"] = str(settings.home)
    # Tools installed beside this interpreter (dbt, for dagster-dbt's prepare_if_dev) without activating the venv.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def landing_is_empty(landing_dir: Path) -> bool:
    return not any(p.is_file() for p in landing_dir.rglob("*")) if landing_dir.exists() else True


def cmd_generate(args: argparse.Namespace) -> int:
    from pipeline.demo.generator import generate_demo_company

    settings = Settings.from_env()
    landing = Path(args.out).resolve() if args.out else settings.landing_dir
    truth = Path(args.truth).resolve() if args.truth else (landing.parent / "truth" if args.out else settings.truth_dir)
    try:
        shape = company_shape(args)
        summary = generate_demo_company(
            landing,
            truth,
            accounts=args.accounts,
            months=args.months,
            seed=args.seed,
            end_month=args.end_month,
            shape=shape,
            retention=_retention_policy(args),
        )
    except ValueError as error:
        print(f"pipeline generate: {error}", file=sys.stderr)
        return 2
    rows = ", ".join(f"{entity} {count:,}" for entity, count in summary.rows.items())
    print(f"Demo company written to {landing} (truth in {truth}) in {summary.elapsed_seconds:.1f} s: {rows}")
    return 0


def company_shape(args: argparse.Namespace):
    """The named shape with the flags' changes on top."""
    from dataclasses import replace

    from pipeline.demo.shape import SHAPES

    if args.shape not in SHAPES:
        raise ValueError(f"unknown shape {args.shape!r}: one of {', '.join(SHAPES)}")
    shape = SHAPES[args.shape].with_absent(*[e.strip() for e in args.absent.split(",") if e.strip()])
    changes = {name: True for name in ("required_columns_only", "digit_ids", "scale_from_one") if getattr(args, name)}
    if args.relationship_waves is not None:
        changes["relationship_waves"] = args.relationship_waves
    if args.accounts_missing_from_crm is not None:
        changes["accounts_missing_from_crm"] = args.accounts_missing_from_crm
    return replace(shape, **changes)  # type: ignore[arg-type]  # the fields named in `changes`, each its type


def cmd_partitions(args: argparse.Namespace) -> int:
    """The partition range of every monthly partition, for `dg launch --partition-range`."""
    from assets.partitions import account_months

    keys = account_months.get_partition_keys()
    print(f"{keys[0]}...{keys[-1]}")
    return 0


def cmd_newest_month(args: argparse.Namespace) -> int:
    """The newest month of the data: the partition `score_month` scores next."""
    try:
        print(newest_snapshot_month(Settings.from_env()))
    except ValueError as error:
        print(f"pipeline newest-month: {error}", file=sys.stderr)
        return 2
    return 0


def _retention_policy(args: argparse.Namespace):
    """The planted retention policy with the effect asked for (--retention-effect; 'none': no policy)."""
    import dataclasses

    from pipeline.demo.generator import PLANTED_RETENTION

    if args.retention_effect == "none":
        return None
    return dataclasses.replace(PLANTED_RETENTION, odds_multiplier=float(args.retention_effect))


def cmd_demo(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    if landing_is_empty(settings.landing_dir):
        print(f"Landing zone {settings.landing_dir} is empty: generating the demo company ...", flush=True)
        from pipeline.demo.generator import generate_demo_company

        generate_demo_company(
            settings.landing_dir,
            settings.truth_dir,
            accounts=args.accounts,
            months=args.months,
            seed=args.seed,
            retention=_retention_policy(args),
        )
    env = dagster_env(settings)
    # The jobs as a data engineer runs them on real exports (README): Dagster's `dg launch`. 1. Ingest, the
    # warehouse over every monthly partition and the churn model; 2. score the newest month of data, then
    # the marts it feeds, and publish.
    dg = [str(Path(sys.executable).parent / "dg"), "launch", "-m", "pipeline.definitions"]
    from assets.partitions import account_months

    keys = account_months.get_partition_keys()
    steps = [[*dg, "--job", "refresh_and_train", "--partition-range", f"{keys[0]}...{keys[-1]}"]]
    logs = settings.home / "logs"
    for index, command in enumerate(steps):
        job = command[command.index("--job") + 1]
        log = logs / f"demo-{job}.log"
        print(f"Running: {' '.join(['dg', *command[1:]])}\n  (Dagster's and dbt's output: {log})", flush=True)
        returncode, seconds = run_logged(command, env, log)
        if returncode != 0:
            print(failure_tail(log), file=sys.stderr)
            print(f"The run failed: the whole log is {log}; `make ui` shows the run's details.", file=sys.stderr)
            return returncode
        print(f"  {job} finished in {seconds:.0f} s", flush=True)
        if index == 0:
            try:
                month = newest_snapshot_month(settings)
            except ValueError as error:
                print(f"pipeline demo: {error}", file=sys.stderr)
                return 1
            steps.append([*dg, "--job", "score_month", "--partition", month])
    print_summary(settings, env["DAGSTER_HOME"])
    return 0


def run_logged(command: list[str], env: dict[str, str], log: Path) -> tuple[int, float]:
    """Run ``command`` with its output in ``log`` (replaced): the demo prints what it found, not the
    thousand lines of a run's events and dbt's per-test lines. Returns (exit code, seconds)."""
    import time

    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with open(log, "wb") as out:
        # Unbuffered, so that an error lands in the log after the lines that led to it.
        completed = subprocess.run(
            command, env={**env, "PYTHONUNBUFFERED": "1"}, stdout=out, stderr=subprocess.STDOUT, check=False
        )
    return completed.returncode, time.monotonic() - started


def failure_tail(log: Path, lines: int = 40) -> str:
    """The end of a failed run's log without Dagster's DEBUG events: where the error is."""
    kept = [line for line in log.read_text(errors="replace").splitlines() if " - DEBUG - " not in line]
    return "\n".join(kept[-lines:])


def newest_snapshot_month(settings: Settings) -> str:
    """The month the data reaches (the reporting period's month): the partition the demo scores. Refused,
    naming the setting, when that month is before the first monthly partition."""
    from datetime import date

    from pipeline import dbt
    from pipeline.orchestration import require_data_within_partitions
    from pipeline.warehouse import connect

    with connect(settings.warehouse_path, read_only=True) as conn:
        month = dbt.newest_snapshot_month(conn)
        data_months = dbt.data_month_range(conn)
    if data_months:
        require_data_within_partitions(date.fromisoformat(settings.first_snapshot_month), data_months)
    return month


def print_summary(settings: Settings, dagster_home: str, show_tables: bool = False) -> None:
    from pipeline.warehouse import connect

    with connect(settings.warehouse_path, read_only=True) as conn:
        tables = conn.execute(
            """
            select table_schema || '.' || table_name from information_schema.tables
            where table_schema in ('raw', 'marts', 'ml') order by table_schema desc, table_name
            """
        ).fetchall()
        quarantined = dict(
            conn.execute(
                "select source || '__' || entity, count(distinct (file, sheet, row_number)) "
                "from quarantine.rejected_rows group by all"
            ).fetchall()
        )
        files = conn.execute("select count(*) from meta.ingest_ledger where status = 'loaded'").fetchall()[0][0]
        counts = {table: conn.execute(f"select count(*) from {table}").fetchall()[0][0] for (table,) in tables}
        raw = {t: n for t, n in counts.items() if t.startswith("raw.")}
        print(
            f"\nLoaded {sum(raw.values()):,} rows into {len(raw)} raw tables "
            f"({sum(quarantined.values()):,} rows quarantined, with their reasons); "
            f"{sum(t.startswith('marts.') for t in counts)} marts and {sum(t.startswith('ml.') for t in counts)} "
            "model tables built (`pipeline summary --tables` lists them)."
        )
        if show_tables:
            for table, rows in counts.items():
                print(f"  {table:<32} {rows:>12,}  {quarantined.get(table.split('.', 1)[1], 0):>8,}")
        found = _findings(conn)
        act_on = _accounts_to_act_on(conn)
    if found:
        print("\nWhat the data says (insight/headlines):")
        for name, text in found.items():
            print(f"  - {name.replace('_', ' ')}: {text}")
    if act_on:
        print("\nAccounts to act on first (retain, most revenue at risk):")
        for name, tier, probability, at_risk, action in act_on:
            risk = f"churn risk {float(probability):.0%}, " if probability is not None else ""
            money = f"EUR {float(at_risk):,.0f} at risk" if at_risk is not None else "revenue at risk unknown"
            print(f"  - {name} (tier {tier}, {risk}{money})")
            print(f"      {action}")
    print(f"\nFiles loaded: {files}")
    print(f"Landing zone: {settings.landing_dir}")
    print(f"Warehouse:    {settings.warehouse_path}")
    print("Quarantine:   table quarantine.rejected_rows in the warehouse")
    print(f"BI release:   {settings.bi_dir / 'current'}  (Parquet; CURRENT names the release)")
    print(f"Brief:        {settings.bi_dir / 'brief.html'}  (one HTML file: open it in a browser, or mail it)")
    print(f"Power BI:     {settings.bi_dir / 'powerbi'}  (open the .pbip; docs/powerbi.md)")
    print(f"Dagster home: {dagster_home}  (browse the runs with `make ui`, http://127.0.0.1:3000)")


def _accounts_to_act_on(conn) -> list[tuple]:
    from pipeline.insight.headlines import accounts_to_act_on

    try:
        return accounts_to_act_on(conn)
    except Exception:  # a summary of a half-built warehouse still prints the rest
        return []


def _findings(conn) -> dict[str, str]:
    """The run's headlines, first what the release withholds and why; none before the marts exist."""
    from pipeline.insight import headlines

    try:
        return headlines.headlines(conn)
    except Exception:  # a summary of a half-built warehouse still prints the rest
        return {}


def cmd_summary(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    print_summary(settings, dagster_env(settings)["DAGSTER_HOME"], show_tables=args.tables)
    return 0


def cmd_ui(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    env = dagster_env(settings)
    command = [sys.executable, "-m", "dagster", "dev", "-h", args.host, "-p", str(args.port), "-w", "workspace.yaml"]
    # Become `dagster dev`: Ctrl-C and SIGTERM then reach it directly and it stops its own children.
    os.execve(sys.executable, command, env)  # noqa: S606 - our own interpreter, argument list


def cmd_inspect(args: argparse.Namespace) -> int:
    from pipeline.ingest.inspection import inspect_file, report
    from pipeline.ingest.mapping import MappingError
    from pipeline.ingest.readers import UnreadableFileError

    path = Path(args.file)
    if not path.is_file():
        print(f"{path}: no such file", file=sys.stderr)
        return 2
    mapping = Path(args.mapping) if args.mapping else None
    try:
        inspection = inspect_file(path, source=args.source, entity=args.entity, system=args.system, mapping=mapping)
    except (UnreadableFileError, MappingError, ValueError) as error:
        print(f"cannot inspect {path}: {error}", file=sys.stderr)
        return 1
    print(report(inspection), end="")
    if mapping is not None:
        return 1 if inspection.load_error else 0
    if not args.no_draft:
        draft = Path(args.draft or f"mapping-draft-{path.stem}.yml")
        draft.write_text(inspection.draft, encoding="utf-8")
        print(f"\nDraft mapping written to {draft}: edit it, then move it to the mappings folder (docs/ingest.md).")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pipeline", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    generate = commands.add_parser("generate", help="write the deterministic demo company's landing zone")
    generate.add_argument("--accounts", type=int, default=2000)
    generate.add_argument("--months", type=int, default=36)
    generate.add_argument("--seed", type=int, default=42)
    generate.add_argument(
        "--retention-effect",
        default="0.6",
        help="planted retention policy: the called accounts' churn-odds multiplier (1: no effect; none: no policy)",
    )
    generate.add_argument("--end-month", default="2026-10", help="last simulated month, YYYY-MM")
    generate.add_argument("--out", help="landing folder (default: PIPELINE_LANDING_DIR or PIPELINE_HOME/landing)")
    generate.add_argument("--truth", help="truth folder (default: 'truth' beside the landing folder)")
    generate.add_argument(
        "--shape",
        default="full",
        help="a named company shape (pipeline/demo/shape.py): "
        "full, required_columns, no_survey, survey_only, accounts_and_invoices, single_wave",
    )
    generate.add_argument("--absent", default="", help="entities to leave out too, comma separated (e.g. payments)")
    generate.add_argument("--required-columns-only", action="store_true", help="write required columns only")
    generate.add_argument("--digit-ids", action="store_true", help="account ids of digits with leading zeros")
    generate.add_argument("--scale-from-one", action="store_true", help="survey answers on a 1-10 scale")
    generate.add_argument("--relationship-waves", type=int, help="keep only the newest N relationship waves")
    generate.add_argument("--accounts-missing-from-crm", type=int, help="leave the first N accounts out of the CRM")
    generate.set_defaults(func=cmd_generate)

    demo = commands.add_parser("demo", help="generate if the landing zone is empty, then materialise everything")
    demo.add_argument("--accounts", type=int, default=int(os.environ.get("PIPELINE_DEMO_ACCOUNTS", "2000")))
    demo.add_argument("--months", type=int, default=int(os.environ.get("PIPELINE_DEMO_MONTHS", "36")))
    demo.add_argument("--seed", type=int, default=42)
    demo.add_argument(
        "--retention-effect",
        default="0.6",
        help="planted retention policy: the called accounts' churn-odds multiplier (1: no effect; none: no policy)",
    )
    demo.set_defaults(func=cmd_demo)
    partitions = commands.add_parser(
        "partitions", help="print FIRST...LAST of the monthly partitions (for dg launch --partition-range)"
    )
    partitions.set_defaults(func=cmd_partitions)
    newest = commands.add_parser("newest-month", help="print the newest month of the data (score_month's partition)")
    newest.set_defaults(func=cmd_newest_month)

    summary = commands.add_parser("summary", help="print what the warehouse holds and what it says")
    summary.add_argument("--tables", action="store_true", help="list every table with its rows")
    summary.set_defaults(func=cmd_summary)

    inspect = commands.add_parser(
        "inspect", help="show how an export reads, propose a source mapping to the contract, and write a draft"
    )
    inspect.add_argument("file", help="the export: CSV, XLSX or Parquet")
    inspect.add_argument("--source", choices=["crm", "survey", "finance"], help="default: guessed")
    inspect.add_argument("--entity", help="the contract entity, e.g. accounts (default: guessed from the header)")
    inspect.add_argument("--system", help="the exporting system's name, for the draft (e.g. HubSpot)")
    inspect.add_argument("--draft", help="where to write the draft mapping (default: ./mapping-draft-<file>.yml)")
    inspect.add_argument("--no-draft", action="store_true", help="only print, write no draft")
    inspect.add_argument(
        "--mapping", help="check an existing mapping file against the export: trial-load through it, write no draft"
    )
    inspect.set_defaults(func=cmd_inspect)
    ui = commands.add_parser("ui", help="start the Dagster UI over the same data")
    ui.add_argument("--host", default="127.0.0.1")
    ui.add_argument("--port", type=int, default=3000)
    ui.set_defaults(func=cmd_ui)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
