# Two commands do all the set-up on a fresh machine with Python 3.11 and make:
#   make demo   -- bootstrap .venv, generate the demo company if the landing zone is empty, run everything
#   make test   -- bootstrap .venv, then the whole test suite
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DBT_DIR := dbt_project
MANIFEST := $(DBT_DIR)/target/manifest.json
DBT_SOURCES := $(shell find $(DBT_DIR)/models $(DBT_DIR)/macros $(DBT_DIR)/tests -type f 2>/dev/null) $(DBT_DIR)/dbt_project.yml
PYTEST_ARGS ?=
# uv installs the pinned set in about 15 s from an empty cache where pip took about 60 s from a warm one
# (docs/decisions.md); the same versions, into the same .venv, which pip still manages. It compiles every
# module to bytecode once, at install: where PYTHONDONTWRITEBYTECODE is set (these machines set it) no
# process would ever write a .pyc, and each one (a job run, every dbt invocation, each test's subprocess)
# compiled what it imports from source again: 3.3 s of loading the definitions, 1.5 s of each dbt start.
UV_INSTALL := $(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python

.PHONY: demo test test-slow test-spark spark java ui bench churn-quality lint lint-sql clean install postgres chromium

install: $(STAMP) $(MANIFEST)

# Re-installs when the dependency ranges or the pinned constraints change.
$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required"'
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt uv
	$(UV_INSTALL) -c constraints.txt -e '.[dev]'
	@# The project's own modules too (an edited module is compiled again in memory, as Python always does).
	$(BIN)/python -m compileall -q pipeline assets >/dev/null
	@touch $(STAMP)

# The dbt manifest is prepared here, once per change of the dbt project, never on a code-location load.
$(MANIFEST): $(STAMP) $(DBT_SOURCES)
	cd $(DBT_DIR) && ../$(BIN)/dbt parse --profiles-dir . --quiet

demo: install
	$(BIN)/pipeline demo

test: install postgres chromium lint
	$(BIN)/python -m pytest -n 2 --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)

# Long trials marked `slow` (CI runs them after `make test`: .ci/run): the 23 kill trials of ingest and
# publishing (tests/reliability/test_kill_ingest_publish.py), two runs at once (test_rerun.py), the late-data
# backfill and the retention interval over seeds. About 8 minutes on two workers. The Spark comparison (also
# `slow`) needs the spark extra: `make test-spark`, which CI runs last.
test-slow: install postgres
	$(BIN)/python -m pytest -m 'slow and not spark' -n 2 --dist loadfile $(PYTEST_ARGS)

# The `spark` extra (issue 23): dbt-spark with pyspark (630 MB) into the same .venv, pinned by
# constraints-spark.txt on top of constraints.txt so that nothing of the default install moves; never part
# of `make install`. Spark needs a Java runtime (17 or newer).
SPARK_STAMP := $(VENV)/.installed-spark
spark: $(SPARK_STAMP) java

$(SPARK_STAMP): $(STAMP) pyproject.toml constraints.txt constraints-spark.txt
	$(UV_INSTALL) -c constraints.txt -c constraints-spark.txt -e '.[dev,spark]'
	@touch $(SPARK_STAMP)

java:
	@command -v java >/dev/null 2>&1 || { \
		echo "Installing Debian's openjdk-17-jre-headless package for Spark"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless) \
		|| sudo sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless'; }

# The same company built on DuckDB and on Spark in local mode, their marts compared (tests/test_spark.py,
# marked `spark` and `slow`, so never part of `make test`; CI runs it after `make test-slow`: .ci/run).
test-spark: install spark
	$(BIN)/python -m pytest -m spark $(PYTEST_ARGS)

# The PostgreSQL tests start their own throwaway cluster; they need Debian's server binaries.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
		echo "Installing Debian's postgresql package for the PostgreSQL tests"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) \
		|| sudo sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql'; }

