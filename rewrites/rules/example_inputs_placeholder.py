from __future__ import annotations

import libcst as cst

from rewrites.rule import Invalid, Rule, Valid
from rewrites.rules._export import PLACEHOLDER


class ExampleInputsPlaceholder(Rule):
    """Flags the example-inputs placeholder that `migrate apply` leaves in export calls.

    ## What it does
    Reports `EXAMPLE_INPUTS_NEEDED_BY_TORCH_EXPORT`, which the fix for `torch.jit.script`
    (MIG101) writes when it finds no example inputs in scope.

    ## Why is this bad?
    Scripting needed no inputs; `torch.export` does, and the placeholder is an undefined name,
    so the export script stops with a `NameError` until it is replaced.

    ## Example
    ```python
    exported = torch.export.export(model.eval(), EXAMPLE_INPUTS_NEEDED_BY_TORCH_EXPORT)
    ```

    Use instead:
    ```python
    exported = torch.export.export(model.eval(), (torch.rand(1, 3, 224, 224),))
    ```

    ## Fix safety
    Display-only: only you know the shapes your app feeds the model.
    """

    code = "MIG113"
    name = "example-inputs-placeholder"
    message = (
        "give `torch.export` real example inputs here: a tuple of tensors shaped like what the app "
        "passes (mark varying sizes with `dynamic_shapes`)"
    )
    tokens = ((PLACEHOLDER,),)

    VALID = [Valid("import torch\nep = torch.export.export(model, (x,))\n")]
    INVALID = [
        Invalid(
            f"import torch\nep = torch.export.export(model.eval(), {PLACEHOLDER})\n",
            line=2,
            column=40,
        )
    ]

    def visit_Name(self, node: cst.Name) -> None:
        if node.value == PLACEHOLDER and not self.ctx.imports.is_bound(PLACEHOLDER):
            self.report(node)
