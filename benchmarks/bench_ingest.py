"""Ingest benchmark: the pipeline's ingest against DuckDB's own readers on the same landing zone.

    python benchmarks/bench_ingest.py --accounts 100000 --months 36 [--work DIR] [--keep]

Generates the demo company (or reuses it in --work), then runs two phases, each in a fresh process so
that peak memory (ru_maxrss) is measured per phase:
- reference: every file loaded by DuckDB's own readers into its own plain table (read_csv with
  auto-detection, read_parquet). What DuckDB cannot read here is read the way any DuckDB user here
  must: Windows-1252 CSVs transcoded to UTF-8 first (DuckDB's latin-1 rejects the euro sign and its
  encodings extension cannot be installed offline), XLSX through calamine. No validation, no lineage.
- pipeline: ``ingest_entity`` for every contract entity into an empty warehouse: detection, typing,
  every contract check, quarantine, ledger and lineage.
- mapped: the same, on a copy of the landing zone as another system would export it: every CSV and Parquet
  file renamed (``export-<entity>-<date>``) with every column renamed (``Account Id (crm)``), read through
  a source mapping that renames every column back and maps two value sets (account status, activity
  type). The copy is made before the phase and not timed. XLSX drops (cost to serve) keep their names:
  rewriting millions of cells is the export tool's work, not the benchmark's.
Prints one JSON document; writes it to benchmarks/results/ingest-<accounts>x<months>.json too.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def phase_reference(landing: Path, warehouse: Path) -> dict:
    import duckdb

    from pipeline.contract import CONTRACTS
    from pipeline.ingest.landing import discover
    from pipeline.ingest.readers import detect_encoding, read_xlsx, transcode_to_utf8

    conn = duckdb.connect(str(warehouse))
    rows, seconds = {}, {}
    started = time.perf_counter()
    for contract in CONTRACTS:
        entity_started = time.perf_counter()
        files, _ = discover(landing, contract.source, contract.entity, frozenset())
        total = 0
        # One plain table per file, types as DuckDB infers them: the least a DuckDB user would do.
        for index, file in enumerate(files):
            table = f"{contract.table}_{index}"
            as_text = None
            if file.format == "csv":
                path = file.path
                encoding = detect_encoding(path)
                if encoding not in ("utf-8", "utf-8-sig"):
                    # DuckDB's built-in latin-1 rejects Windows-1252's 0x80-0x9F (the euro sign, say),
                    # and its encodings extension cannot be installed offline: transcode first.
                    path = warehouse.parent / f"{table}.csv"
                    transcode_to_utf8(file.path, encoding, path)
                relation = f"select * from read_csv('{path}')"
                as_text = f"select * from read_csv('{path}', all_varchar = true)"
            elif file.format == "parquet":
                relation = f"select * from read_parquet('{file.path}')"
            else:
                read = read_xlsx(conn, file, set())
                relation = f"select * from {read.table}"
            try:
                conn.execute(f"create table {table} as {relation}")
            except duckdb.Error:
                if as_text is None:
                    raise
                # A value that breaks the inferred type (e.g. 'kyllä' in a boolean): read as text.
                conn.execute(f"create table {table} as {as_text}")
            total += conn.execute(f"select count(*) from {table}").fetchall()[0][0]
            if file.format == "csv" and path != file.path:
                path.unlink()
        rows[contract.table] = total
        seconds[contract.table] = round(time.perf_counter() - entity_started, 2)
    elapsed = time.perf_counter() - started
    conn.close()
    return {"seconds": round(elapsed, 2), "rows": rows, "entity_seconds": seconds}


def phase_pipeline(landing: Path, warehouse: Path, mappings: Path | None = None) -> dict:
    from pipeline.config import Settings
    from pipeline.contract import CONTRACTS
    from pipeline.ingest.loader import ingest_entity
    from pipeline.warehouse import connect

    settings = Settings.from_env()
    per_entity = {}
    started = time.perf_counter()
    with connect(warehouse, memory_limit=settings.duckdb_memory_limit, threads=settings.duckdb_threads) as conn:
        for contract in CONTRACTS:
            entity_started = time.perf_counter()
            result = ingest_entity(
                conn,
                contract,
                landing,
                "bench",
                max_quarantine_share=1.0,
                tmp_dir=warehouse.parent,
                mappings_dir=mappings,
            )
            per_entity[contract.table] = {
                "seconds": round(time.perf_counter() - entity_started, 2),
                "files": len(result.loaded),
                "rows_read": result.rows_read,
                "rows_loaded": result.rows_loaded,
                "rows_quarantined": result.rows_quarantined,
            }
    return {"seconds": round(time.perf_counter() - started, 2), "entities": per_entity}


def _exported_name(column: str, source: str) -> str:
    return f"{column.replace('_', ' ').title()} ({source})"


MAPPED_VALUES = {
    ("crm", "accounts", "status"): {"Active": "active", "Closed": "closed"},
    ("crm", "activities", "activity_type"): {"Meeting": "meeting", "Call": "call", "Email": "email", "Visit": "visit"},
}


def prepare_mapped_landing(landing: Path, mapped: Path) -> Path:
    """The landing zone as another system exports it, and the mapping that reads it; returns the mappings
    folder."""
    import shutil

    import duckdb
    import yaml

    from pipeline.contract import CONTRACTS
    from pipeline.ingest.landing import discover
    from pipeline.ingest.readers import detect_delimiter, detect_encoding

    if mapped.exists():
        shutil.rmtree(mapped)
    mappings = mapped / "mappings"
    mappings.mkdir(parents=True)
    rules: dict[str, list] = {}
    conn = duckdb.connect()
    for contract in CONTRACTS:
        files, _ = discover(landing, contract.source, contract.entity, frozenset())
        headers: set[str] = set()
        for file in files:
            target_dir = mapped / "landing" / contract.source
            target_dir.mkdir(parents=True, exist_ok=True)
            stamp = file.extract_date.strftime("%Y%m%d")
            suffix = file.path.name.split(stamp, 1)[1]  # keeps _part2.csv and the like
            if file.format == "csv":
                encoding = detect_encoding(file.path)
                with open(file.path, "rb") as source_file:
                    first = source_file.readline()
                    line_end = b"\r\n" if first.endswith(b"\r\n") else b"\n"
                    text = first.decode(encoding).lstrip("\ufeff").rstrip("\r\n")
                    delimiter = detect_delimiter(text + "\n")
                    names = text.split(delimiter)
                    headers.update(names)
                    renamed = delimiter.join(_exported_name(n, contract.source) for n in names)
                    with open(target_dir / f"export-{contract.entity}-{stamp}{suffix}", "wb") as out:
                        out.write(renamed.encode(encoding) + line_end)
                        shutil.copyfileobj(source_file, out, 1 << 22)
            elif file.format == "parquet":
                names = [
                    row[0]
                    for row in conn.execute("describe select * from read_parquet(?)", [str(file.path)]).fetchall()
                ]
                headers.update(names)
                select = ", ".join(f'"{n}" as "{_exported_name(n, contract.source)}"' for n in names)
                target = target_dir / f"export-{contract.entity}-{stamp}{suffix}"
                conn.execute(f"copy (select {select} from read_parquet('{file.path}')) to '{target}' (format parquet)")
            else:
                shutil.copy2(file.path, target_dir / file.path.name)
        schema = contract.schema(files[0].extract_date) if files else None
        if schema is None:
            continue
        columns: dict[str, object] = {}
        for name in sorted(headers):
            if name in schema.columns or any(
                c.regex and __import__("re").fullmatch(k, name) for k, c in schema.columns.items()
            ):
                values = MAPPED_VALUES.get((contract.source, contract.entity, name))
                source_name = _exported_name(name, contract.source)
                columns[name] = {"from": source_name, "values": values} if values else source_name
        rules.setdefault(contract.source, []).append(
            {
                "match": [f"export-{contract.entity}-*.csv", f"export-{contract.entity}-*.parquet"],
                "entity": contract.entity,
                "columns": columns,
            }
        )
    for source, files in rules.items():
        document = {"system": f"benchmark export ({source})", "source": source, "files": files}
        (mappings / f"{source}.yml").write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True))
    conn.close()
    return mappings


def run_phase(name: str, landing: Path, work: Path, mappings: Path | None = None) -> dict:
    warehouse = work / f"{name}.duckdb"
    warehouse.unlink(missing_ok=True)
    extra = ["--mappings", str(mappings)] if mappings else []
    output = subprocess.run(
        [sys.executable, __file__, "--phase", name, "--landing", str(landing), "--warehouse", str(warehouse), *extra],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result = json.loads(output.strip().splitlines()[-1])
    result["warehouse_bytes"] = warehouse.stat().st_size
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--work", help="folder to generate into and reuse between runs")
    parser.add_argument("--phase", choices=["reference", "pipeline", "mapped"], help=argparse.SUPPRESS)
    parser.add_argument("--mappings", help=argparse.SUPPRESS)
    parser.add_argument("--landing", help=argparse.SUPPRESS)
    parser.add_argument("--warehouse", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.phase:
        if args.phase == "reference":
            result = phase_reference(Path(args.landing), Path(args.warehouse))
        else:
            mappings = Path(args.mappings) if args.mappings else None
            result = phase_pipeline(Path(args.landing), Path(args.warehouse), mappings)
        result["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        print(json.dumps(result))
        return

    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    landing = work / "landing"
    generated = None
    if not landing.exists():
        from pipeline.demo.generator import generate_demo_company

        summary = generate_demo_company(
            landing, work / "truth", accounts=args.accounts, months=args.months, seed=args.seed
        )
        generated = {"seconds": round(summary.elapsed_seconds, 1), "rows": summary.rows}
    landing_bytes = sum(p.stat().st_size for p in landing.rglob("*") if p.is_file())
    reference = run_phase("reference", landing, work)
    pipeline = run_phase("pipeline", landing, work)
    mappings = prepare_mapped_landing(landing, work / "mapped")
    mapped = run_phase("mapped", work / "mapped" / "landing", work, mappings)
    report = {
        "accounts": args.accounts,
        "months": args.months,
        "landing_mib": round(landing_bytes / 2**20, 1),
        "generated": generated,
        "reference": reference,
        "pipeline": pipeline,
        "mapped": mapped,
        "time_ratio": round(pipeline["seconds"] / reference["seconds"], 2),
        "mapped_time_ratio": round(mapped["seconds"] / pipeline["seconds"], 2),
        "mapped_peak_ratio": round(mapped["peak_rss_mib"] / pipeline["peak_rss_mib"], 2),
        "targets": {
            "time_ratio_at_most": 2.0,
            "peak_rss_mib_at_most": 3072,
            "mapped_time_ratio_at_most": 1.1,
            "mapped_peak_ratio_at_most": 1.1,
        },
    }
    results = ROOT / "benchmarks" / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / f"ingest-{args.accounts}x{args.months}.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
