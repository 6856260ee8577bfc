# The two commands of the quick start: `make demo` and `make test`.
# Every target creates .venv when missing and points DAGSTER_HOME at an ignored
# folder in the repo, so the CLI, the tests and `make dev` share one instance.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DAGSTER_HOME := $(CURDIR)/.dagster_home

.PHONY: demo test dev install clean

demo: $(STAMP) $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/sprint-exports demo

# The suite on TEST_WORKERS processes, each test file whole on one of them (its module fixtures are
# shared by its tests). One file alone, without workers: make test TEST_WORKERS=0 PYTEST_ARGS=path
TEST_WORKERS ?= 2

test: $(STAMP) $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# The Dagster UI on :3000 and the portal on :3001; one Ctrl-C stops every process of both.
# Other ports: make dev DEV_ARGS="--dagster-port 3100 --portal-port 3101"
dev: $(STAMP) $(DAGSTER_HOME)/dagster.yaml
	exec $(BIN)/sprint-exports dev $(DEV_ARGS)

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

$(DAGSTER_HOME)/dagster.yaml: dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	cp dagster.yaml $@

clean:
	rm -rf $(VENV) $(DAGSTER_HOME)
