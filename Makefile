# Two commands on a fresh machine: `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
# WebSocket frames and messages are capped at the server too (the consumer caps at 16,000 characters).
DAPHNE_LIMITS := --websocket-max-message-size 65536 --websocket-max-frame-size 65536

.PHONY: run test test-fast test-browser lint format install migrate demo serve bench check clean

$(PY):
	python3 -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --upgrade --quiet pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

migrate: install
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py seed_demo

run: demo
	@echo "Open http://$(HOST):$(PORT)/ (demo logins above)."
ifdef REDIS_URL
	WEB_PORT=$(PORT) PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/honcho start
else
	$(VENV)/bin/daphne -b $(HOST) -p $(PORT) -v 0 $(DAPHNE_LIMITS) supportgroup.asgi:application
endif

# The whole suite: everything but the browser tests, then the browser tests in
# their own pytest process (Playwright's event loop must not precede asyncio tests).
test: install
	$(PY) -m pytest -p no:playwright -m "not browser" $(PYTEST_ARGS)
	$(PY) -m pytest -m browser tests/e2e $(PYTEST_ARGS)

test-fast: install
	$(PY) -m pytest -p no:playwright -m "not browser" -x -q $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

check: install
	$(PY) manage.py check

# Benchmarks of #13 on real PostgreSQL and Redis (DATABASE_URL names the server, a database
# <name>_<pid> is created and dropped; REDIS_URL's database is flushed): docs/performance.md.
# BENCH_ARGS="--quick" for a short run, "--only P5", "--profile /tmp/sg-prof" (py-spy).
bench: install
	$(PY) bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .test-db*.sqlite3* staticfiles

# The app's PNG icons (static/icons/), drawn from their SVG sources with Chromium; commit them.
.PHONY: icons
icons: install
	$(PY) -m supportgroup.icons

# Phone pictures of the main pages and a digest email for the README, in docs/screenshots/
# (Chromium through Playwright, on a throwaway test database; tests/e2e/screenshots.py).
.PHONY: screenshots
screenshots: install
	$(PY) -m pytest -m browser -q tests/e2e/screenshots.py $(PYTEST_ARGS)

# Several nodes on one machine (docs/operations.md, "Running several nodes"): two daphne
# web processes, two Celery workers and beat behind nginx on 127.0.0.1:$${CLUSTER_PORT:-8080},
# against PostgreSQL (DATABASE_URL) and Redis (REDIS_URL). Pids and logs in .cluster/.
.PHONY: cluster cluster-stop cluster-needs
cluster: cluster-needs install
	$(PY) deploy/cluster.py start

cluster-needs:
	@if [ -z "$$DATABASE_URL" ] || [ -z "$$REDIS_URL" ]; then \
	  echo "make cluster needs DATABASE_URL (PostgreSQL) and REDIS_URL, e.g." >&2; \
	  echo "  DATABASE_URL=postgres://postgres@127.0.0.1:5432/supportgroup REDIS_URL=redis://127.0.0.1:6379/0 make cluster" >&2; \
	  exit 2; fi

cluster-stop:
	$(PY) deploy/cluster.py stop

# Backups of PostgreSQL (docs/deploy.md, "Backups"): a custom-format dump of DATABASE_URL into
# BACKUP_DIR (default backups/), dumps older than BACKUP_KEEP_DAYS (default 30) deleted.
# make restore BACKUP=<file> restores into DATABASE_URL (empty, or RESTORE_CLEAN=1), then
# runs manage.py smoke_check on it.
.PHONY: backup restore
backup:
	@deploy/backup.sh

restore:
	@PYTHON=$(PY) deploy/restore.sh "$(BACKUP)"
