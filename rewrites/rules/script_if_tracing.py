from __future__ import annotations

import libcst as cst

from rewrites.core import Invalid, Valid
from rewrites.model import FixSafety
from rewrites.python_checker import PythonRule
from rewrites.rules._fixes import remove_decorator
from rewrites.rules._helpers import enclosing_decorator


class ScriptIfTracing(PythonRule):
    """Flags `@torch.jit.script_if_tracing`.

    ## What it does
    Reports the `torch.jit.script_if_tracing` decorator (and calls of it).

    ## Why is this bad?
    It scripts the function only while `torch.jit.trace` runs, so that its control flow
    survives tracing. `torch.export` does not honour it; the function is traced as Python, and
    its control flow must be exportable (`torch.cond`, bounded loops).

    ## Example
    ```python
    @torch.jit.script_if_tracing
    def pad_to(x, n: int):
        ...
    ```

    Use instead:
    ```python
    def pad_to(x, n: int):
        ...
    ```

    ## Fix safety
    Safe: outside `torch.jit.trace` the decorator already does nothing.
    """

    code = "MIG112"
    name = "script-if-tracing"
    message = (
        "`torch.jit.script_if_tracing` has no effect under `torch.export`: remove it and make "
        "the function's control flow exportable"
    )
    fix_title = "Remove `@torch.jit.script_if_tracing`"
    fix_safety = FixSafety.SAFE
    names = frozenset({"torch.jit.script_if_tracing", "torch.jit._script_if_tracing"})

    VALID = [Valid("import torch\ndef pad_to(x, n: int):\n    return x\n")]
    INVALID = [
        Invalid(
            "import torch\n@torch.jit.script_if_tracing\ndef pad_to(x, n: int):\n    return x\n",
            line=2,
            expected="def pad_to(x, n: int):\n    return x\n",
        ),
    ]

    def visit_reference(self, node: cst.BaseExpression, qualified_name: str) -> None:
        decorator = enclosing_decorator(self.ctx)
        if decorator is None:
            self.report(node)
        else:
            self.report(decorator, edit=remove_decorator(self, decorator, node))
