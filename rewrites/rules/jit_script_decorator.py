from __future__ import annotations

import libcst as cst

from rewrites.core import Invalid, Valid
from rewrites.model import FixSafety
from rewrites.python_checker import PythonRule
from rewrites.rules._fixes import remove_decorator
from rewrites.rules._helpers import enclosing_decorator


class JitScriptDecorator(PythonRule):
    """Flags `@torch.jit.script` on functions and classes.

    ## What it does
    Reports `@torch.jit.script` used as a decorator.

    ## Why is this bad?
    The decorator compiles the function (or TorchScript class) when it is defined. Under
    `torch.export` the compiled `ScriptFunction` cannot be traced, so a model calling it fails
    to export. Plain Python functions are traced as they are.

    ## Example
    ```python
    @torch.jit.script
    def swish(x):
        return x * torch.sigmoid(x)
    ```

    Use instead:
    ```python
    def swish(x):
        return x * torch.sigmoid(x)
    ```

    ## Fix safety
    Safe: outside TorchScript the decorated function behaves exactly like the plain one.
    """

    code = "MIG102"
    name = "jit-script-decorator"
    message = (
        "`@torch.jit.script` compiles this to TorchScript, which `torch.export` cannot trace: "
        "remove the decorator"
    )
    fix_title = "Remove `@torch.jit.script`"
    fix_safety = FixSafety.SAFE
    names = frozenset({"torch.jit.script"})

    VALID = [
        Valid("import torch\ndef swish(x):\n    return x * torch.sigmoid(x)\n"),
        Valid("import torch\nm = torch.jit.script(model)\n"),
    ]
    INVALID = [
        Invalid(
            "import torch\n@torch.jit.script\ndef swish(x):\n    return x * torch.sigmoid(x)\n",
            line=2,
            column=1,
            expected="import torch\ndef swish(x):\n    return x * torch.sigmoid(x)\n",
        ),
        Invalid(
            "from torch import jit\n\n@jit.script\nclass Pair:\n    pass\n",
            line=3,
            expected="\nclass Pair:\n    pass\n",
        ),
    ]

    def visit_reference(self, node: cst.BaseExpression, qualified_name: str) -> None:
        decorator = enclosing_decorator(self.ctx)
        if decorator is not None:
            self.report(decorator, edit=remove_decorator(self, decorator, node))
