from __future__ import annotations

import libcst as cst

from rewrites.core import Invalid, Valid
from rewrites.python_checker import PythonRule


class TorchScriptApi(PythonRule):
    """Flags any other TorchScript API (`torch.jit.*`, `torch._C._jit_*`).

    ## What it does
    Reports every use of a `torch.jit` name, or of a `torch._C._jit_*` switch, that no more
    specific rule covers: fuser settings, `torch.jit.CompilationUnit`, `optimized_execution`,
    `set_fusion_strategy`, `torch._C._jit_set_profiling_executor` and the like.

    ## Why is this bad?
    Every TorchScript dependency has to go for the code to run without TorchScript; these
    tune or inspect the TorchScript runtime and have no effect on an ExecuTorch program.

    ## Example
    ```python
    torch._C._jit_set_profiling_executor(False)
    with torch.jit.optimized_execution(True):
        out = scripted(x)
    ```

    Use instead:
    ```python
    out = model(x)
    ```

    ## Fix safety
    Display-only: what replaces a runtime switch depends on why it was set.
    """

    code = "MIG199"
    name = "torchscript-api"
    message = "`{name}` belongs to TorchScript, which ExecuTorch does not use: remove it or move off it"
    names = frozenset({"torch.jit.*", "torch._C._jit_*"})
    fallback = True

    VALID = [
        Valid("import torch\nm = torch.compile(model)\n"),
        Valid("import torch\nm = torch.jit.script(model)\n"),
    ]
    INVALID = [
        Invalid(
            "import torch\ntorch._C._jit_set_profiling_executor(False)\n",
            message="`torch._C._jit_set_profiling_executor` belongs to TorchScript, which ExecuTorch does not use: remove it or move off it",
        ),
        Invalid(
            "import torch\nwith torch.jit.optimized_execution(True):\n    pass\n",
            message="`torch.jit.optimized_execution` belongs to TorchScript, which ExecuTorch does not use: remove it or move off it",
        ),
        Invalid(
            "from torch.jit import CompilationUnit\ncu = CompilationUnit(src)\n",
            message="`torch.jit.CompilationUnit` belongs to TorchScript, which ExecuTorch does not use: remove it or move off it",
        ),
    ]

    def visit_reference(self, node: cst.BaseExpression, qualified_name: str) -> None:
        self.report(node, args={"name": qualified_name})
