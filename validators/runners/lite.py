from __future__ import annotations

from collections.abc import Callable

import numpy as np

from validators.model import TensorSpec
from validators.runners import explain_load_failure, flatten, no_grad_call


class LiteRunner:
    """A PyTorch Mobile archive (``.ptl``) through the lite interpreter."""

    def load(self, artifact: str, threads: int, method: str = "forward", layout: str = "nchw") -> None:
        import torch
        from torch.jit.mobile import _load_for_lite_interpreter

        torch.set_num_threads(threads)
        try:
            self.module = _load_for_lite_interpreter(artifact)  # a path: it cannot read buffers
        except Exception as exc:
            raise explain_load_failure(exc, artifact) from None
        self.entry = self.module if method == "forward" else getattr(self.module, method)

    def input_specs(self) -> list[TensorSpec] | None:
        return None

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        import torch

        with torch.no_grad():
            return flatten(self.entry(*(torch.from_numpy(a) for a in inputs)))

    def call(self, inputs: list[np.ndarray]) -> Callable[[], object]:
        return no_grad_call(self.entry, inputs)

    def close(self) -> None:
        self.module = None
