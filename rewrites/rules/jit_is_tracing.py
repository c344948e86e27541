from __future__ import annotations

import libcst as cst

from rewrites.core import Invalid, Valid
from rewrites.model import FixSafety
from rewrites.python_checker import PythonRule
from rewrites.rules._fixes import dotted_expression


class JitIsTracing(PythonRule):
    """Flags `torch.jit.is_tracing()` (and `torch._C._get_tracing_state()`).

    ## What it does
    Reports checks for "am I being traced by `torch.jit.trace`".

    ## Why is this bad?
    Under `torch.export` they are `False`, so code that took a trace-friendly path while
    tracing takes the eager path during export instead, which is often the one that cannot be
    exported (Python asserts, `.item()`, warnings on tensor values). The export-time
    counterpart is `torch.compiler.is_exporting()`.

    ## Example
    ```python
    if not torch.jit.is_tracing():
        assert x.shape[1] == self.dim
    ```

    Use instead:
    ```python
    if not torch.compiler.is_exporting():
        assert x.shape[1] == self.dim
    ```

    ## Fix safety
    Safe: in eager mode both are `False`; under export the trace-friendly path is kept.
    """

    code = "MIG311"
    name = "jit-is-tracing"
    message = (
        "`torch.jit.is_tracing()` is False under `torch.export`: use "
        "`torch.compiler.is_exporting()` to keep the trace-friendly path"
    )
    fix_title = "Use `torch.compiler.is_exporting()`"
    fix_safety = FixSafety.SAFE
    names = frozenset({"torch.jit.is_tracing", "torch._C._get_tracing_state"})

    VALID = [Valid("import torch\nif torch.compiler.is_exporting():\n    pass\n")]
    INVALID = [
        Invalid(
            "import torch\nif not torch.jit.is_tracing():\n    assert x.shape[1] == 3\n",
            line=2,
            column=8,
            expected="import torch\nif not torch.compiler.is_exporting():\n    assert x.shape[1] == 3\n",
        ),
        Invalid(
            "import torch\nif torch._C._get_tracing_state():\n    pass\n",
            expected="import torch\nif torch.compiler.is_exporting():\n    pass\n",
        ),
        Invalid(
            "from torch.jit import is_tracing\nskip = is_tracing() or flag\n",
            expected="import torch\n\nskip = torch.compiler.is_exporting() or flag\n",
        ),
    ]

    def visit_reference(self, node: cst.BaseExpression, qualified_name: str) -> None:
        call = self.ctx.parent()
        if not isinstance(call, cst.Call) or call.func is not node or call.args:
            self.report(node)
            return
        exporting = cst.Call(dotted_expression("torch.compiler.is_exporting"))
        self.report(call, edit=self.edit({call: exporting}, add_imports=[("torch", None)], dropped=[node]))
