from __future__ import annotations

import libcst as cst

from rewrites.rule import Invalid, Valid
from rewrites.rules._values import EntryMethodRule, Kind, parameter_kind


class SpecializedForwardArgument(EntryMethodRule):
    """Flags `int`, `float`, `bool` and `str` parameters of `forward`.

    ## What it does
    Reports non-tensor parameters (by annotation or by a literal default) of exported methods.

    ## Why is this bad?
    `torch.export` specialises Python scalars: the value used at export time is baked into the
    program, and the `.pte` rejects any other value. `str` inputs are not accepted by the
    ExecuTorch runtime at all. Make the value a constructor argument (one program per value),
    or pass it as a tensor.

    ## Example
    ```python
    def forward(self, x, temperature: float = 1.0):
        return x / temperature
    ```

    Use instead:
    ```python
    def forward(self, x, temperature: torch.Tensor):
        return x / temperature
    ```

    ## Fix safety
    Display-only: the app's call sites change with the signature.
    """

    code = "MIG405"
    name = "specialized-forward-argument"
    message = (
        "non-tensor `forward` argument: export bakes in its example value and the `.pte` rejects "
        "others (`str` is not accepted at all); pass a tensor or make it a constructor argument"
    )

    VALID = [
        Valid("import torch\nclass M(torch.nn.Module):\n    def forward(self, x: torch.Tensor, mask=None):\n        return x\n"),
        Valid("import torch\nclass M(torch.nn.Module):\n    def helper(self, x, k: int):\n        return x\n"),
    ]
    INVALID = [
        Invalid(
            "import torch\nclass M(torch.nn.Module):\n    def forward(self, x, temperature: float = 1.0):\n        return x\n",
            line=3,
            column=26,
        ),
        Invalid(
            "import torch\nclass M(torch.nn.Module):\n    def forward(self, x, mode='fast', top_k=5):\n        return x\n",
            count=2,
        ),
    ]

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        super().visit_FunctionDef(node)
        if self.values is not None and self.values.function is node:
            params = node.params
            for param in (*params.posonly_params, *params.params, *params.kwonly_params):
                if param.name.value != "self" and parameter_kind(param) is Kind.STATIC:
                    self.report(param)
