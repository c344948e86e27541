from __future__ import annotations

import libcst as cst

from rewrites.core import Invalid, Valid
from rewrites.rules._values import EntryMethodRule, Kind, ValueTracker

_MODEL = "import torch\nclass M(torch.nn.Module):\n    def forward(self, x):\n"


class DynamicDimLoop(EntryMethodRule):
    """Flags Python loops over a tensor dimension in `forward`.

    ## What it does
    Reports `for` loops that iterate over a tensor (`for row in x`, `enumerate(x)`) or over
    `range(x.shape[d])` / `range(x.size(d))` / `range(len(x))` in exported methods.

    ## Why is this bad?
    `torch.export` unrolls Python loops at the example's size. That is fine while the dimension
    is static, but once it is exported as dynamic (`Dim("t", max=...)`) the trip count is
    symbolic and export fails; an unrolled loop also multiplies the program size and the
    delegate calls. Use vectorised ops, or `torch._higher_order_ops.scan` / `map` for a true
    loop over a dynamic dimension.

    ## Example
    ```python
    for t in range(x.shape[1]):
        h = self.cell(x[:, t], h)
    ```

    Use instead:
    ```python
    from torch._higher_order_ops.scan import scan
    h, outs = scan(lambda h, xt: (self.cell(xt, h),) * 2, h, x.transpose(0, 1))
    ```

    ## Fix safety
    Display-only: loops over static dimensions need no change.
    """

    code = "MIG403"
    name = "dynamic-dim-loop"
    message = (
        "loop over a tensor dimension: export unrolls it at the example size and fails if the "
        "dimension is dynamic; vectorise it or use `torch._higher_order_ops.scan` / `map`"
    )

    VALID = [
        Valid(_MODEL + "        for layer in self.layers:\n            x = layer(x)\n        return x\n"),
        Valid(
            "import torch\nclass M(torch.nn.Module):\n    def forward(self, xs: List[torch.Tensor]):\n"
            "        for x in xs:\n            pass\n        return xs\n"
        ),
        Valid(_MODEL + "        for i in range(4):\n            x = x + i\n        return x\n"),
    ]
    INVALID = [
        Invalid(
            _MODEL + "        for t in range(x.shape[1]):\n            x = x + t\n        return x\n",
            line=4,
            column=9,
        ),
        Invalid(
            _MODEL
            + "        b, t, c = x.shape\n        for i in range(t):\n            pass\n        return x\n",
            line=5,
        ),
        Invalid(
            _MODEL
            + "        outs = []\n        for row in x:\n            outs.append(row * 2)\n        return outs\n"
        ),
        Invalid(
            _MODEL + "        for i, row in enumerate(x.unbind(0)):\n            pass\n        return x\n"
        ),
    ]

    def visit_For(self, node: cst.For) -> None:
        if self.values is not None and _over_tensor_dimension(self.values, node.iter):
            self.report(node)
        super().visit_For(node)


def _over_tensor_dimension(values: ValueTracker, iterable: cst.BaseExpression) -> bool:
    if isinstance(iterable, cst.Call) and isinstance(iterable.func, cst.Name) and iterable.args:
        if iterable.func.value == "range":
            return any(values.kind(arg.value) is Kind.SIZE for arg in iterable.args)
        if iterable.func.value in {"enumerate", "reversed", "zip"}:
            iterable = iterable.args[0].value
    if isinstance(iterable, cst.Name) and iterable.value in values.containers:
        return False
    return values.kind(iterable) is Kind.TENSOR
