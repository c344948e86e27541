"""executorch-migrate: move PyTorch Mobile / TorchScript code and models to ExecuTorch."""

from __future__ import annotations

__version__ = "0.1.0"
