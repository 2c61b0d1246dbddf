# Entry points: `make run` and `make test` (see README). Everything runs inside .venv.

PYTHON ?= python3
VENV := .venv
VENV_PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
UV_VERSION := 0.13.9
EDITABLE_STAMP := $(VENV)/.union-warehouse-editable
# A project-local Dagster instance: run history, schedules and sensor cursors persist here.
export DAGSTER_HOME := $(CURDIR)/.dagster_home

.PHONY: setup dagster-home run ui docs test lint lock clean

## setup: create .venv if missing and sync it with requirements.lock (fast when up to date)
setup:
	@test -x $(VENV_PY) || $(PYTHON) -m venv $(VENV)
	@[ "$$($(UV) --version 2>/dev/null | cut -d' ' -f2)" = "$(UV_VERSION)" ] \
		|| $(VENV_PY) -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	@$(UV) pip install --quiet --python $(VENV_PY) -r requirements.lock
	@# uv rebuilds a local editable on every call (~1 s); redo it only when pyproject changes.
	@[ $(EDITABLE_STAMP) -nt pyproject.toml ] \
		|| { $(UV) pip install --quiet --python $(VENV_PY) -e . --no-deps && touch $(EDITABLE_STAMP); }

## dagster-home: the project's Dagster instance (pool limits in orchestration/dagster.yaml)
dagster-home:
	@mkdir -p $(DAGSTER_HOME)
	@cp orchestration/dagster.yaml $(DAGSTER_HOME)/dagster.yaml

## run: generate the demo sources, then materialize every asset through Dagster
run: setup dagster-home
	$(VENV_PY) -m simulator generate --scale 0.01 --seed 42 --out data/demo
	$(VENV)/bin/dagster asset materialize -m orchestration.definitions --select '*'

## ui: the Dagster UI (webserver and daemon) on http://127.0.0.1:3000
ui: setup dagster-home
	$(VENV)/bin/dagster dev -m orchestration.definitions -h 127.0.0.1 -p 3000

## docs: build the dbt docs of the warehouse and serve them on http://127.0.0.1:8080
docs: setup
	cd dbt_project && UNIONWH_WAREHOUSE_PATH=$(CURDIR)/data/warehouse.duckdb ../$(VENV)/bin/dbt docs generate --profiles-dir .
	cd dbt_project && ../$(VENV)/bin/dbt docs serve --profiles-dir . --host 127.0.0.1 --port 8080

## test: lint Python and SQL, then run the test suite
test: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/sqlfluff lint dbt_project --processes 2
	$(VENV_PY) -m pytest -q

## lint: Python (ruff) and SQL (sqlfluff) linters
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/sqlfluff lint dbt_project --processes 2

## lock: re-resolve requirements.lock from pyproject.toml
lock: setup
	$(UV) pip compile --quiet --python-version 3.11 pyproject.toml -o requirements.lock

clean:
	rm -rf dbt_project/target dbt_project/logs .pytest_cache .ruff_cache
