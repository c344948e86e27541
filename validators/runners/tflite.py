from __future__ import annotations

import re

import numpy as np

from validators.model import TensorSpec


def _order(name: str) -> tuple[int, str]:
    """litert-torch names tensors args_0, args_1 / output_0, output_1: sort by that number."""
    numbers = re.findall(r"\d+", name)
    return (int(numbers[-1]) if numbers else 0, name)


class TFLiteRunner:
    """A ``.tflite`` model through ``ai_edge_litert`` (XNNPACK is its default CPU delegate)."""

    def load(self, artifact: str, threads: int) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(model_path=artifact, num_threads=threads)
        self.interpreter.allocate_tensors()
        self.inputs = sorted(self.interpreter.get_input_details(), key=lambda d: _order(d["name"]))
        self.outputs = sorted(self.interpreter.get_output_details(), key=lambda d: _order(d["name"]))

    def input_specs(self) -> list[TensorSpec] | None:
        return [
            TensorSpec(d["name"], tuple(int(s) for s in d["shape"]), np.dtype(d["dtype"]).name)
            for d in self.inputs
        ]

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        for detail, value in zip(self.inputs, inputs, strict=True):
            self.interpreter.set_tensor(detail["index"], np.ascontiguousarray(value, dtype=detail["dtype"]))
        self.interpreter.invoke()
        return [np.array(self.interpreter.get_tensor(d["index"])) for d in self.outputs]

    def close(self) -> None:
        self.interpreter = None
