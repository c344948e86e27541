from __future__ import annotations

import libcst as cst

from rewrites.core import Invalid, Valid
from rewrites.model import FixSafety
from rewrites.python_checker import PythonRule


class JitFuture(PythonRule):
    """Flags `torch.jit.Future[T]` annotations.

    ## What it does
    Reports the type of values returned by `torch.jit.fork`.

    ## Why is this bad?
    Once `fork` / `wait` become direct calls (MIG312) the value is the result itself, so the
    annotation is `T`.

    ## Example
    ```python
    futures: List[torch.jit.Future[torch.Tensor]] = []
    ```

    Use instead:
    ```python
    futures: List[torch.Tensor] = []
    ```

    ## Fix safety
    Safe together with MIG312's fix.
    """

    code = "MIG314"
    name = "jit-future"
    message = "`torch.jit.Future[T]` goes with `fork`/`wait`: annotate the result type `T`"
    fix_title = "Annotate the result type"
    fix_safety = FixSafety.SAFE
    names = frozenset({"torch.jit.Future"})

    VALID = [Valid("import torch\nfrom typing import List\nouts: List[torch.Tensor] = []\n")]
    INVALID = [
        Invalid(
            "import torch\nfrom typing import List\nfuts: List[torch.jit.Future[torch.Tensor]] = []\n",
            line=3,
            column=12,
            expected="import torch\nfrom typing import List\nfuts: List[torch.Tensor] = []\n",
        ),
    ]

    def visit_reference(self, node: cst.BaseExpression, qualified_name: str) -> None:
        subscript = self.ctx.parent()
        if not isinstance(subscript, cst.Subscript) or len(subscript.slice) != 1:
            self.report(node)
            return
        inner = subscript.slice[0].slice
        edit = self.edit({subscript: inner.value}, dropped=[node]) if isinstance(inner, cst.Index) else None
        self.report(subscript, edit=edit)