# The browser test drives Debian's Chromium headless through Playwright (never a browser download).
chromium:
	@test -x /usr/bin/chromium || { \
		echo "Installing Debian's chromium package for the browser test"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
		|| sudo sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium'; }

ui: install
	$(BIN)/pipeline ui

# Benchmarks (not timed tests). First the scale benchmark: the whole pipeline stage by stage on tiers S, M
# and L (2,000 / 20,000 / 100,000 accounts x 36 months) and an incremental run on L: results and a chart in
# benchmarks/results/scale.{json,png}. Then the references of the earlier issues on BENCH_ACCOUNTS: the
# generator, ingest against DuckDB's own readers, dbt against the compiled SQL, the churn model, publishing
# against DuckDB's COPY and a plain PostgreSQL COPY. Quick run: BENCH_TIERS=S BENCH_ACCOUNTS=2000 make bench
BENCH_TIERS ?= S,M,L
BENCH_SCALE_WORK ?= /var/tmp/account-intelligence-scale
BENCH_ACCOUNTS ?= 100000
BENCH_MONTHS ?= 36
BENCH_WORK ?= /var/tmp/account-intelligence-bench-$(BENCH_ACCOUNTS)x$(BENCH_MONTHS)
bench: install
	$(BIN)/python benchmarks/bench_scale.py --tiers $(BENCH_TIERS) --work $(BENCH_SCALE_WORK)
	$(BIN)/python benchmarks/bench_generate.py --accounts $(BENCH_ACCOUNTS) --months $(BENCH_MONTHS)
	rm -rf $(BENCH_WORK)
	$(BIN)/python benchmarks/bench_ingest.py --accounts $(BENCH_ACCOUNTS) --months $(BENCH_MONTHS) --work $(BENCH_WORK)
	$(BIN)/python benchmarks/bench_dbt.py --warehouse $(BENCH_WORK)/pipeline.duckdb --name $(BENCH_ACCOUNTS)x$(BENCH_MONTHS)
	$(BIN)/python benchmarks/bench_churn.py --warehouse $(BENCH_WORK)/pipeline.duckdb --name $(BENCH_ACCOUNTS)x$(BENCH_MONTHS)
	$(BIN)/python benchmarks/bench_publish.py --warehouse $(BENCH_WORK)/pipeline.duckdb --name $(BENCH_ACCOUNTS)x$(BENCH_MONTHS)

# The churn model against the planted truth on several 20,000-account companies (one per seed): each
# one's figures with bootstrap intervals, the truth-aided ceiling and the means (docs/churn_model.md).
# About 6 minutes per company to build, 2 to measure; built homes are reused.
QUALITY_SEEDS ?= 0 1 2 3
QUALITY_WORK ?= /var/tmp/account-intelligence-churn-quality
churn-quality: install
	@for seed in $(QUALITY_SEEDS); do \
		home=$(QUALITY_WORK)/seed$$seed; \
		test -f $$home/.built && continue; \
		rm -rf $$home; \
		PIPELINE_HOME=$$home $(BIN)/pipeline generate --accounts 20000 --months 36 --seed $$seed \
		&& PIPELINE_HOME=$$home $(BIN)/python -m pipeline.runner ingest \
		&& PIPELINE_HOME=$$home $(BIN)/python -m pipeline.runner dbt \
		&& touch $$home/.built || exit 1; \
	done
	$(BIN)/python benchmarks/churn_quality.py --out benchmarks/results/churn-quality.json \
		$(foreach seed,$(QUALITY_SEEDS),$(QUALITY_WORK)/seed$(seed))

# ruff (rules and format), mypy on pipeline/ and assets/ (pyproject.toml), sqlfluff on the dbt project
# (dbt_project/.sqlfluff); .pre-commit-config.yaml runs the same on commit.
PYTHON_SOURCES := pipeline assets tests benchmarks
lint: install
	$(BIN)/ruff check $(PYTHON_SOURCES)
	$(BIN)/ruff format --check $(PYTHON_SOURCES)
	@# mypy and sqlfluff side by side: each is mostly one core, and lint is part of every fresh-clone run.
	$(BIN)/mypy & mypy=$$!; $(MAKE) --no-print-directory lint-sql; sql=$$?; wait $$mypy && exit $$sql

lint-sql: install
	$(BIN)/sqlfluff lint $(DBT_DIR)/models $(DBT_DIR)/macros $(DBT_DIR)/tests --processes 2

clean:
	rm -rf $(VENV) data .pytest_cache $(DBT_DIR)/target $(DBT_DIR)/logs
