from __future__ import annotations

import libcst as cst

from rewrites.model import FixSafety
from rewrites.rule import Invalid, Rule, Valid


class JitIsScripting(Rule):
    """Flags `torch.jit.is_scripting()`.

    ## What it does
    Reports `torch.jit.is_scripting()`, usually a branch between TorchScript-friendly and
    plain-Python code.

    ## Why is this bad?
    Under `torch.export` it is always `False`, so the scripted branch is dead code after
    migration. If that branch existed because the Python branch cannot be compiled, check
    that it can be exported; where export needs its own path, branch on
    `torch.compiler.is_exporting()`.

    ## Example
    ```python
    if torch.jit.is_scripting():
        return self.forward_scripted(x)
    return self.forward_eager(x)
    ```

    Use instead:
    ```python
    return self.forward_eager(x)
    ```

    ## Fix safety
    Safe: the fix keeps exactly the branch that runs in eager mode and under export.
    """

    code = "MIG310"
    name = "jit-is-scripting"
    message = (
        "`torch.jit.is_scripting()` is always False after migration: keep the non-scripting "
        "branch (branch on `torch.compiler.is_exporting()` if export needs its own path)"
    )
    fix_title = "Keep the non-scripting branch"
    fix_safety = FixSafety.SAFE
    names = frozenset({"torch.jit.is_scripting"})

    VALID = [Valid("import torch\nif torch.compiler.is_exporting():\n    pass\n")]
    INVALID = [
        Invalid(
            "import torch\nif torch.jit.is_scripting():\n    y = 1\nelse:\n    y = 2\n", line=2, column=4
        ),
        Invalid("import torch\nif not torch.jit.is_scripting() and self.grad_checkpointing:\n    pass\n"),
    ]

    def visit_reference(self, node: cst.BaseExpression, qualified_name: str) -> None:
        parent = self.ctx.parent()
        self.report(parent if isinstance(parent, cst.Call) else node)
