"""Demo company generation benchmark: wall time, peak memory, rows and bytes.

    python benchmarks/bench_generate.py --accounts 100000 --months 36 [--out DIR] [--keep]

Generates into --out (default: a temporary folder, deleted afterwards unless --keep) and prints one JSON
document. Peak memory is the process's ru_maxrss (KiB on Linux). Target (100,000 x 36 on 2 cores):
at most 300 s and 4 GiB; the exit status is 1 when a company of at most that size misses it.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_SECONDS = 300
TARGET_PEAK_MIB = 4096


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--end-month", default="2026-10")
    parser.add_argument("--out", help="folder to generate into (landing/ and truth/ below it)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()

    from pipeline.demo.generator import generate_demo_company

    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="bench-generate-"))
    started = time.perf_counter()
    try:
        summary = generate_demo_company(
            out / "landing",
            out / "truth",
            accounts=args.accounts,
            months=args.months,
            seed=args.seed,
            end_month=args.end_month,
        )
        wall = time.perf_counter() - started
        truth_bytes = sum(p.stat().st_size for p in (out / "truth").iterdir() if p.is_file())
    finally:
        if not args.out and not args.keep:
            shutil.rmtree(out, ignore_errors=True)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    report = {
        "accounts": args.accounts,
        "months": args.months,
        "seed": args.seed,
        "wall_seconds": round(wall, 1),
        "generator_seconds": round(summary.elapsed_seconds, 1),
        "peak_rss_kib": peak_kib,
        "peak_rss_mib": round(peak_kib / 1024, 1),
        "children_peak_rss_kib": children_kib,
        "rows": summary.rows,
        "rows_total": sum(summary.rows.values()),
        "files": len(summary.files),
        "landing_bytes": summary.bytes_written,
        "truth_bytes": truth_bytes,
        "realised": summary.realised,
        "targets": {"wall_seconds_at_most": TARGET_SECONDS, "peak_rss_mib_at_most": TARGET_PEAK_MIB},
        # The targets are set for 100,000 accounts x 36 months; bigger companies are reported, not judged.
        "meets_targets": (wall <= TARGET_SECONDS and peak_kib / 1024 <= TARGET_PEAK_MIB)
        if args.accounts * args.months <= 100_000 * 36
        else None,
        "out": str(out) if (args.out or args.keep) else None,
    }
    print(json.dumps(report, indent=2))
    return 1 if report["meets_targets"] is False else 0


if __name__ == "__main__":
    sys.exit(main())
