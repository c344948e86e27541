from __future__ import annotations

import libcst as cst

from rewrites.core import Invalid, Valid
from rewrites.python_checker import PythonRule
from rewrites.rules._helpers import refines_entry_input


class JitIsinstanceRefinement(PythonRule):
    """Flags `torch.jit.isinstance` refining an input of `forward`.

    ## What it does
    Reports `torch.jit.isinstance(x, T)` where `x` is a parameter of an exported method.

    ## Why is this bad?
    Scripted models used it to accept several input types in one `forward`. An exported program
    has one input signature (nested inputs are flattened in pytree order), so the check is
    decided once, at export time, from the example input. Export one method per input form,
    or normalise the input in the app.

    ## Example
    ```python
    def forward(self, x):
        if torch.jit.isinstance(x, List[torch.Tensor]):
            x = torch.stack(x)
        return self.net(x)
    ```

    Use instead:
    ```python
    def forward(self, x: torch.Tensor):
        return self.net(x)
    ```

    ## Fix safety
    Display-only: which input form to keep is the user's decision.
    """

    code = "MIG406"
    name = "jit-isinstance-refinement"
    message = (
        "type refinement on a `forward` input is decided once at export from the example: "
        "export one method per input form, or normalise the input before calling the model"
    )
    names = frozenset({"torch.jit.isinstance", "torch.jit._isinstance"})

    VALID = [Valid("import torch\nif torch.jit.isinstance(out, List[torch.Tensor]):\n    pass\n")]
    INVALID = [
        Invalid(
            "import torch\nclass M(torch.nn.Module):\n    def forward(self, x):\n"
            "        if torch.jit.isinstance(x, List[torch.Tensor]):\n            x = torch.stack(x)\n        return x\n",
            line=4,
            column=12,
        ),
    ]

    def visit_reference(self, node: cst.BaseExpression, qualified_name: str) -> None:
        call = self.ctx.parent()
        if isinstance(call, cst.Call) and refines_entry_input(self.ctx, call):
            self.report(call)
