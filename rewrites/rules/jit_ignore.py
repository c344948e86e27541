from __future__ import annotations

import libcst as cst

from rewrites.core import Invalid, Valid
from rewrites.model import FixSafety
from rewrites.python_checker import PythonRule
from rewrites.rules._fixes import remove_decorator
from rewrites.rules._helpers import enclosing_decorator


class JitIgnore(PythonRule):
    """Flags `@torch.jit.ignore` (with or without `drop=True`).

    ## What it does
    Reports the `torch.jit.ignore` decorator.

    ## Why is this bad?
    It tells the TorchScript compiler to leave a method as Python. `torch.export` does not
    honour it: the body is traced like any other code, so the decorator only misleads readers.
    If the body cannot be traced (file I/O, numpy, logging of tensor values), move it out of the
    exported path.

    ## Example
    ```python
    @torch.jit.ignore
    def debug_stats(self, x):
        return x.mean()
    ```

    Use instead:
    ```python
    def debug_stats(self, x):
        return x.mean()
    ```

    ## Fix safety
    Safe: outside TorchScript the decorator returns the function unchanged.
    """

    code = "MIG301"
    name = "jit-ignore"
    message = (
        "`@torch.jit.ignore` is TorchScript-only and `torch.export` traces the body anyway: "
        "remove it (and keep untraceable code out of `forward`)"
    )
    fix_title = "Remove `@torch.jit.ignore`"
    fix_safety = FixSafety.SAFE
    names = frozenset({"torch.jit.ignore"})

    VALID = [Valid("import torch\nclass M(torch.nn.Module):\n    def stats(self, x):\n        return x\n")]
    INVALID = [
        Invalid(
            "import torch\nclass M(torch.nn.Module):\n    @torch.jit.ignore\n    def stats(self, x):\n        return x\n",
            line=3,
            column=5,
            expected="import torch\nclass M(torch.nn.Module):\n    def stats(self, x):\n        return x\n",
        ),
        Invalid(
            "from torch import jit\n@jit.ignore(drop=True)\ndef f(x):\n    return x\n",
            line=2,
            expected="def f(x):\n    return x\n",
        ),
        Invalid(
            "import torch\n\n# Debug only.\n@torch.jit.ignore  # not scriptable\n@staticmethod\ndef f(x):\n    return x\n",
            expected="\n# Debug only.\n# not scriptable\n@staticmethod\ndef f(x):\n    return x\n",
        ),
    ]

    def visit_reference(self, node: cst.BaseExpression, qualified_name: str) -> None:
        decorator = enclosing_decorator(self.ctx)
        if decorator is None:
            self.report(node)
        else:
            self.report(decorator, edit=remove_decorator(self, decorator, node))
