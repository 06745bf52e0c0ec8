"""The `pipeline` command as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def _pipeline(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_generate_writes_the_landing_zone_and_the_truth_beside_it(tmp_path: Path):
    landing = tmp_path / "company" / "landing"
    result = _pipeline("generate", "--accounts", "200", "--months", "12", "--seed", "3", "--out", str(landing), env={})
    assert result.returncode == 0, result.stderr
    assert {p.name for p in landing.iterdir()} == {"crm", "survey", "finance"}
    assert (tmp_path / "company" / "truth" / "churn_probabilities.parquet").exists()
    assert not (landing / "truth").exists()  # never inside the landing zone
    assert "accounts" in result.stdout


def test_generate_refuses_sizes_outside_the_supported_range(tmp_path: Path):
    result = _pipeline("generate", "--accounts", "10", "--out", str(tmp_path / "landing"), env={})
    assert result.returncode != 0
    assert "200" in result.stderr


def test_the_demo_keeps_a_runs_output_in_its_log_and_shows_the_error_when_it_fails(tmp_path):
    import sys

    from pipeline.cli import failure_tail, run_logged

    log = tmp_path / "logs" / "demo-job.log"
    script = (
        "import sys\n"
        "for i in range(500): print(f'2026-12-02 - dagster - DEBUG - job - step {i}')\n"
        "print('dbt: 184 of 184 PASS')\n"
        "sys.stderr.write('ValueError: the data does not reach 2026-11\\n')\n"
        "sys.exit(3)\n"
    )
    returncode, seconds = run_logged([sys.executable, "-c", script], {}, log)
    assert returncode == 3 and seconds >= 0
    text = log.read_text()
    assert text.count(" - DEBUG - ") == 500 and "ValueError" in text  # stdout and stderr, whole
    tail = failure_tail(log)
    assert "DEBUG" not in tail
    assert tail.splitlines() == ["dbt: 184 of 184 PASS", "ValueError: the data does not reach 2026-11"]
    # A second run replaces the log.
    assert run_logged([sys.executable, "-c", "print('ok')"], {}, log)[0] == 0
    assert log.read_text() == "ok\n"


def test_the_summary_ends_with_the_findings_the_accounts_to_act_on_and_where_to_look(scheduled_month, capsys):
    """What `make demo` prints last, on the shared company as the schedules left it."""
    from pipeline.cli import print_summary
    from pipeline.config import Settings

    home = scheduled_month["home"]
    print_summary(Settings.from_env({"PIPELINE_HOME": str(home)}), str(home / "dagster_home"))
    printed = capsys.readouterr().out
    lines = printed.splitlines()

    assert len(lines) < 60
    findings = printed.index("What the data says")
    act_on = printed.index("Accounts to act on first")
    where = printed.index("Brief:")
    assert findings < act_on < where  # the story first, then where to open it
    assert "times as often as the rest (ROC-AUC" in printed
    assert "NPS is" in printed and "tier A" in printed
    accounts = [line for line in lines if line.startswith("  - ") and "at risk)" in line]
    assert len(accounts) == 5
    assert all(line.startswith("      Retain: ") for line in lines[lines.index(accounts[0]) + 1 :: 2][:5])
    assert str(home / "bi" / "brief.html") in printed
