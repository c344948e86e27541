# The two commands of the README (`make demo`, `make test`) set everything up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-all
# torch 2.12.1 runs the .ptl files optimize_for_mobile wrote (torch 2.13 cannot load their
# prepacked:: ops). It is a CUDA build from the registry: about 5 GB, but it runs on CPU.
LEGACY := .venv-legacy
LEGACY_STAMP := $(LEGACY)/.installed
# torch is pinned in pyproject.toml: an unpinned torch would pull a multi-GB CUDA build.
# No pip cache: the wheels would stay on disk beside what they installed (several GB here).
export PIP_NO_CACHE_DIR := 1

.PHONY: install legacy-env sandbox demo test bench lint clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[all,dev]'
	@touch $(STAMP)

install: $(STAMP)

$(LEGACY_STAMP):
	@test -x $(LEGACY)/bin/python || $(PYTHON) -m venv $(LEGACY)
	$(LEGACY)/bin/python -m pip install --quiet torch==2.12.1 numpy
	$(LEGACY)/bin/python -m pip uninstall --quiet --yes triton  # GPU compiler, 0.7 GB, never used here
	@touch $(LEGACY_STAMP)

legacy-env: $(LEGACY_STAMP)

# bubblewrap: loading a TorchScript archive runs its code, so migrate loads archives in a sandbox
# (bwrap). Installed with apt when run as root; otherwise one line says what to install.
sandbox:
	@command -v bwrap >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap; \
	  else \
	    echo "install bubblewrap (apt-get install bubblewrap): migrate loads TorchScript archives in its sandbox"; \
	  fi; }

demo: $(STAMP) $(LEGACY_STAMP) sandbox
	$(BIN)/python -m migrate.demo samples demo-out

test: $(STAMP) $(LEGACY_STAMP) sandbox
	$(BIN)/python -m pytest -q

bench: $(STAMP) $(LEGACY_STAMP)
	$(BIN)/python benchmarks/bench_scan.py --output bench-out/scan.json
	$(BIN)/python benchmarks/bench_models.py --output bench-out/models.json

lint: $(STAMP)
	$(BIN)/ruff check migrate rewrites validators tests benchmarks
	$(BIN)/ruff format --check migrate rewrites validators tests benchmarks
	$(BIN)/mypy

clean:
	rm -rf demo-out bench-out .migrate_cache .pytest_cache .mypy_cache .ruff_cache
