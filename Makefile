# The two commands of the README (`make demo`, `make test`) set everything up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-all
# torch is pinned in pyproject.toml: an unpinned torch would pull a multi-GB CUDA build.

.PHONY: install demo test bench lint clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[all,dev]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m migrate.demo samples demo-out

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_scan.py --output bench-out/scan.json

lint: $(STAMP)
	$(BIN)/ruff check migrate rewrites validators tests benchmarks
	$(BIN)/ruff format --check migrate rewrites validators tests benchmarks
	$(BIN)/mypy

clean:
	rm -rf demo-out bench-out .migrate_cache .pytest_cache .mypy_cache .ruff_cache
