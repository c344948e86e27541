from __future__ import annotations

import libcst as cst

from rewrites.core import Invalid, Valid
from rewrites.model import FixSafety
from rewrites.python_checker import PythonRule
from rewrites.rules._fixes import remove_decorator
from rewrites.rules._helpers import enclosing_decorator


class JitUnused(PythonRule):
    """Flags `@torch.jit.unused`.

    ## What it does
    Reports the `torch.jit.unused` decorator.

    ## Why is this bad?
    It replaces a method with a stub that raises when scripted. `torch.export` ignores it and
    traces the real body if it is reached, so it documents nothing true after migration.

    ## Example
    ```python
    @torch.jit.unused
    def forward_train(self, x):
        ...
    ```

    Use instead:
    ```python
    def forward_train(self, x):
        ...
    ```

    ## Fix safety
    Safe: in eager mode the decorator returns the function unchanged.
    """

    code = "MIG302"
    name = "jit-unused"
    message = "`@torch.jit.unused` is TorchScript-only: remove it"
    fix_title = "Remove `@torch.jit.unused`"
    fix_safety = FixSafety.SAFE
    names = frozenset({"torch.jit.unused"})

    VALID = [Valid("import torch\ndef f(x):\n    return x\n")]
    INVALID = [
        Invalid(
            "import torch\n@torch.jit.unused\ndef f(x):\n    return x\n",
            line=2,
            column=1,
            expected="def f(x):\n    return x\n",
        )
    ]

    def visit_reference(self, node: cst.BaseExpression, qualified_name: str) -> None:
        decorator = enclosing_decorator(self.ctx)
        if decorator is None:
            self.report(node)
        else:
            self.report(decorator, edit=remove_decorator(self, decorator, node))
