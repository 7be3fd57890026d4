# Convene: two commands for a newcomer (make run, make test); the rest for developers and CI.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell (sha256sum requirements.lock 2>/dev/null || shasum -a 256 requirements.lock) | cut -c1-12)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint style imports format typecheck migrate seed bench bench-tiny mutate lock clean

$(STAMP): requirements.lock
	@test -d $(VENV) || $(PY) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock 2>&1 | grep -v "^WARNING: Location" || true
	@$(BIN)/python -c "import django, channels, cryptography, guardian" || (echo "Installing the locked dependencies failed." && exit 1)
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

install: $(STAMP)

migrate: install
	@$(BIN)/python manage.py migrate --noinput -v0
	@$(BIN)/python manage.py migrate --database keystore --noinput -v0

seed: migrate
	@$(BIN)/python manage.py seed_demo

## make run: install, migrate the embedded SQLite database, seed the demo world, serve on :8000
run: seed
	@$(BIN)/python manage.py run_embedded --host $(HOST) --port $(PORT)

## make test: install, then the whole suite (on PostgreSQL and Redis when DATABASE_URL/REDIS_URL are set)
TEST_WORKERS ?= auto
test: install
	@DJANGO_SETTINGS_MODULE=config.settings.test $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

## make mutate: mutation testing of the policy and the encrypted field, on SQLite (not in CI; see
## docs/testing.md). MUTANTS narrows it to mutant names (globs), e.g. MUTANTS="keystore.fields*".
MUTATE_WORKERS ?= 2
MUTANTS ?=
mutate: install
	@rm -rf mutants/var/mutation
	@env -u DATABASE_URL -u KEYSTORE_DATABASE_URL -u REDIS_URL DJANGO_SETTINGS_MODULE=config.settings.test \
		$(BIN)/mutmut run --max-children $(MUTATE_WORKERS) $(MUTANTS)
	@$(BIN)/mutmut results

## make lint: ruff (make style) and the import contracts (make imports)
lint: style imports

style: install
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .

## make imports: the import contracts (pyproject.toml [tool.importlinter]; docs/architecture.md)
imports: install
	@$(BIN)/lint-imports --no-cache

format: install
	@$(BIN)/ruff format .
	@$(BIN)/ruff check --fix .

typecheck: install
	@$(BIN)/mypy

## make bench: the performance table on PostgreSQL and Redis (see docs/benchmarks.md)
bench: install
	@$(BIN)/python -m bench.run $(BENCH_ARGS)

bench-tiny: install
	@$(BIN)/python -m bench.run --size tiny --no-write $(BENCH_ARGS)

## make lock: re-resolve requirements.in into the hashed lock file
lock:
	@test -d $(VENV) || $(PY) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet pip-tools
	@$(BIN)/pip-compile --quiet --strip-extras --generate-hashes --allow-unsafe -o requirements.lock requirements.in

clean:
	rm -rf $(VENV) var test-artifacts
