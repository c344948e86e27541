from __future__ import annotations

import importlib
import os
import sys

from validators.model import TensorSpec
from validators.runners import TorchEntryRunner


class EagerRunner(TorchEntryRunner):
    """The source model, from ``pkg.module:factory`` (the working folder is importable)."""

    def load(self, artifact: str, threads: int, method: str = "forward", layout: str = "nchw") -> None:
        import torch

        torch.set_num_threads(threads)
        if os.getcwd() not in sys.path:
            sys.path.insert(0, os.getcwd())
        module_name, _, attribute = artifact.partition(":")
        module = importlib.import_module(module_name)
        target = getattr(module, attribute)
        self.model = target if isinstance(target, torch.nn.Module) else target()
        self.model.eval()
        self.entry = getattr(self.model, method)
        examples = getattr(module, "example_inputs", None)
        self.examples = examples() if callable(examples) else None

    def input_specs(self) -> list[TensorSpec] | None:
        if self.examples is None:
            return None
        examples = self.examples if isinstance(self.examples, (tuple, list)) else (self.examples,)
        return [
            TensorSpec(f"input_{i}", tuple(e.shape), str(e.numpy().dtype)) for i, e in enumerate(examples)
        ]

    def close(self) -> None:
        self.model = None
