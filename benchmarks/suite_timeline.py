"""Where the test suite's workers wait: reads the file ``PYTEST_TIMELINE`` wrote during a run
(``make test PYTEST_ARGS=... `` with ``PYTEST_TIMELINE=/tmp/timeline.jsonl`` in the environment) and prints,
per worker, its busy and idle seconds, its longest tests and the idle tail after its last test.

    PYTEST_TIMELINE=/tmp/timeline.jsonl make test
    .venv/bin/python benchmarks/suite_timeline.py /tmp/timeline.jsonl
"""

from __future__ import annotations

import itertools
import json
import sys
from collections import defaultdict
from pathlib import Path


def main(path: str) -> None:
    rows = [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    first, last = min(r["start"] for r in rows), max(r["end"] for r in rows)
    by_worker: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_worker[row["worker"]].append(row)
    print(f"{len(rows)} tests, {last - first:.0f} s from the first start to the last end")
    for worker, tests in sorted(by_worker.items()):
        tests.sort(key=lambda r: r["start"])
        busy = sum(r["end"] - r["start"] for r in tests)
        gaps = sum(max(0.0, b["start"] - a["end"]) for a, b in itertools.pairwise(tests))
        tail = last - tests[-1]["end"]
        print(f"{worker}: {len(tests)} tests, busy {busy:.0f} s, between tests {gaps:.0f} s, idle tail {tail:.0f} s")
        for row in sorted(tests, key=lambda r: r["start"] - r["end"])[:5]:
            print(f"    {row['end'] - row['start']:6.1f} s at +{row['start'] - first:5.0f} s  {row['test']}")


if __name__ == "__main__":
    main(sys.argv[1])
