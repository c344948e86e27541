from __future__ import annotations

import libcst as cst

from rewrites.core import Invalid, Valid
from rewrites.model import FixSafety
from rewrites.python_checker import PythonRule
from rewrites.rules._fixes import remove_decorator
from rewrites.rules._helpers import enclosing_decorator


class ScriptMethod(PythonRule):
    """Flags `@torch.jit.script_method`.

    ## What it does
    Reports the `@torch.jit.script_method` decorator on methods of `ScriptModule` subclasses.

    ## Why is this bad?
    It only means something on a `ScriptModule`, which cannot be exported (MIG109). On an
    `nn.Module` the method is a plain method that `torch.export` traces.

    ## Example
    ```python
    @torch.jit.script_method
    def forward(self, x):
        return x
    ```

    Use instead:
    ```python
    def forward(self, x):
        return x
    ```

    ## Fix safety
    Safe: the eager method is unchanged.
    """

    code = "MIG110"
    name = "script-method"
    message = "`@torch.jit.script_method` is TorchScript-only: remove it (and derive from `nn.Module`)"
    fix_title = "Remove `@torch.jit.script_method`"
    fix_safety = FixSafety.SAFE
    names = frozenset({"torch.jit.script_method"})

    VALID = [Valid("import torch\nclass M(torch.nn.Module):\n    def forward(self, x):\n        return x\n")]
    INVALID = [
        Invalid(
            "import torch\nclass M(torch.jit.ScriptModule):\n"
            "    @torch.jit.script_method\n    def forward(self, x):\n        return x\n",
            line=3,
            column=5,
            expected=(
                "import torch\nclass M(torch.jit.ScriptModule):\n    def forward(self, x):\n        return x\n"
            ),
        ),
    ]

    def visit_reference(self, node: cst.BaseExpression, qualified_name: str) -> None:
        decorator = enclosing_decorator(self.ctx)
        if decorator is None:
            self.report(node)
        else:
            self.report(decorator, edit=remove_decorator(self, decorator, node))
