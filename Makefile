# The two commands of the README: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export ENERGY_DATA_HOME ?= $(CURDIR)/.energy-data

.PHONY: run test install crawl migrate status stop boundaries bench-ingest bench-api bench-forecast clean

$(BIN)/.installed: requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "energy-data needs Python 3.11 or newer (set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q -r requirements.txt
	touch $@

$(BIN)/.installed-dev: $(BIN)/.installed requirements-dev.txt
	$(BIN)/python -m pip install --disable-pip-version-check -q -r requirements-dev.txt
	touch $@

install: $(BIN)/.installed

## run: set up, start PostgreSQL (embedded unless DATABASE_URL), migrate, crawl, serve :8000
run: $(BIN)/.installed
	$(BIN)/python -m database migrate
	VENV=$(VENV) deploy/run-local.sh

## test: set up and run the whole test suite on a throw-away database (and a real nginx,
## unpacked from Debian's package on first use, for tests/test_nginx.py; Debian's chromium,
## installed when missing, for tests/test_dashboard.py)
test: $(BIN)/.installed-dev
	ENERGY_DATA_NGINX="$$(scripts/setup/nginx.sh $(ENERGY_DATA_HOME)/tools/nginx || true)" \
	ENERGY_DATA_CHROMIUM="$$(scripts/setup/chromium.sh || true)" $(BIN)/python -m pytest

crawl: $(BIN)/.installed
	$(BIN)/python -m crawler run

migrate: $(BIN)/.installed
	$(BIN)/python -m database migrate

status: $(BIN)/.installed
	$(BIN)/python -m crawler status

stop: $(BIN)/.installed
	$(BIN)/python -m database stop

## boundaries: download the boundaries for coordinate lookups into one file: the US balancing authorities
## (HIFLD Control Areas) and every other country with the Nordic and Italian bidding zones and the
## Australian and Canadian states and provinces (Natural Earth); public domain. `make run` does it when missing.
boundaries: $(BIN)/.installed
	$(BIN)/python scripts/setup/download_boundaries.py

bench-ingest: $(BIN)/.installed
	$(BIN)/python scripts/bench/ingest.py

bench-api: $(BIN)/.installed
	$(BIN)/python scripts/bench/api.py

bench-forecast: $(BIN)/.installed
	for year in 2021 2022 2023; do $(BIN)/python scripts/bench/forecast.py ../shared/traces/em_hpe_sustain_cluster/*_$${year}_hourly.csv; done

clean:
	rm -rf $(VENV)
