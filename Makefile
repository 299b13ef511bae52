# The two commands: `make run` and `make test`. Everything else is for developers.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Tests run against the local PostgreSQL and Redis unless told otherwise.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/hotline
TEST_BROKER_URL ?= redis://127.0.0.1:6379/15
TEST_CACHE_URL ?= redis://127.0.0.1:6379/7

.PHONY: run test install migrate demo bench bench-quick graph lint clean

# A virtualenv (.venv, and the bench's below): made with $(MAKE_WITH), given the extras $(EXTRAS).
$(STAMP): MAKE_WITH = $(PYTHON)
$(STAMP): EXTRAS = test
%/.installed: pyproject.toml
	@command -v $(MAKE_WITH) >/dev/null 2>&1 || { echo "$(MAKE_WITH) not found: install Python 3.11"; exit 1; }
	test -x $*/bin/python || $(MAKE_WITH) -m venv $*
	$*/bin/pip install --quiet --upgrade pip
	$*/bin/pip install --quiet -e '.[$(EXTRAS)]'
	touch $@

install: $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py load_demo_data

run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_demo_data --if-empty
	$(BIN)/python manage.py train_classifier --if-missing
	$(BIN)/python manage.py run_platform

test: install
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} \
	CELERY_BROKER_URL=$${CELERY_BROKER_URL:-$(TEST_BROKER_URL)} \
	CACHE_URL=$${CACHE_URL:-$(TEST_CACHE_URL)} \
	$(BIN)/python -m pytest --ignore=tests/browser $(PYTEST_ARGS)
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} \
	CELERY_BROKER_URL=$${CELERY_BROKER_URL:-$(TEST_BROKER_URL)} \
	CACHE_URL=$${CACHE_URL:-$(TEST_CACHE_URL)} \
	$(BIN)/python -m pytest -p no:cacheprovider tests/browser $(PYTEST_ARGS)

graph: install
	$(BIN)/python manage.py graph_transitions tickets.Order -o docs/order-states.dot
	dot -Tsvg docs/order-states.dot -o docs/order-states.svg

clean:
	rm -rf var staticfiles .pytest_cache

# Benchmarks of issue 7 (docs/benchmarks.md): PostgreSQL + Redis (DB 10), the production
# settings, gunicorn, locust; database hotline_bench, made afresh. Not part of `make test`.
# BENCH_ARGS passes options on, e.g. BENCH_ARGS="--orders 2000000" (python -m benchmarks.run -h).
# The bench has a virtualenv of its own, made with an optimised CPython where the machine has
# one: Debian's /usr/bin/python3.11 is built with profile-guided and link-time optimisation, as
# the Docker image's python:3.11-slim is; pyenv's default build (python3.11 on PATH here) has
# neither, and the servers' Python ran slower on it (docs/benchmarks.md, "The interpreter").
# BENCH_PYTHON=/path/to/python3.11 chooses another.
BENCH_PYTHON ?= $(shell /usr/bin/python3.11 -c "import ensurepip, venv" 2>/dev/null \
                  && echo /usr/bin/python3.11 || echo $(PYTHON))
BENCH_VENV ?= .venv-bench
BENCH_BIN := $(BENCH_VENV)/bin
BENCH_STAMP := $(BENCH_VENV)/.installed
$(BENCH_STAMP): MAKE_WITH = $(BENCH_PYTHON)
$(BENCH_STAMP): EXTRAS = bench

bench: $(BENCH_STAMP)
	$(BENCH_BIN)/python -m benchmarks.run $(BENCH_ARGS)

bench-quick: $(BENCH_STAMP)
	$(BENCH_BIN)/python -m benchmarks.run --quick $(BENCH_ARGS)
