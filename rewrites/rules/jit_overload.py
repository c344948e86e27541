from __future__ import annotations

import libcst as cst

from rewrites.core import Invalid, Valid
from rewrites.model import FixSafety
from rewrites.python_checker import PythonRule
from rewrites.rules._fixes import use_typing_name
from rewrites.rules._helpers import enclosing_decorator


class JitOverload(PythonRule):
    """Flags `torch.jit._overload` and `torch.jit._overload_method`.

    ## What it does
    Reports TorchScript overload stubs.

    ## Why is this bad?
    They declare typed signatures for the TorchScript compiler. In eager PyTorch and under
    `torch.export` only the implementation runs; `typing.overload` documents the signatures
    for type checkers.

    ## Example
    ```python
    @torch.jit._overload_method
    def forward(self, x: torch.Tensor) -> torch.Tensor: ...
    ```

    Use instead:
    ```python
    @typing.overload
    def forward(self, x: torch.Tensor) -> torch.Tensor: ...
    ```

    ## Fix safety
    Safe: overload stubs are never called.
    """

    code = "MIG305"
    name = "jit-overload"
    message = "TorchScript overload stubs are compiler-only: use `typing.overload`"
    fix_title = "Use `typing.overload`"
    fix_safety = FixSafety.SAFE
    names = frozenset({"torch.jit._overload", "torch.jit._overload_method"})

    VALID = [Valid("import typing\n@typing.overload\ndef f(x: int) -> int: ...\n")]
    INVALID = [
        Invalid(
            "import torch\n@torch.jit._overload\ndef f(x: int) -> int: ...\n",
            line=2,
            expected="from typing import overload\n\n@overload\ndef f(x: int) -> int: ...\n",
        ),
        Invalid(
            "import torch\nclass M(torch.nn.Module):\n    @torch.jit._overload_method\n"
            "    def forward(self, x: int) -> int: ...\n",
            line=3,
            expected=(
                "import torch\nfrom typing import overload\n\nclass M(torch.nn.Module):\n    @overload\n"
                "    def forward(self, x: int) -> int: ...\n"
            ),
        ),
        Invalid(
            "from torch.jit import _overload_method\nclass M:\n    @_overload_method\n    def f(self, x: int) -> int: ...\n",
            expected="from typing import overload\n\nclass M:\n    @overload\n    def f(self, x: int) -> int: ...\n",
        ),
    ]

    def visit_reference(self, node: cst.BaseExpression, qualified_name: str) -> None:
        self.report(enclosing_decorator(self.ctx) or node, edit=use_typing_name(self, node, "overload"))
