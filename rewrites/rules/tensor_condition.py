from __future__ import annotations

import libcst as cst

from rewrites.model import FixSafety
from rewrites.rule import Invalid, Valid
from rewrites.rules._values import EntryMethodRule, Kind

_MODEL = "import torch\nclass M(torch.nn.Module):\n    def forward(self, x, n: int = 2):\n"


class TensorCondition(EntryMethodRule):
    """Flags `if`, conditional expressions and `assert` on tensor values in `forward`.

    ## What it does
    Reports branches whose condition depends on the *values* of tensors (or on Python numbers
    taken from them with `.item()`, `int(t)` ...) inside `forward` or an `@torch.jit.export`
    method. Conditions on shapes, `None` checks and module flags are fine and not reported.

    ## Why is this bad?
    TorchScript compiled such branches; `torch.export` traces with symbolic data and fails with
    `GuardOnDataDependentSymNode`. Capture both branches with `torch.cond`, or compute both and
    select with `torch.where` when they are cheap. Data-dependent asserts become
    `torch._check(...)` or move out of the model.

    ## Example
    ```python
    def forward(self, x):
        if x.sum() > 0:
            return x * 2
        return x - 1
    ```

    Use instead:
    ```python
    def forward(self, x):
        return torch.cond(x.sum() > 0, lambda x: x * 2, lambda x: x - 1, (x,))
    ```

    ## Fix safety
    Unsafe: `torch.cond` needs both branches to return tensors of the same shape and dtype,
    and ExecuTorch's XNNPACK delegate does not take ops inside `torch.cond` branches.
    """

    code = "MIG401"
    name = "tensor-condition"
    message = (
        "branch on a tensor value: `torch.export` fails with GuardOnDataDependentSymNode; use "
        "`torch.cond(pred, true_fn, false_fn, (operands,))` or `torch.where`"
    )
    fix_title = "Rewrite as `torch.cond`"
    fix_safety = FixSafety.UNSAFE

    VALID = [
        Valid(_MODEL + "        if x.shape[0] > 1:\n            x = x * 2\n        return x\n"),
        Valid(_MODEL + "        if self.training and n > 1:\n            x = x * 2\n        return x\n"),
        Valid(
            _MODEL
            + "        mask = None\n        if mask is not None:\n            x = x * mask\n        return x\n"
        ),
        Valid(
            _MODEL + "        b, c = x.shape[:2]\n        y = x if b > 1 else x.flip(0)\n        return y\n"
        ),
        Valid("import torch\ndef helper(x):\n    if x.sum() > 0:\n        return x\n    return -x\n"),
        Valid(_MODEL + "        if self.any_requires_grad(x):\n            x = x * 2\n        return x\n"),
    ]
    INVALID = [
        Invalid(
            _MODEL + "        if x.sum() > 0:\n            return x * 2\n        return x - 1\n",
            line=4,
            column=9,
        ),
        Invalid(
            _MODEL + "        y = torch.relu(x)\n        return y if (y > 0).any() else x\n",
            line=5,
            column=16,
        ),
        Invalid(
            _MODEL + "        k = int(x.max())\n        if k > 3:\n            x = x[:3]\n        return x\n",
            line=5,
        ),
        Invalid(_MODEL + "        assert x.min() >= 0\n        return x\n"),
        Invalid(
            "import torch\nclass M(torch.nn.Module):\n    @torch.jit.export\n    def step(self, s):\n"
            "        if s.mean() > 0.5:\n            s = s * 0\n        return s\n",
            line=5,
        ),
    ]

    def visit_If(self, node: cst.If) -> None:
        self._check(node, node.test)

    def visit_IfExp(self, node: cst.IfExp) -> None:
        self._check(node, node.test)

    def visit_Assert(self, node: cst.Assert) -> None:
        self._check(node, node.test)

    def _check(self, node: cst.CSTNode, test: cst.BaseExpression) -> None:
        if self.values is None:
            return
        kind = self.values.kind(test)
        if kind is Kind.TENSOR:
            self.report(node)
        elif kind is Kind.SCALAR:
            self.report(
                node,
                "branch on a Python number taken from a tensor (`.item()`, `int(t)`): export "
                "fails with GuardOnDataDependentSymNode; keep it a tensor and use `torch.cond` "
                "or `torch.where`",
            )
