# Coprod: `make run` runs the product, `make test` runs every check. Both set themselves up.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.10 2>/dev/null || ls $$HOME/.pyenv/versions/3.10*/bin/python3.10 2>/dev/null | tail -1)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
MODEL := models/coprod.tar.gz
TRAINING_INPUTS := domain.yml config.yml $(shell find data nlu -type f \( -name '*.yml' -o -name '*.py' \) 2>/dev/null)

export COPROD_VAR_DIR ?= $(CURDIR)/var
export RASA_TELEMETRY_ENABLED := false
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export TF_CPP_MIN_LOG_LEVEL := 2
export ACTION_SERVER_URL ?= http://localhost:5055/webhook
export RASA_URL ?= http://localhost:5005
export RASA_TRACKER_URL ?= sqlite:///$(COPROD_VAR_DIR)/rasa_tracker.db
export REDIS_URL ?=

.PHONY: help install model db run chat test test-python test-postgres test-stories validate bench clean chromium redis messages

help:
	@echo "make run    start Rasa, the action server, the bridge and the staff dashboard (local SQLite)"
	@echo "make chat   talk to the running assistant in this terminal"
	@echo "make test   run every check (pip check, data validation, pytest, test stories)"
	@echo "make bench  print the benchmark tables"

$(INSTALLED): requirements.lock constraints.txt
	@if [ -z "$(PYTHON)" ]; then \
	  echo "Python 3.10 is required (Rasa 3.6 supports 3.8-3.10)."; \
	  echo "Install it with 'pyenv install 3.10' or your package manager, then run make again."; \
	  exit 1; fi
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==26.3
	$(BIN)/python -m pip install --quiet -c constraints.txt -r requirements.lock
	touch $@

install: $(INSTALLED)

# Retrained only when the training data, the domain or the config changed.
$(MODEL): $(INSTALLED) $(TRAINING_INPUTS)
	$(BIN)/rasa train --fixed-model-name coprod --out models --quiet
	touch $@

model: $(MODEL)

db: $(INSTALLED)
	$(BIN)/python -m bot db upgrade
	$(BIN)/python -m bot seed-demo

run: $(MODEL) db
	$(BIN)/python -m bot.processes

chat: $(INSTALLED)
	$(BIN)/python -m bot chat

validate: $(INSTALLED)
	$(BIN)/python -m pip check
	$(BIN)/rasa data validate --quiet

# The browser test drives Debian's Chromium; root installs it, anyone else is told how.
chromium:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && export DEBIAN_FRONTEND=noninteractive && \
	  { apt-get install -y -q chromium >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }; }; } || \
	  { echo "The browser test needs Debian's chromium: sudo apt-get install chromium"; exit 1; }

# The shared-counter tests start their own redis-server; root installs Debian's package.
redis:
	@command -v redis-server >/dev/null || { [ "$$(id -u)" = 0 ] && export DEBIAN_FRONTEND=noninteractive && \
	  { apt-get install -y -q redis-server >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q redis-server >/dev/null; }; }; } || \
	  { echo "The Redis tests need redis-server: sudo apt-get install redis-server"; exit 1; }

test-python: $(MODEL) chromium redis
	COPROD_MODEL=$(CURDIR)/$(MODEL) $(BIN)/python -m pytest

test-stories: $(MODEL)
	COPROD_VAR_DIR=$$(mktemp -d) $(BIN)/rasa test core --stories tests/stories --model $(MODEL) \
	  --fail-on-prediction-errors --out results/stories --quiet

# The services, actions, bridge and dashboard tests again on a throwaway PostgreSQL 15
# (tests/postgres.py starts it with the machine's initdb and pg_ctl).
POSTGRES_TESTS := tests/test_signups.py tests/test_contributions.py tests/test_privacy.py tests/test_scheduler.py \
  tests/test_broadcasts.py tests/test_feedback.py tests/test_inbox_and_buttons.py tests/test_channels.py \
  tests/test_media_limits.py tests/test_inbound_fairness.py tests/test_exports_and_bodies.py tests/test_actions.py \
  tests/test_web.py tests/test_outgoing_lease.py

test-postgres: $(INSTALLED)
	COPROD_TEST_DB=postgresql $(BIN)/python -m pytest -q $(POSTGRES_TESTS)

test: validate test-python test-postgres test-stories

bench: $(MODEL)
	COPROD_MODEL=$(CURDIR)/$(MODEL) $(BIN)/python bench/nlu.py

# After changing bot/messages.py: refresh the template and the catalogues, then translate
# the new or fuzzy entries of bot/locale/*/LC_MESSAGES/coprod.po (tests/test_catalogues.py checks).
messages: $(INSTALLED)
	$(BIN)/pybabel extract --no-default-keywords -k N_ -k NP_:1,2 --add-comments=TRANSLATORS: \
	  --project=Coprod --copyright-holder="Coprod contributors" -o bot/locale/coprod.pot bot/messages.py
	$(BIN)/pybabel update -D coprod -i bot/locale/coprod.pot -d bot/locale
	$(BIN)/pybabel extract -F bot/web/babel.cfg -k N_ --no-location --sort-output --version=1.0 \
	  --project=Coprod --copyright-holder=Coprod -o bot/locale/dashboard.pot bot/web
	$(BIN)/pybabel update -D dashboard -i bot/locale/dashboard.pot -d bot/locale --no-fuzzy-matching

clean:
	rm -rf $(VENV) models results .rasa var
