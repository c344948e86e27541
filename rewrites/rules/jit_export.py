from __future__ import annotations

import libcst as cst

from rewrites.rule import Invalid, Rule, Valid
from rewrites.rules._helpers import enclosing_decorator


class JitExport(Rule):
    """Flags `@torch.jit.export` methods (extra entry points of a scripted module).

    ## What it does
    Reports methods decorated `@torch.jit.export`.

    ## Why is this bad?
    `torch.export.export` captures `forward` only; `@torch.jit.export` methods are silently
    left out. ExecuTorch supports several methods in one `.pte`: export one program per method
    (a thin wrapper module whose `forward` calls the method) and pass them as a dict:
    `to_edge_transform_and_lower({"forward": ep, "step": ep_step}, partitioner=[...])`.
    Constant methods (a version number) go in `constant_methods={"version": 1}`.
    `migrate export --method step` does this for you.

    ## Example
    ```python
    @torch.jit.export
    def step(self, x, state):
        ...
    ```

    Use instead:
    ```python
    class Step(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, x, state):
            return self.model.step(x, state)

    programs = {
        "forward": torch.export.export(model, (x,)),
        "step": torch.export.export(Step(model), (x, state)),
    }
    ```

    ## Fix safety
    Display-only: the wrappers and example inputs per method are the user's design.
    """

    code = "MIG303"
    name = "jit-export"
    message = (
        "`@torch.jit.export` methods are not captured by `torch.export`: export one program per "
        "method (a wrapper whose `forward` calls it) and pass a dict to "
        "`to_edge_transform_and_lower` (or `migrate export --method NAME`)"
    )
    names = frozenset({"torch.jit.export"})

    VALID = [
        Valid("import torch\nep = torch.export.export(model, (x,))\n"),
        Valid("import torch\nclass M(torch.nn.Module):\n    def step(self, x):\n        return x\n"),
    ]
    INVALID = [
        Invalid(
            "import torch\nclass M(torch.nn.Module):\n    @torch.jit.export\n    def step(self, x):\n        return x\n",
            line=3,
            column=5,
        ),
    ]

    def visit_reference(self, node: cst.BaseExpression, qualified_name: str) -> None:
        self.report(enclosing_decorator(self.ctx) or node)
