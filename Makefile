# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# `make run DEMO=1` also seeds a working demo (`jemh demo`: local tracker, project, profile, Maildir source, mail).
.PHONY: run test lint format bench clean install

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	@echo "==> installing the project and its test extras into $(VENV)"
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	@echo "==> migrating the database"
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py jemh bootstrap
	@if [ -n "$(DEMO)" ]; then $(BIN)/python manage.py jemh demo; fi
	@echo "==> starting web (http://127.0.0.1:8000/admin/), worker and beat; Ctrl-C stops all three"
	$(BIN)/python -m jemh.devrun -f Procfile

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) var/test-*
