from __future__ import annotations

from validators.model import TensorSpec
from validators.runners import TorchEntryRunner, explain_load_failure


class LiteRunner(TorchEntryRunner):
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

    def close(self) -> None:
        self.module = None
