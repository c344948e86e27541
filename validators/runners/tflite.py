from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np

from validators.model import TensorSpec


def _order(name: str) -> tuple[int, str]:
    """litert-torch names tensors args_0, args_1 / output_0, output_1: sort by that number."""
    numbers = re.findall(r"\d+", name)
    return (int(numbers[-1]) if numbers else 0, name)


class TFLiteRunner:
    """A ``.tflite`` model through ``ai_edge_litert`` (XNNPACK is its default CPU delegate)."""

    def load(self, artifact: str, threads: int, method: str = "forward", layout: str = "nchw") -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.nhwc = layout == "nhwc"
        self.interpreter = Interpreter(model_path=artifact, num_threads=threads)
        self.interpreter.allocate_tensors()
        self.inputs = sorted(self.interpreter.get_input_details(), key=lambda d: _order(d["name"]))
        self.outputs = sorted(self.interpreter.get_output_details(), key=lambda d: _order(d["name"]))

    def input_specs(self) -> list[TensorSpec] | None:
        specs = []
        for detail in self.inputs:
            shape = tuple(int(s) for s in detail["shape"])
            if self.nhwc and len(shape) == 4:
                shape = (shape[0], shape[3], shape[1], shape[2])  # described as NCHW, like the others
            specs.append(TensorSpec(detail["name"], shape, np.dtype(detail["dtype"]).name))
        return specs

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        self.call(inputs)()
        outputs = [np.array(self.interpreter.get_tensor(d["index"])) for d in self.outputs]
        return [o.transpose(0, 3, 1, 2) if self.nhwc and o.ndim == 4 else o for o in outputs]

    def call(self, inputs: list[np.ndarray]) -> Callable[[], object]:
        values = []
        for detail, value in zip(self.inputs, inputs, strict=True):
            if self.nhwc and value.ndim == 4:
                value = value.transpose(0, 2, 3, 1)  # the declared NCHW -> NHWC adapter
            values.append((detail["index"], np.ascontiguousarray(value, dtype=detail["dtype"])))
        set_tensor, invoke = self.interpreter.set_tensor, self.interpreter.invoke

        def call() -> None:  # the inputs copied in and the model run; the outputs stay in place
            for index, value in values:
                set_tensor(index, value)
            invoke()

        return call

    def close(self) -> None:
        self.interpreter = None
