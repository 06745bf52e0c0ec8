"""Security: identifiers from configuration are validated before they reach SQL, and no secret is in the
repository. (No personal data in the BI layer, the reader role that cannot write, and no password in a
run's logs, metadata or files: tests/test_end_to_end.py and tests/test_publish.py.)"""

from __future__ import annotations

import re
import subprocess
from datetime import date

import pytest

from pipeline.config import Settings
from pipeline.dbt import partition_env
from pipeline.publish.postgres import publish_postgres
from tests.dbt_cli import run_dbt
from tests.reliability.safety import REPO

HOSTILE = ["bi; drop schema public cascade", 'bi"--', "BI", "bi reader", "", "x" * 64, "1bi"]


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("variable", ["PIPELINE_BI_POSTGRES_SCHEMA", "PIPELINE_BI_READER_ROLE"])
def test_a_schema_or_role_name_from_the_environment_must_be_a_plain_identifier(variable, value):
    with pytest.raises(ValueError, match=variable):
        Settings.from_env({"PIPELINE_HOME": "/tmp/x", variable: value})


def test_plain_names_are_accepted():
    settings = Settings.from_env({"PIPELINE_BI_POSTGRES_SCHEMA": "bi_published", "PIPELINE_BI_READER_ROLE": "powerbi"})
    assert (settings.bi_postgres_schema, settings.bi_reader_role) == ("bi_published", "powerbi")


def test_publishing_refuses_a_hostile_schema_before_it_connects():
    # The URL points nowhere: the refusal must come before any connection is attempted.
    with pytest.raises(ValueError, match="not a plain SQL identifier"):
        publish_postgres(None, [], "postgresql://nobody@127.0.0.1:1/none", "run", schema="bi; drop table x")


def test_the_monthly_models_refuse_a_window_that_is_not_first_days_of_months(tmp_path):
    env = {"PIPELINE_WAREHOUSE_PATH": str(tmp_path / "w.duckdb")}
    hostile = {"PIPELINE_PARTITION_MONTH_START": "2025-01-01' or 1=1 --", "PIPELINE_PARTITION_MONTH_END": "2025-02-01"}
    inline = "select 1 as x where {{ within_partition_months('x') }}"
    refused = run_dbt(["compile", "--inline", inline], {**env, **hostile}, tmp_path)
    assert refused.returncode != 0
    assert "must be first days of months" in refused.stdout + refused.stderr
    window = partition_env(date(2025, 1, 1), date(2025, 3, 1))
    good = run_dbt(["compile", "--inline", inline], {**env, **window}, tmp_path)
    assert good.returncode == 0, good.stdout + good.stderr


# A password in a URL, an assignment of a password or secret to a literal, or a private key. Placeholders
# in the docs (user:password@, :<password>@, {password}, $VAR) are not secrets.
SECRET = re.compile(
    r"(postgres(?:ql)?://[^:/\s'\"]+:(?!\{|\$|\*|<|(?:password|secret|wrong)@)[^@\s'\"]+@)"
    r"|((?:password|passwd|secret|api_key|token)\s*[:=]\s*['\"][^'\"{$]{6,}['\"])"
    r"|(-----BEGIN [A-Z ]*PRIVATE KEY-----)",
    re.IGNORECASE,
)


def test_no_secret_is_committed_to_the_repository():
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    found = []
    for name in filter(None, tracked.decode().split("\0")):
        path = REPO / name
        if not path.is_file() or path.suffix in {".png", ".parquet", ".xlsx", ".duckdb"}:
            continue
        text = path.read_text(errors="replace")
        found += [f"{name}: {m.group(0)}" for m in SECRET.finditer(text)]
    assert found == []


def test_the_secret_scan_finds_what_it_looks_for():
    # Built from pieces, so that this file does not trip the scan of the repository itself.
    assert SECRET.search('url = "postgresql://bi:' + 'hunter22@db:5432/bi"')
    assert SECRET.search("PASSWORD = '" + "correct horse battery'")
    assert not SECRET.search("postgresql://bi_publisher:{password}@{address}")
    assert not SECRET.search("postgresql://postgres@127.0.0.1:5432/warehouse")
