# factfinder: `make demo` to see it work, `make test` to check it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Debian packages the code needs at run time (libmagic for media types from content), and for
# the tests: chromium for the browser tests, postgresql for the suite's second run on PostgreSQL.
APT_PACKAGES := libmagic1 chromium postgresql
TESTDATA ?= ../shared/testdata

.PHONY: install system-deps demo test test-sqlite test-postgres lint clean bench

install: system-deps $(VENV)/.installed

system-deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages:$$missing"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else \
	    echo "factfinder needs Debian packages:$$missing"; \
	    echo "run: sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/python -m factfinder.text.gazetteer build
	touch $@

demo: install
	TESTDATA=$(TESTDATA) PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/demo.sh

lint: install
	$(BIN)/ruff check factfinder tests benchmarks
	$(BIN)/ruff format --check factfinder tests benchmarks
	$(BIN)/mypy

# The whole suite twice: on SQLite, then on a private PostgreSQL server that
# scripts/with-postgres.sh starts on 127.0.0.1:54329 and removes afterwards.
test: install lint test-sqlite test-postgres

test-sqlite: install
	$(BIN)/pytest -q

test-postgres: install
	bash scripts/with-postgres.sh $(BIN)/pytest -q

bench: install
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) demo-case *.egg-info .pytest_cache .mypy_cache .ruff_cache
