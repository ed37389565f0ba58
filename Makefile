# Everything a fresh clone needs: `make test` builds .venv and runs the suite.
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && echo $$p && break; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | cksum | cut -d' ' -f1)
PYTEST_ARGS ?=
BENCH_ARGS ?=
TEST_WORKERS ?= 3

.PHONY: install test lint bench demo clean

$(STAMP): pyproject.toml constraints.txt
	@test -n "$(PYTHON)" || { echo "papertrade needs Python 3.11 or newer on PATH" >&2; exit 1; }
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $@

install: $(STAMP)

# The suite in two passes, then how long it all took. First everything but the serial tests on
# TEST_WORKERS pytest-xdist workers: three on this 2-core machine, since many tests wait on
# processes, servers and the database and a third worker fills those waits; each worker takes a
# test file at a time (a test class, where a file has them: the parity replays), so shared
# fixtures are built once; files marked `slow` go first. Then the timing-sensitive tests (marked
# `serial`: a strategy outlasting a 1-second busy timeout, rate limits, Ctrl-C, two hosts racing)
# alone, since next to other tests they would measure the load; that pass collects only the files
# that hold them. PYTEST_ARGS goes to both passes; a pass that PYTEST_ARGS leaves without tests
# is no failure, two are.
SERIAL_FILES = $(shell grep -rlE 'pytest\.mark\.serial' tests --include='test_*.py')

test: $(STAMP)
	@started=$$(date +%s); \
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadscope --no-loadscope-reorder -m "not serial" $(PYTEST_ARGS); parallel=$$?; \
	$(BIN)/python -m pytest -m serial $(if $(PYTEST_ARGS),,$(SERIAL_FILES)) $(PYTEST_ARGS); serial=$$?; \
	echo "make test: $$(( $$(date +%s) - started )) s in all (parallel pass exit $$parallel, serial pass exit $$serial)"; \
	for code in $$parallel $$serial; do case $$code in 0|5) ;; *) exit $$code ;; esac; done; \
	[ $$parallel = 0 ] || [ $$serial = 0 ] || exit 5

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test,bench]'
	$(BIN)/python bench/run.py $(BENCH_ARGS)

demo: $(STAMP)
	$(BIN)/papertrade demo --dir demo-output

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

clean:
	rm -rf $(VENV) build dist .pytest_cache .ruff_cache .hypothesis
