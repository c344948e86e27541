from __future__ import annotations

import libcst as cst

from rewrites.core import Invalid, Valid
from rewrites.python_checker import PythonRule


class JitToBackend(PythonRule):
    """Flags `torch._C._jit_to_backend` (TorchScript backend delegation).

    ## What it does
    Reports `torch._C._jit_to_backend` and `torch._C._jit_to_backend_selective`.

    ## Why is this bad?
    TorchScript's backend API (used for NNAPI, Core ML and custom delegates) does not carry
    over. ExecuTorch delegates through partitioners given to `to_edge_transform_and_lower`:
    `XnnpackPartitioner`, `CoreMLPartitioner`, `VulkanPartitioner`, `QnnPartitioner`, ...

    ## Example
    ```python
    lowered = torch._C._jit_to_backend("coreml", scripted, compile_spec)
    ```

    Use instead:
    ```python
    program = to_edge_transform_and_lower(exported, partitioner=[CoreMLPartitioner()])
    ```

    ## Fix safety
    Display-only: compile specs differ per backend.
    """

    code = "MIG208"
    name = "jit-to-backend"
    message = (
        "TorchScript backend delegation does not carry over: pass the backend's partitioner to "
        "`to_edge_transform_and_lower(exported, partitioner=[...])`"
    )
    names = frozenset({"torch._C._jit_to_backend", "torch._C._jit_to_backend_selective"})

    VALID = [Valid("import torch\nfrom executorch.exir import to_edge_transform_and_lower\n")]
    INVALID = [Invalid("import torch\nm = torch._C._jit_to_backend('coreml', sm, spec)\n", line=2, column=5)]

    def visit_reference(self, node: cst.BaseExpression, qualified_name: str) -> None:
        self.report(node)
