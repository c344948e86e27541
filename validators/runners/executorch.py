from __future__ import annotations

from collections.abc import Callable

import numpy as np

from validators.model import TensorSpec

# ExecuTorch ScalarType codes (executorch/runtime/core/portable_type/scalar_type.h) to dtype names.
SCALAR_TYPES = {
    0: "uint8",
    1: "int8",
    2: "int16",
    3: "int32",
    4: "int64",
    5: "float16",
    6: "float32",
    7: "float64",
    11: "bool",
    15: "bfloat16",
}


class ExecuTorchRunner:
    """An ExecuTorch program (``.pte``) through ``executorch.runtime``, any of its methods."""

    def load(self, artifact: str, threads: int, method: str = "forward", layout: str = "nchw") -> None:
        from executorch.runtime import Runtime

        from validators.internals import reset_threadpool

        reset_threadpool(threads)  # XNNPACK's threads
        self.program = Runtime.get().load_program(artifact)
        if method not in self.program.method_names:
            raise ValueError(
                f"the program has no method {method!r} (it has {', '.join(sorted(self.program.method_names))})"
            )
        self.method = self.program.load_method(method)
        self.meta = self.program.metadata(method)

    def input_specs(self) -> list[TensorSpec] | None:
        specs = []
        for i in range(self.meta.num_inputs()):
            tensor = self.meta.input_tensor_meta(i)
            specs.append(
                TensorSpec(
                    f"input_{i}", tuple(tensor.sizes()), SCALAR_TYPES.get(int(tensor.dtype()), "float32")
                )
            )
        return specs

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        import torch

        outputs = self.method.execute([torch.from_numpy(np.ascontiguousarray(a)) for a in inputs])
        return [o.numpy() if hasattr(o, "numpy") else np.asarray(o) for o in outputs]

    def call(self, inputs: list[np.ndarray]) -> Callable[[], object]:
        import torch

        tensors = [torch.from_numpy(np.ascontiguousarray(a)) for a in inputs]
        native = getattr(self.method, "_method", None)  # executorch.runtime's pybind method (1.5.1)
        if native is None or not hasattr(native, "set_inputs"):
            return lambda: self.method.execute(tensors)
        # inputs set and the method run, outputs left in it, as TFLite's call; Method.execute([...])
        # also converts every input and clones every output: 30 us of a 50 us model here. Inputs
        # are set at every call: a program may reuse its input buffers for what it computes (the
        # text encoder's second run on inputs set once read garbage token ids)
        return lambda: (native.set_inputs(tensors), native.execute())

    def close(self) -> None:
        self.method = self.program = None
