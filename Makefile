# Entry points: `make run` and `make test` (see README). Everything runs inside .venv.

PYTHON ?= python3
VENV := .venv
VENV_PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
UV_VERSION := 0.13.9
EDITABLE_STAMP := $(VENV)/.union-warehouse-editable
# A project-local Dagster instance: run history, schedules and sensor cursors persist here.
export DAGSTER_HOME := $(CURDIR)/.dagster_home

.PHONY: setup setup-dev browser dagster-home run rebuild-from-raw rebuild-from-sources ui docs sql \
	example test lint lock clean

## setup: create .venv if missing and sync it with requirements.lock, what the pipeline needs at
## run time (fast when up to date)
setup:
	@test -x $(VENV_PY) || $(PYTHON) -m venv $(VENV)
	@[ "$$($(UV) --version 2>/dev/null | cut -d' ' -f2)" = "$(UV_VERSION)" ] \
		|| $(VENV_PY) -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	@$(UV) pip install --quiet --python $(VENV_PY) -r requirements.lock
	@# uv rebuilds a local editable on every call (~1 s); redo it only when pyproject changes.
	@[ $(EDITABLE_STAMP) -nt pyproject.toml ] \
		|| { $(UV) pip install --quiet --python $(VENV_PY) -e . --no-deps && touch $(EDITABLE_STAMP); }
	@$(MAKE) -s --no-print-directory $(VENV)/.bytecode-requirements

## setup-dev: setup, plus the test and lint tools (the `dev` extra) pinned in requirements-dev.lock
setup-dev: setup
	@$(UV) pip install --quiet --python $(VENV_PY) -r requirements-dev.lock
	@$(MAKE) -s --no-print-directory $(VENV)/.bytecode-requirements-dev

# The installed packages compiled to bytecode, once per lock. uv installs sources only, and
# where PYTHONDONTWRITEBYTECODE is set (this machine and CI set it) Python never caches what it
# compiles: every process (dagster, each dbt, each pipeline stage) compiled Dagster, dbt and
# great-expectations again, about 3 s of a 6 s Dagster start.
$(VENV)/.bytecode-%: %.lock
	@$(VENV_PY) -m compileall -q -j 0 $$($(VENV_PY) -c "import sysconfig; print(sysconfig.get_paths()['purelib'])") >/dev/null
	@touch $@

## browser: Debian's Chromium and a CJK font for the dashboard render test, when missing and
## installable (root with apt); elsewhere that test skips and says why
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
		&& { apt-get install -y -qq --no-install-recommends chromium fonts-wqy-microhei >/dev/null 2>&1 \
		|| { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq --no-install-recommends \
		chromium fonts-wqy-microhei >/dev/null 2>&1; } || echo "browser: could not install chromium"; }; } \
		|| true

## dagster-home: the project's Dagster instance (pool limits in orchestration/dagster.yaml),
## its storage created once: two runs creating a new instance's databases at the same time
## corrupt them
dagster-home:
	@mkdir -p $(DAGSTER_HOME)
	@cp orchestration/dagster.yaml $(DAGSTER_HOME)/dagster.yaml
	@test -d $(DAGSTER_HOME)/schedules || $(VENV)/bin/dagster instance migrate >/dev/null

# The demo sources end on the simulator's as-of date, years before today: while the pipeline
# reads them (no UNIONWH_MEMBERSHIP_DB_URL), freshness is judged against that date. A value
# set by hand wins; pointed at other sources, the real clock is used.
DEMO_CLOCK = UNIONWH_SOURCES_AS_OF="$${UNIONWH_SOURCES_AS_OF:-$$( [ -n "$$UNIONWH_MEMBERSHIP_DB_URL" ] \
	|| $(VENV_PY) -m simulator as-of --out data/demo 2>/dev/null )}"

## run: generate the demo sources, then materialize every asset through Dagster
run: setup dagster-home
	$(VENV_PY) -m simulator generate --scale 0.01 --seed 42 --out data/demo
	$(DEMO_CLOCK) $(VENV)/bin/dagster asset materialize -m orchestration.definitions --select '*'

## rebuild-from-raw: the warehouse file is lost or broken: move it aside, restore its raw layer
## from the load manifests under <warehouse stem>_raw/, then rebuild models, checks, publication
rebuild-from-raw: setup dagster-home
	$(VENV_PY) -m ingestion rebuild --from raw
	$(VENV)/bin/dagster asset materialize -m orchestration.definitions --select '*'

