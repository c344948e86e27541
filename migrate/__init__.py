"""executorch-migrate: move PyTorch Mobile / TorchScript code and models to ExecuTorch.

``cli`` is the click command line (it prints and picks exit codes); ``api`` is the library
behind it for scan / apply (plain arguments in, data out), with ``config`` (``[tool.migrate]``).
``export/``, ``validate/`` and ``reports/`` are the packages of `migrate export`, `migrate
validate` and every rendered report. Helpers they share: ``artifacts`` (reading files named on
the command line), ``output`` (atomic writes), ``errors``, ``manifest`` (what a `.pte` holds),
``sandboxed`` (a TorchScript archive exported under bubblewrap), ``quiet`` (torch's console
noise), ``vcs`` (uncommitted files), ``github`` (the pull-request comment) and ``docs``
(``docs/rules/``).
"""

from __future__ import annotations

__version__ = "0.1.0"
# Where the project lives (pyproject.toml's [project.urls] says the same; a test checks):
# SARIF's informationUri, and each rule's helpUri under docs/rules/.
REPOSITORY = "https://github.com/executorch-migrate/executorch-migrate"
RULE_DOCS = f"{REPOSITORY}/blob/main/docs/rules"
