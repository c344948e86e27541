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

# The report's tests render it as GitHub does: cmark-gfm (pip), Mermaid's renderer in Debian's
# Chromium (npm, into the git-ignored .tools/), shellcheck and actionlint (pip) for the Action.
MMDC := .tools/node_modules/.bin/mmdc

.PHONY: install legacy-env tools native-tools sandbox demo test bench lint clean

# Native code and targets: `migrate validate --target native / arm64:CPU` builds C++ runners (cmake,
# g++) and cross-builds them for arm64 (g++-aarch64-linux-gnu), run under qemu-aarch64 (qemu-user);
# the native samples are built and run before and after their migration (a JDK for JNI); clang and
# GNUstep's Foundation headers check the rewritten iOS bridge as Objective-C++. Installed through
# apt as root; otherwise one line names what is missing (the host targets work without them).
NATIVE_TOOLS := cmake:cmake c++:g++ aarch64-linux-gnu-g++:g++-aarch64-linux-gnu qemu-aarch64:qemu-user \
	javac:default-jdk-headless clang++:clang gnustep-config:libgnustep-base-dev

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

$(MMDC):
	@missing=""; for tool in chromium shellcheck npm; do command -v $$tool >/dev/null || missing="$$missing $$tool"; done; \
	if [ -n "$$missing" ] && [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq $$missing; fi
	PUPPETEER_SKIP_DOWNLOAD=1 npm install --prefix .tools --no-audit --no-fund --silent @mermaid-js/mermaid-cli@12.2.0

tools: $(MMDC)

native-tools:
	@missing=""; for pair in $(NATIVE_TOOLS); do \
	  command -v $${pair%%:*} >/dev/null 2>&1 || missing="$$missing $${pair#*:}"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else echo "native targets: missing packages$$missing (apt-get install them as root)"; fi; fi

# bubblewrap: loading a TorchScript archive runs its code, so migrate loads archives in a sandbox
# (bwrap). Installed with apt when run as root; otherwise one line says what to install.
sandbox:
	@command -v bwrap >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap; \
	  else \
	    echo "install bubblewrap (apt-get install bubblewrap): migrate loads TorchScript archives in its sandbox"; \
	  fi; }

demo: $(STAMP) $(LEGACY_STAMP) native-tools sandbox
	$(BIN)/python scripts/demo.py samples demo-out

test: $(STAMP) $(LEGACY_STAMP) native-tools sandbox $(MMDC)
	$(BIN)/python -m pytest -q

bench: $(STAMP) $(LEGACY_STAMP) native-tools
	$(BIN)/python benchmarks/bench_scan.py --output bench-out/scan.json
	$(BIN)/python benchmarks/bench_models.py --output bench-out/models.json

lint: $(STAMP)
	$(BIN)/ruff check migrate rewrites validators tests benchmarks scripts
	$(BIN)/ruff format --check migrate rewrites validators tests benchmarks scripts
	$(BIN)/mypy

clean:
	rm -rf demo-out bench-out .tools .migrate_cache .pytest_cache .mypy_cache .ruff_cache
