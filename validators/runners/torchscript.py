from __future__ import annotations

from validators.model import TensorSpec
from validators.runners import TorchEntryRunner, explain_load_failure


class TorchScriptRunner(TorchEntryRunner):
    """A TorchScript archive (``.pt``) through ``torch.jit.load``."""

    def load(self, artifact: str, threads: int, method: str = "forward", layout: str = "nchw") -> None:
        import torch

        torch.set_num_threads(threads)
        try:
            self.module = torch.jit.load(artifact, map_location="cpu")
        except Exception as exc:
            raise explain_load_failure(exc, artifact) from None
        self.entry = self.module if method == "forward" else getattr(self.module, method)
        self.module.eval()

    def input_specs(self) -> list[TensorSpec] | None:
        return None  # a TorchScript archive declares no input shapes

    def close(self) -> None:
        self.module = None
