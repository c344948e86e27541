from __future__ import annotations

import libcst as cst

from rewrites.core import Invalid, Valid
from rewrites.rules._values import EntryMethodRule, Kind

_MODEL = "import torch\nclass M(torch.nn.Module):\n    def forward(self, x):\n"


class TensorWhileLoop(EntryMethodRule):
    """Flags `while` loops whose condition depends on tensor values in `forward`.

    ## What it does
    Reports `while` loops in exported methods whose condition reads tensor values (decoding
    until an end token, iterating until convergence).

    ## Why is this bad?
    `torch.export` cannot trace a data-dependent trip count. `torch.while_loop` exports, but
    ExecuTorch 1.5's emitter rejects it. Either bound the loop (`for _ in range(max_steps)` with
    a mask that freezes finished items) or move the loop into the app and export one step as
    its own method, which the app calls until done.

    ## Example
    ```python
    while (token != eos).all():
        token = self.step(token)
    ```

    Use instead:
    ```python
    def forward(self, token):  # one step; the app loops
        return self.step(token)
    ```

    ## Fix safety
    Display-only: the loop's bound or its move into the app is a design decision.
    """

    code = "MIG402"
    name = "tensor-while-loop"
    message = (
        "`while` on tensor values cannot be exported (ExecuTorch 1.5 rejects `torch.while_loop`): "
        "bound it with `for _ in range(max_steps)` and a mask, or export one step and loop in the app"
    )

    VALID = [
        Valid(
            _MODEL
            + "        i = 0\n        while i < 3:\n            x = x * 2\n            i += 1\n        return x\n"
        ),
        Valid("import torch\ndef decode(x):\n    while x.sum() > 0:\n        x = x - 1\n    return x\n"),
    ]
    INVALID = [
        Invalid(
            _MODEL + "        while x.sum() > 0:\n            x = x - 1\n        return x\n", line=4, column=9
        ),
        Invalid(
            _MODEL
            + "        n = x.argmax().item()\n        while n != 0:\n            n -= 1\n        return x\n",
            line=5,
        ),
    ]

    def visit_While(self, node: cst.While) -> None:
        if self.values is not None and self.values.kind(node.test) >= Kind.SCALAR:
            self.report(node)