## rebuild-from-sources: move the warehouse file and raw layer aside, load every source again
rebuild-from-sources: setup dagster-home
	$(VENV_PY) -m ingestion rebuild --from sources
	$(VENV)/bin/dagster asset materialize -m orchestration.definitions --select '*'

## example: rebuild warehouse.duckdb.example: the published marts of a tiny simulated federation
EXAMPLE_DIR := .example-build
example: setup
	rm -rf $(EXAMPLE_DIR) && mkdir -p $(EXAMPLE_DIR)/dagster_home
	cp orchestration/dagster.yaml $(EXAMPLE_DIR)/dagster_home/
	$(VENV_PY) -m simulator generate --scale 0.002 --seed 7 --out $(EXAMPLE_DIR)/sources --quiet
	DAGSTER_HOME=$(CURDIR)/$(EXAMPLE_DIR)/dagster_home \
	UNIONWH_MEMBERSHIP_DB_URL=sqlite:///$(EXAMPLE_DIR)/sources/membership.db \
	UNIONWH_DISPUTES_EXPORT_DIR=$(EXAMPLE_DIR)/sources/disputes \
	UNIONWH_SERVICES_LANDING_DIR=$(EXAMPLE_DIR)/sources/landing \
	UNIONWH_WAREHOUSE_PATH=$(EXAMPLE_DIR)/warehouse.duckdb \
	UNIONWH_SERVING_PATH=$(EXAMPLE_DIR)/serving.duckdb \
	UNIONWH_PII_KEY=example-$$(date +%s%N) \
	UNIONWH_SOURCES_AS_OF=$$($(VENV_PY) -m simulator as-of --out $(EXAMPLE_DIR)/sources) \
		$(VENV)/bin/dagster asset materialize -m orchestration.definitions --select '*' > $(EXAMPLE_DIR)/dagster.log 2>&1
	$(VENV_PY) -m serving compact --serving $(EXAMPLE_DIR)/serving.duckdb --to warehouse.duckdb.example
	rm -rf $(EXAMPLE_DIR)
	@ls -l warehouse.duckdb.example

## ui: the Dagster UI (webserver and daemon) on http://127.0.0.1:3000
ui: setup dagster-home
	$(DEMO_CLOCK) $(VENV)/bin/dagster dev -m orchestration.definitions -h 127.0.0.1 -p 3000

## docs: serve the dbt docs that the last pipeline run published beside the warehouse, on
## http://127.0.0.1:8080 (never opens the warehouse; before any run it says what to do)
docs: setup
	$(VENV_PY) -m serving docs --host 127.0.0.1 --port 8080

## sql: a read-only SQL prompt on the warehouse (python -m serving sql; README "The warehouse
## from a shell"); FILE=data/serving.duckdb opens another DuckDB file
sql: setup
	$(VENV_PY) -m serving sql $(if $(FILE),--warehouse $(FILE))

## test: lint Python and SQL, then run the test suite's default tier, which tests every
## capability (18 minutes on 2 cores, 2026-12-06); TESTS=all adds its long variants (the builds on
## Spark and PostgreSQL, the bench, a second build from scratch), as CI does (.ci/run)
TESTS ?= default
PYTEST_MARKS_default := not long and not exhaustive
PYTEST_MARKS_all := not exhaustive
test: setup-dev browser
	@test -n "$(PYTEST_MARKS_$(TESTS))" || { echo "TESTS=$(TESTS): use default or all"; exit 2; }
	$(VENV)/bin/ruff check .
	$(VENV)/bin/sqlfluff lint dbt_project --processes 2
	$(VENV_PY) -m pytest -q -m "$(PYTEST_MARKS_$(TESTS))"

## lint: Python (ruff) and SQL (sqlfluff) linters
lint: setup-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/sqlfluff lint dbt_project --processes 2

## lock: re-resolve requirements.lock (the runtime dependencies) and requirements-dev.lock (the
## same pins plus the `dev` extra) from pyproject.toml; uv keeps the versions already locked
## unless pyproject asks for others
lock: setup
	$(UV) pip compile --quiet --python-version 3.11 pyproject.toml -o requirements.lock
	$(UV) pip compile --quiet --python-version 3.11 --extra dev pyproject.toml \
		-c requirements.lock -o requirements-dev.lock

clean:
	rm -rf dbt_project/target dbt_project/logs .pytest_cache .ruff_cache
