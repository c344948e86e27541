from __future__ import annotations

import libcst as cst

from rewrites.core import Invalid, Valid
from rewrites.model import FixSafety
from rewrites.python_checker import PythonRule
from rewrites.rules._fixes import typed_value_edit


class JitAnnotate(PythonRule):
    """Flags `torch.jit.annotate(T, value)`.

    ## What it does
    Reports `torch.jit.annotate`, which gives the TorchScript compiler the type of an empty
    container or `None`.

    ## Why is this bad?
    In eager mode and under `torch.export` it just returns `value`. A variable annotation says
    the same to readers and type checkers.

    ## Example
    ```python
    outputs = torch.jit.annotate(List[torch.Tensor], [])
    ```

    Use instead:
    ```python
    outputs: List[torch.Tensor] = []
    ```

    ## Fix safety
    Safe: the value is unchanged.
    """

    code = "MIG306"
    name = "jit-annotate"
    message = "`torch.jit.annotate(T, v)` is just `v` outside TorchScript: write `name: T = v`"
    fix_title = "Replace with the value (annotating the target)"
    fix_safety = FixSafety.SAFE
    names = frozenset({"torch.jit.annotate"})

    VALID = [Valid("import torch\nfrom typing import List\nouts: List[torch.Tensor] = []\n")]
    INVALID = [
        Invalid(
            "import torch\nfrom typing import List\nouts = torch.jit.annotate(List[torch.Tensor], [])\n",
            line=3,
            column=8,
            expected="import torch\nfrom typing import List\nouts: List[torch.Tensor] = []\n",
        ),
        Invalid(
            "from torch.jit import annotate\nh = annotate(Optional[Tensor], None)\n",
            expected="h: Optional[Tensor] = None\n",
        ),
        Invalid(
            "import torch\nreturn_value = f(torch.jit.annotate(List[int], []))\n",
            expected="return_value = f([])\n",
        ),
    ]

    def visit_reference(self, node: cst.BaseExpression, qualified_name: str) -> None:
        call = self.ctx.parent()
        if not isinstance(call, cst.Call) or call.func is not node:
            self.report(node)
        else:
            self.report(call, edit=typed_value_edit(self, call, node, value_at=1))
