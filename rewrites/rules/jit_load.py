from __future__ import annotations

import libcst as cst

from rewrites.core import Invalid, Valid
from rewrites.python_checker import PythonRule


class JitLoad(PythonRule):
    """Flags `torch.jit.load(path)`.

    ## What it does
    Reports uses of `torch.jit.load`, which loads a TorchScript archive.

    ## Why is this bad?
    Code that loads `.pt` archives for inference (tests, servers, evaluation scripts) keeps
    the TorchScript runtime alive. ExecuTorch programs load with `executorch.runtime`. Archives
    whose source is gone can still be converted: `migrate export model.pt -o model.pte`.

    ## Example
    ```python
    model = torch.jit.load("model.pt")
    out = model(x)
    ```

    Use instead:
    ```python
    from executorch.runtime import Runtime

    method = Runtime.get().load_program("model.pte").load_method("forward")
    out = method.execute([x])[0]
    ```

    ## Fix safety
    Display-only: outputs come back as a list, and what to load depends on where the `.pte`
    is written.
    """

    code = "MIG108"
    name = "jit-load"
    message = (
        "`torch.jit.load` loads TorchScript: run the `.pte` with "
        "`executorch.runtime.Runtime.get().load_program(path).load_method('forward')`, or "
        "convert a source-less archive with `migrate export model.pt -o model.pte`"
    )
    names = frozenset({"torch.jit.load"})

    VALID = [Valid("import torch\nstate = torch.load('w.pt', weights_only=True)\n")]
    INVALID = [
        Invalid("import torch\nmodel = torch.jit.load('model.pt', map_location='cpu')\n"),
        Invalid("from torch import jit\nm = jit.load(buffer)\n"),
    ]

    def visit_reference(self, node: cst.BaseExpression, qualified_name: str) -> None:
        self.report(node)
