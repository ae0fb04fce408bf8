# OpenPicker: `make run` serves on the embedded defaults, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PG_URL ?= postgres://postgres@127.0.0.1:5432/openpicker
REDIS_URL ?= redis://127.0.0.1:6379
# Redis databases for the cache and the broker; parallel runs on one machine pick their own.
REDIS_CACHE_DB ?= 1
REDIS_BROKER_DB ?= 2
BROKER_URL ?= $(REDIS_URL)/$(REDIS_BROKER_DB)
RABBITMQ_URL ?= amqp://guest:guest@127.0.0.1:5672
# The tests that run real Celery workers (or `serve`) on the profile's broker: `make test` runs
# them on RabbitMQ too, except the slow ones (1,000 deliveries with a worker killed, two whole
# deployments), which `make test-rabbitmq BROKER_TESTS="$(BROKER_TESTS) $(BROKER_TESTS_SLOW)"`
# adds.
BROKER_TESTS ?= tests/integration/test_celery_worker.py tests/integration/test_serve.py \
	tests/webhooks/test_worker.py tests/conversions/test_http.py \
	tests/ops/test_metrics.py tests/ops/test_logs.py
BROKER_TESTS_SLOW ?= tests/webhooks/test_resilience.py tests/integration/test_multinode.py

.PHONY: run test test-services test-embedded test-rabbitmq lint bench mutate clean

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

run: $(VENV)/.installed
	OPENPICKER_SANDBOX=$${OPENPICKER_SANDBOX:-1} $(PY) manage.py migrate --noinput
	@echo "Demo app (API key and secret):"
	@OPENPICKER_SANDBOX=$${OPENPICKER_SANDBOX:-1} $(PY) manage.py createapp demo --owner demo@example.com --get-or-create
	OPENPICKER_SANDBOX=$${OPENPICKER_SANDBOX:-1} $(PY) manage.py serve

# Lint, then the suite twice: against the real services (PostgreSQL, Redis, S3 over HTTP via
# moto's server) and against the embedded defaults (SQLite, filesystem, local broker); then the
# broker-dependent tests once more with RabbitMQ as the broker.
test: lint test-services test-embedded test-rabbitmq

# Each run gets its own data dir and database, so runs never trample each other.
test-services: $(VENV)/.installed-dev
	@run=$$$$; dir=$(CURDIR)/var/test-services-$$run; \
	OPENPICKER_TEST_PROFILE=services OPENPICKER_DATA_DIR=$$dir \
	DATABASE_URL=$(PG_URL)_$$run CACHE_URL=$(REDIS_URL)/$(REDIS_CACHE_DB) CELERY_BROKER_URL=$(BROKER_URL) \
	OPENPICKER_STORAGE=s3 AWS_STORAGE_BUCKET_NAME=openpicker-test \
	AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_S3_REGION_NAME=us-east-1 \
	$(PY) -m pytest $(PYTEST_ARGS); rc=$$?; rm -rf $$dir; exit $$rc

test-embedded: $(VENV)/.installed-dev
	@run=$$$$; dir=$(CURDIR)/var/test-embedded-$$run; \
	OPENPICKER_TEST_PROFILE=embedded OPENPICKER_DATA_DIR=$$dir \
	$(PY) -m pytest $(PYTEST_ARGS); rc=$$?; rm -rf $$dir; exit $$rc

# The broker-dependent tests once more on the services profile with RabbitMQ as the broker, in
# a virtual host of the run's own (removed afterwards). PYTEST_ARGS overrides the file list.
test-rabbitmq: $(VENV)/.installed-dev
	@vhost=openpicker-test-$$$$; \
	rabbitmqctl -q add_vhost $$vhost && rabbitmqctl -q set_permissions -p $$vhost guest '.*' '.*' '.*' && \
	$(MAKE) --no-print-directory test-services BROKER_URL=$(RABBITMQ_URL)/$$vhost \
		PYTEST_ARGS="$(or $(PYTEST_ARGS),$(BROKER_TESTS))"; rc=$$?; \
	rabbitmqctl -q delete_vhost $$vhost; exit $$rc

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Mutation testing of picker/policies.py and picker/access.py against their tests (mutmut; the
# set-up is [tool.mutmut] in pyproject.toml, the last counts are in tests/MUTATION.md). Slow: not
# part of `make test`. One child at a time, because the children share one SQLite test database.
mutate: $(VENV)/.installed-dev
	rm -rf mutants var/mutate
	OPENPICKER_TEST_PROFILE=embedded OPENPICKER_DATA_DIR=$(CURDIR)/var/mutate \
	$(VENV)/bin/mutmut run --max-children 1; rc=$$?; \
	$(VENV)/bin/mutmut results; exit $$rc

bench: $(VENV)/.installed-dev
	$(PY) benchmarks/upload.py
	$(PY) benchmarks/convert.py

clean:
	rm -rf var
