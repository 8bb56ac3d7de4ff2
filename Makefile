# The two commands a newcomer needs: `make run` and `make test`. See README.md.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000
DEMO_COHORTS ?= 6
DEMO_LEARNERS ?= 600
DEMO_DAYS ?= 240
# Days of daily snapshots (the dashboard's trends, 30 days by default) written from the seeded
# history, and the weekly risk history scored before them, oldest first and then as of now, so
# that each learner's band changes read as they happened (seed_demo scores nobody; one rescore
# gives only today).
# Both only right after seeding: a database already seeded keeps its scores and snapshots (each
# run would add assessments otherwise); `manage.py rescore` scores it again as of now.
DEMO_SNAPSHOT_DAYS ?= 35
DEMO_HISTORY_WEEKS ?= 5
# The local OpenAI-compatible server of `make llm-server` (OPENAI_BASE_URL=http://127.0.0.1:$(LLM_SERVER_PORT)/v1).
LLM_SERVER_PORT ?= 8100
WEEKS_AGO = $(BIN)/python -c "import datetime as d, sys; print((d.datetime.now(d.UTC) - d.timedelta(weeks=int(sys.argv[1]))).isoformat(timespec='seconds'))"
# Local runs default to DEBUG on (embedded SQLite, local-memory cache, eager tasks), and links in
# mail (invitations) point at the address served.
RUN_ENV := DEBUG=$${DEBUG:-true} SITE_URL=$${SITE_URL:-http://$(HOST):$(PORT)}

.PHONY: setup run llm-server test lint security schemathesis prod-smoke format migrate clean deploy-check dev-cert

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

migrate: setup
	$(RUN_ENV) $(BIN)/python manage.py migrate --noinput

run: migrate
	seeded=$$($(RUN_ENV) $(BIN)/python manage.py seed_demo --if-empty --cohorts $(DEMO_COHORTS) --learners $(DEMO_LEARNERS) --days $(DEMO_DAYS) --seed 42) || exit 1; \
	echo "$$seeded"; \
	case "$$seeded" in *"nothing seeded"*) exit 0 ;; esac; \
	for weeks in $$(seq $(DEMO_HISTORY_WEEKS) -1 1); do \
		$(RUN_ENV) $(BIN)/python manage.py rescore --as-of $$($(WEEKS_AGO) $$weeks) || exit 1; \
	done; \
	$(RUN_ENV) $(BIN)/python manage.py rescore || exit 1; \
	$(RUN_ENV) $(BIN)/python manage.py backfill_snapshots --days $(DEMO_SNAPSHOT_DAYS)
	$(RUN_ENV) $(BIN)/python manage.py seed_nudges_demo
	$(RUN_ENV) $(BIN)/python manage.py demo_accounts
	@echo "Serving on http://$(HOST):$(PORT)/  (dashboard: /dashboard/, API: /api/v1/, docs: /api/docs/, admin: /admin/)"
	$(RUN_ENV) $(BIN)/python manage.py runserver $(HOST):$(PORT)

# The local OpenAI-compatible server (chat completions, streaming) for the LLM path of `make run`.
llm-server: setup
	$(RUN_ENV) $(BIN)/python manage.py fake_llm_server --port $(LLM_SERVER_PORT) $(LLM_SERVER_ARGS)

test: setup
	$(BIN)/pytest --cov --cov-report=term $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DEBUG=true $(BIN)/mypy .
	DEBUG=true $(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/lint-imports --no-logo

# bandit fails on medium or high findings; pip-audit checks the pinned dependencies.
security: setup
	$(BIN)/bandit -q -r engagement learners analytics nudges simulation -x '*/migrations/*' --severity-level medium
	.ci/pip-audit

# Fuzz every API operation against /api/schema/ on a throwaway live server (see .ci/schemathesis).
schemathesis: setup
	$(BIN)/python .ci/schemathesis $(SCHEMATHESIS_ARGS)

# The container topology natively on loopback: gunicorn, Celery worker and beat, nginx and
# Prometheus from deploy/, driven end to end (see docs/operations.md, Production smoke test).
prod-smoke: setup
	$(BIN)/python deploy/smoke/prod_smoke.py

# Offline checks of the container and Kubernetes files (deploy/validate): no Docker, no cluster.
deploy-check: setup
	PATH="$(CURDIR)/$(BIN):$$PATH" deploy/validate

# A self-signed certificate for nginx in compose (deploy/dev-cert/, git-ignored; never commit it).
DEV_CERT_HOST ?= localhost
dev-cert: deploy/dev-cert/tls.crt

deploy/dev-cert/tls.crt:
	mkdir -p deploy/dev-cert
	openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=$(DEV_CERT_HOST)" \
		-addext "subjectAltName=DNS:$(DEV_CERT_HOST),DNS:localhost,IP:127.0.0.1" \
		-keyout deploy/dev-cert/tls.key -out deploy/dev-cert/tls.crt
	chmod 600 deploy/dev-cert/tls.key

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .import_linter_cache .coverage htmlcov staticfiles
