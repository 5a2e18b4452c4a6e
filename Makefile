# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format bench clean install lock docker-test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml requirements/dev.txt | $(BIN)/python
	@echo "==> installing the locked dependencies (requirements/dev.txt) and the project into $(VENV)"
	$(BIN)/pip install --quiet --require-hashes -r requirements/dev.txt
	$(BIN)/pip install --quiet --no-deps -e .
	@touch $(STAMP)

install: $(STAMP)

# The locks (requirements/runtime.txt for the image, requirements/dev.txt for make install and CI), resolved anew from
# pyproject.toml's ranges: run after changing a dependency, or to take newer releases; commit both files.
# `make lock UPGRADE=--upgrade-package=NAME` takes one package's newest release; `UPGRADE=--upgrade` all.
UV_COMPILE = $(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes --quiet $(UPGRADE)
lock: $(STAMP)
	$(UV_COMPILE) -o requirements/runtime.txt
	$(UV_COMPILE) --extra test -c requirements/runtime.txt -o requirements/dev.txt

run: $(STAMP)
	@echo "==> migrating the database"
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py jemh bootstrap
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

# The image and the compose stack, built and tested with podman (docker/test.sh; .ci/run runs it).
docker-test: $(STAMP)
	bash docker/test.sh

clean:
	rm -rf $(VENV) var/test-*
