from __future__ import annotations

import libcst as cst

from rewrites.core import Invalid, Valid
from rewrites.model import FixSafety
from rewrites.python_checker import PythonRule
from rewrites.rules._helpers import enclosing_decorator


class JitInterface(PythonRule):
    """Flags `@torch.jit.interface`.

    ## What it does
    Reports TorchScript interface declarations.

    ## Why is this bad?
    TorchScript needs interfaces to type module attributes that may hold different modules.
    `torch.export` traces whatever module is there, so the interface is only a type: a
    `typing.Protocol` says the same thing to type checkers.

    ## Example
    ```python
    @torch.jit.interface
    class Head(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            pass
    ```

    Use instead:
    ```python
    class Head(typing.Protocol):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            ...
    ```

    ## Fix safety
    Safe: interfaces are never instantiated.
    """

    code = "MIG304"
    name = "jit-interface"
    message = "`@torch.jit.interface` is TorchScript typing: declare a `typing.Protocol` instead"
    fix_title = "Declare a `typing.Protocol`"
    fix_safety = FixSafety.SAFE
    names = frozenset({"torch.jit.interface"})

    VALID = [Valid("import typing\nclass Head(typing.Protocol):\n    def forward(self, x): ...\n")]
    INVALID = [
        Invalid(
            "import torch\n@torch.jit.interface\nclass Head(torch.nn.Module):\n"
            "    def forward(self, x: torch.Tensor) -> torch.Tensor:\n        pass\n",
            line=2,
            expected=(
                "import torch\nfrom typing import Protocol\n\nclass Head(Protocol):\n"
                "    def forward(self, x: torch.Tensor) -> torch.Tensor:\n        pass\n"
            ),
        ),
    ]

    def visit_reference(self, node: cst.BaseExpression, qualified_name: str) -> None:
        decorator = enclosing_decorator(self.ctx)
        owner = self.ctx.stack[-3] if decorator is self.ctx.parent() else None
        if decorator is None or not isinstance(owner, cst.ClassDef):
            self.report(decorator or node)
            return
        protocol = owner.with_changes(
            decorators=[d for d in owner.decorators if d is not decorator],
            bases=[cst.Arg(cst.Name("Protocol"))],
            lpar=cst.LeftParen(),
            rpar=cst.RightParen(),
        )
        dropped = [node, *(arg.value for arg in owner.bases)]
        self.report(
            decorator,
            edit=self.edit({owner: protocol}, add_imports=[("typing", "Protocol")], dropped=dropped),
        )
