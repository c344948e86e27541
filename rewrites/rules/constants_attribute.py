from __future__ import annotations

import libcst as cst

from rewrites.core import Invalid, Valid
from rewrites.model import FixSafety
from rewrites.python_checker import PythonRule
from rewrites.rules._fixes import remove_statement, statement_line


def _targets(node: cst.Assign | cst.AnnAssign) -> list[cst.BaseExpression]:
    if isinstance(node, cst.AnnAssign):
        return [node.target]
    return [t.target for t in node.targets]


class ConstantsAttribute(PythonRule):
    """Flags `__constants__ = [...]` in class bodies.

    ## What it does
    Reports the `__constants__` class attribute.

    ## Why is this bad?
    It lists attributes the TorchScript compiler may treat as constants. Nothing else reads
    it; `torch.export` specialises on Python attributes without being told.

    ## Example
    ```python
    class Block(nn.Module):
        __constants__ = ["stride"]
    ```

    Use instead:
    ```python
    class Block(nn.Module):
        stride: typing.Final[int]
    ```

    ## Fix safety
    Safe: only TorchScript reads the attribute.
    """

    code = "MIG308"
    name = "constants-attribute"
    message = "`__constants__` is read only by TorchScript: remove it (use `typing.Final` annotations)"
    fix_title = "Remove `__constants__`"
    fix_safety = FixSafety.SAFE
    tokens = (("__constants__",),)

    VALID = [Valid("class B:\n    stride: int = 1\n"), Valid("x = obj.__constants__\n")]
    INVALID = [
        Invalid(
            "class B(nn.Module):\n    __constants__ = ['stride', 'groups']\n",
            line=2,
            column=5,
            expected="class B(nn.Module):\n    pass\n",
        ),
        Invalid(
            "class B(nn.Module):\n    # TorchScript constants\n    __constants__: list = []  # keep in sync\n\n    def f(self):\n        pass\n",
            expected="class B(nn.Module):\n    # TorchScript constants\n    # keep in sync\n\n    def f(self):\n        pass\n",
        ),
        Invalid(
            "class B(nn.Module):\n    __constants__ = ['k']\n    k: int = 3\n",
            expected="class B(nn.Module):\n    k: int = 3\n",
        ),
    ]

    def visit_Assign(self, node: cst.Assign) -> None:
        self._check(node)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._check(node)

    def _check(self, node: cst.Assign | cst.AnnAssign) -> None:
        in_class_body = len(self.ctx.stack) > 3 and isinstance(self.ctx.stack[-4], cst.ClassDef)
        if in_class_body and any(
            isinstance(t, cst.Name) and t.value == "__constants__" for t in _targets(node)
        ):
            line = statement_line(self, node)
            self.report(node, edit=None if line is None else remove_statement(self, line))
