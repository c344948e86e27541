"""executorch-migrate: move PyTorch Mobile / TorchScript code and models to ExecuTorch."""

from __future__ import annotations

__version__ = "0.1.0"
# Where the project lives (pyproject.toml's [project.urls] says the same; a test checks):
# SARIF's informationUri, and each rule's helpUri under docs/rules/.
REPOSITORY = "https://github.com/executorch-migrate/executorch-migrate"
RULE_DOCS = f"{REPOSITORY}/blob/main/docs/rules"
