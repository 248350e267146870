# The README's commands. Each creates the virtual environment on first use.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
PORT ?= 8501
DEMO_CUSTOMERS ?= 10000
DEMO_SEED ?= 7
DATA_DIR ?= data

.PHONY: demo test check screenshots format bench clean

$(BIN)/easel: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

## make demo: build the demo marketplace (once), start the scheduler and the console
demo: $(BIN)/easel
	$(BIN)/easel init
	@if [ ! -f $(DATA_DIR)/demo-logins.txt ]; then \
		$(BIN)/easel demo --customers $(DEMO_CUSTOMERS) --seed $(DEMO_SEED) && \
		$(BIN)/easel score && $(BIN)/easel propose; fi
	@echo ""
	@echo "Easel console: http://localhost:$(PORT)"
	@echo "Demo logins (also in $(DATA_DIR)/demo-logins.txt):"
	@cat $(DATA_DIR)/demo-logins.txt
	@echo ""
	@trap 'kill $$scheduler_pid 2>/dev/null' EXIT INT TERM; \
		EASEL_SIMULATE_RESPONSES=$${EASEL_SIMULATE_RESPONSES:-true} $(BIN)/easel scheduler & scheduler_pid=$$!; \
		$(BIN)/streamlit run app.py --server.port $(PORT) --server.headless true

## make test: lint, then the whole test suite (TEST_DATABASE_URL=postgresql+psycopg://... for PostgreSQL)
test: $(BIN)/easel
	$(BIN)/ruff check .
	$(BIN)/pytest -q -m "not slow"

check: test

## make screenshots: the browser test, saving a screenshot of every page into docs/screenshots/
screenshots: $(BIN)/easel
	EASEL_SCREENSHOTS=docs/screenshots $(BIN)/pytest -q tests/e2e

format: $(BIN)/easel
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## make bench: every stage at SIZE=10k|100k|1m (default 100k) on DB=sqlite|postgresql, into bench/RESULTS.md
## (PostgreSQL: BENCH_DATABASE_URL=postgresql+psycopg://... names a database that is dropped and made again)
SIZE ?= 100k
DB ?= sqlite
bench: $(BIN)/easel
	$(BIN)/python bench/run_all.py --size $(SIZE) --db $(DB)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
