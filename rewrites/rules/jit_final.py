from __future__ import annotations

import libcst as cst

from rewrites.core import Invalid, Valid
from rewrites.model import FixSafety
from rewrites.python_checker import PythonRule
from rewrites.rules._fixes import use_typing_name


class JitFinal(PythonRule):
    """Flags `torch.jit.Final[T]` annotations.

    ## What it does
    Reports `torch.jit.Final`, TorchScript's marker for constant module attributes.

    ## Why is this bad?
    `torch.export` specialises on every Python attribute anyway, so the marker has no effect;
    `typing.Final` is the standard spelling of the same intent.

    ## Example
    ```python
    class Block(nn.Module):
        use_residual: torch.jit.Final[bool]
    ```

    Use instead:
    ```python
    class Block(nn.Module):
        use_residual: typing.Final[bool]
    ```

    ## Fix safety
    Safe: annotations do not change behaviour.
    """

    code = "MIG307"
    name = "jit-final"
    message = "`torch.jit.Final` is TorchScript-only: use `typing.Final`"
    fix_title = "Use `typing.Final`"
    fix_safety = FixSafety.SAFE
    names = frozenset({"torch.jit.Final"})

    VALID = [Valid("from typing import Final\nclass B:\n    flag: Final[bool]\n")]
    INVALID = [
        Invalid(
            "import torch\nclass B(torch.nn.Module):\n    flag: torch.jit.Final[bool]\n",
            line=3,
            column=11,
            expected="import torch\nfrom typing import Final\n\nclass B(torch.nn.Module):\n    flag: Final[bool]\n",
        ),
        Invalid(
            "from torch.jit import Final\nclass B:\n    k: Final[int] = 3\n",
            expected="from typing import Final\n\nclass B:\n    k: Final[int] = 3\n",
        ),
        Invalid(
            "import torch\nfrom torch.jit import Final, script\nclass B:\n    a: Final[int]\n    b: Final[int]\n",
            count=2,
            expected="import torch\nfrom torch.jit import script\nfrom typing import Final\n\nclass B:\n    a: Final[int]\n    b: Final[int]\n",
        ),
    ]

    def visit_reference(self, node: cst.BaseExpression, qualified_name: str) -> None:
        self.report(node, edit=use_typing_name(self, node, "Final"))
