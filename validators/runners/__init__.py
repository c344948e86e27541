"""One runner per runtime, behind one small protocol over numpy arrays.

A runner loads an artifact, says what inputs it declares (if it does), runs, and closes. It
never times itself: ``validators.harness`` does all measuring. Runners import their runtime
lazily, inside the worker process that uses them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np

from validators.model import TensorSpec


class Runner(Protocol):
    def load(self, artifact: str, threads: int, method: str = "forward", layout: str = "nchw") -> None:
        """``method``: the entry point to run (multi-method programs); ``layout``: a declared
        adapter for a runtime whose 4-D tensors are NHWC (inputs and outputs here are NCHW)."""

    def input_specs(self) -> list[TensorSpec] | None:
        """What the artifact declares about its inputs; None when it declares nothing."""

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        """Outputs flattened in order (pytree order for nested outputs)."""

    def call(self, inputs: list[np.ndarray]) -> Callable[[], object]:
        """The runtime's own call on these inputs, already in its types: set them and run, the
        outputs left where the runtime puts them. What latency times. Converting arrays in and
        outputs out costs each Python binding differently (executorch's execute: 30 us of a
        50 us model here), and an app pays none of it."""

    def close(self) -> None: ...


RUNNERS = {
    "eager": "validators.runners.eager:EagerRunner",
    "torchscript": "validators.runners.torchscript:TorchScriptRunner",
    "lite": "validators.runners.lite:LiteRunner",
    "executorch": "validators.runners.executorch:ExecuTorchRunner",
    "tflite": "validators.runners.tflite:TFLiteRunner",
}

# What a worker imports to measure a runtime's own memory (the baseline subtracted from peaks).
RUNTIME_MODULES = {
    "eager": "torch",
    "torchscript": "torch",
    "lite": "torch",
    "executorch": "executorch.runtime",
    "tflite": "ai_edge_litert.interpreter",
}

_SUFFIXES = {".pt": "torchscript", ".ptl": "lite", ".pte": "executorch", ".tflite": "tflite"}


def kind_for(artifact: str) -> str:
    """The runtime for an artifact: by file suffix, or ``eager`` for ``pkg.module:factory``."""
    suffix = Path(artifact).suffix.lower()
    if suffix in _SUFFIXES:
        return _SUFFIXES[suffix]
    if ":" in artifact:
        return "eager"
    raise ValueError(f"{artifact}: not a .pt, .ptl, .pte or .tflite file, nor a pkg.module:factory")


def create(kind: str) -> Runner:
    module_name, _, class_name = RUNNERS[kind].partition(":")
    runner: Runner = getattr(importlib.import_module(module_name), class_name)()
    return runner


def flatten(value: object) -> list[np.ndarray]:
    """Tensors (torch or numpy) in a nested output, in pytree order, as numpy arrays."""
    if isinstance(value, (list, tuple)):
        return [array for item in value for array in flatten(item)]
    if isinstance(value, dict):
        return [array for key in value for array in flatten(value[key])]
    if hasattr(value, "detach"):
        return [value.detach().cpu().numpy()]
    return [np.asarray(value)]


class TorchEntryRunner:
    """``run`` and ``call`` of a runner whose ``entry`` is a torch module or one of its methods
    (eager, TorchScript, lite): arrays in as tensors, no autograd, outputs flattened."""

    entry: Callable[..., object]

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        import torch

        with torch.no_grad():
            return flatten(self.entry(*(torch.from_numpy(a) for a in inputs)))

    def call(self, inputs: list[np.ndarray]) -> Callable[[], object]:
        """The module's call on these inputs as tensors, without autograd, as an app runs it
        (off for the whole worker: a worker serves one runner)."""
        import torch

        torch.set_grad_enabled(False)
        tensors = [torch.from_numpy(a) for a in inputs]
        entry = self.entry
        return lambda: entry(*tensors)


PREPACKED_HINT = (
    "holds prepacked:: XNNPACK ops from optimize_for_mobile, which this torch cannot load: run it "
    "in a legacy interpreter with --legacy-python (or legacy-python in [tool.migrate]; "
    "`make legacy-env` builds .venv-legacy with torch 2.12.1)"
)


def explain_load_failure(exc: Exception, artifact: str) -> Exception:
    """One line for the failure every optimize_for_mobile archive hits on torch 2.13 (whose
    own message can be an internal assert that names nothing)."""
    if "prepacked::" in str(exc) or holds_prepacked_ops(artifact):
        return RuntimeError(PREPACKED_HINT)
    return exc


def holds_prepacked_ops(artifact: str) -> bool:
    """Does a TorchScript / lite archive (a zip) mention XNNPACK's prepacked:: ops?"""
    import zipfile

    try:
        with zipfile.ZipFile(artifact) as archive:
            return any(
                b"prepacked" in archive.read(member)
                for member in archive.namelist()
                if member.endswith((".pkl", ".py")) and archive.getinfo(member).file_size < 64 * 2**20
            )
    except (OSError, zipfile.BadZipFile, RuntimeError):
        return False
