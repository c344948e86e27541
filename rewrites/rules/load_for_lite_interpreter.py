from __future__ import annotations

import libcst as cst

from rewrites.core import Invalid, Valid
from rewrites.python_checker import PythonRule


class LoadForLiteInterpreter(PythonRule):
    """Flags `torch.jit.mobile._load_for_lite_interpreter` and `LiteScriptModule`.

    ## What it does
    Reports loading `.ptl` files with the lite interpreter from Python (usually tests or
    evaluation scripts that check the mobile artifact).

    ## Why is this bad?
    The lite interpreter is deprecated and its archives stop loading once they hold ops a
    newer torch dropped. The migrated artifact is a `.pte`, which `executorch.runtime` runs
    from Python with the same kernels as the app.

    ## Example
    ```python
    from torch.jit.mobile import _load_for_lite_interpreter
    m = _load_for_lite_interpreter("model.ptl")
    out = m(x)
    ```

    Use instead:
    ```python
    from executorch.runtime import Runtime
    method = Runtime.get().load_program("model.pte").load_method("forward")
    out = method.execute([x])[0]
    ```

    ## Fix safety
    Display-only: outputs come back as a list and the file changes.
    """

    code = "MIG204"
    name = "load-for-lite-interpreter"
    message = (
        "the lite interpreter is deprecated: run the `.pte` with "
        "`executorch.runtime.Runtime.get().load_program(path).load_method('forward')`"
    )
    names = frozenset(
        {
            "torch.jit.mobile._load_for_lite_interpreter",
            "torch.jit.mobile.LiteScriptModule",
            "torch._C._load_for_lite_interpreter",
        }
    )

    VALID = [Valid("from executorch.runtime import Runtime\nRuntime.get().load_program('m.pte')\n")]
    INVALID = [
        Invalid(
            "from torch.jit.mobile import _load_for_lite_interpreter\n"
            "m = _load_for_lite_interpreter('model.ptl')\n",
            line=2,
            column=5,
        ),
        Invalid("import torch\nm = torch.jit.mobile._load_for_lite_interpreter(path)\n"),
    ]

    def visit_reference(self, node: cst.BaseExpression, qualified_name: str) -> None:
        self.report(node)
