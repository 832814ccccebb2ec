# factfinder: `make demo` to see it work, `make test` to check it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Debian packages the code needs at run time (libmagic for media types from content; Pango and
# HarfBuzz for WeasyPrint's PDF reports, with DejaVu fonts for Cyrillic and Kazakh letters), and for
# the tests: chromium for the browser tests, postgresql for the suite's second run on PostgreSQL,
# poppler-utils (pdftotext, pdftoppm) to read the PDF reports back. npm (for the Natural Earth base
# map, world-atlas) is asked for only where no npm is on the PATH.
APT_PACKAGES := libmagic1 libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
	chromium postgresql poppler-utils
TESTDATA ?= ../shared/testdata

.PHONY: install system-deps demo test test-sqlite test-postgres lint clean bench

install: system-deps $(VENV)/.installed

system-deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages:$$missing"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else \
	    echo "factfinder needs Debian packages:$$missing"; \
	    echo "run: sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi

$(VENV)/.installed: pyproject.toml package.json package-lock.json
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@echo "building the gazetteer while npm ci runs (both must succeed)"
	$(BIN)/python -m factfinder.text.gazetteer build & gazetteer=$$!; \
	npm ci --no-audit --no-fund --silent && $(BIN)/python -m factfinder.reports.basemap build; npm=$$?; \
	wait $$gazetteer && [ $$npm = 0 ]
	touch $@

demo: install
	TESTDATA=$(TESTDATA) PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/demo.sh

lint: install
	$(BIN)/ruff check factfinder tests benchmarks
	$(BIN)/ruff format --check factfinder tests benchmarks
	$(BIN)/mypy

# The whole suite twice, both runs at once (scripts/test-suites.sh): on SQLite, and on a private
# PostgreSQL server that scripts/with-postgres.sh starts on 127.0.0.1:54329 and removes afterwards.
# test-sqlite and test-postgres run one of them alone.
test: install lint
	bash scripts/test-suites.sh $(BIN)

test-sqlite: install
	$(BIN)/pytest -q --durations=15

test-postgres: install
	bash scripts/with-postgres.sh $(BIN)/pytest -q --durations=15

bench: install
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) node_modules demo-case *.egg-info .pytest_cache .mypy_cache .ruff_cache
