from __future__ import annotations

import re

import libcst as cst

from rewrites.rule import FileContext, Invalid, Valid
from rewrites.rules._values import EntryMethodRule, Kind, parameter_kind


class SpecializedForwardArgument(EntryMethodRule):
    """Flags `int`, `float`, `bool` and `str` parameters of `forward`.

    ## What it does
    Reports Python scalar parameters of exported methods that callers must pass (annotated
    `int`, `float`, `bool`, ... without a default), and every `str` parameter, on modules that
    are not built as a submodule of another class in the same file. Defaulted flags and
    submodules' arguments are not reported: a parent passes them while export traces it, and a
    top-level default is what gets exported.

    ## Why is this bad?
    `torch.export` specialises Python scalars: the value used at export time is baked into the
    program, and the `.pte` rejects any other value. `str` inputs are not accepted by the
    ExecuTorch runtime at all. Make the value a constructor argument (one program per value),
    or pass it as a tensor.

    ## Example
    ```python
    def forward(self, x, temperature: float):
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
        Valid(
            "import torch\nclass M(torch.nn.Module):\n    def forward(self, x: torch.Tensor, mask=None):\n        return x\n"
        ),
        Valid(
            "import torch\nclass M(torch.nn.Module):\n    def forward(self, x, output_attentions: bool = False):\n        return x\n"
        ),
        Valid(
            "import torch\nclass M(torch.nn.Module):\n    def forward(self, x, state: Optional[Hypothesis]):\n        return x\n"
        ),
        Valid(
            "import torch\nclass M(torch.nn.Module):\n    def helper(self, x, k: int):\n        return x\n"
        ),
    ]
    INVALID = [
        Invalid(
            "import torch\nclass M(torch.nn.Module):\n    def forward(self, x, temperature: float):\n        return x\n",
            line=3,
            column=26,
        ),
        Invalid(
            "import torch\nclass M(torch.nn.Module):\n    def forward(self, x, k: int, mode='fast', flag: bool = True):\n        return x\n",
            count=2,
        ),
    ]

    def __init__(self, ctx: FileContext) -> None:
        super().__init__(ctx)
        self.candidates: dict[str, list[cst.Param]] = {}
        self.submodules: set[str] = set()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        super().visit_FunctionDef(node)
        if self.values is not None and self.values.function is node:
            params = node.params
            found = [
                p
                for p in (*params.posonly_params, *params.params, *params.kwonly_params)
                if p.name.value != "self" and _is_model_input(p)
            ]
            owner = self.ctx.stack[-3]
            if found and isinstance(owner, cst.ClassDef):
                self.candidates.setdefault(owner.name.value, []).extend(found)

    def visit_Call(self, node: cst.Call) -> None:
        # A class called inside another class is a submodule: its parent passes the arguments.
        if isinstance(node.func, cst.Name) and any(isinstance(a, cst.ClassDef) for a in self.ctx.ancestors()):
            self.submodules.add(node.func.value)

    def leave_Module(self, original_node: cst.Module) -> None:
        for owner, params in self.candidates.items():
            if owner not in self.submodules:
                for param in params:
                    self.report(param)


_SCALAR = re.compile(r"\b(int|float|bool|str)\b")


def _is_model_input(param: cst.Param) -> bool:
    """A Python scalar argument callers must pass, or any string argument.

    Defaulted flags (`output_attentions: bool = False`) are left alone: submodules get them
    from their parent at trace time, and the top-level default is what gets exported. Other
    annotated types (named tuples, dataclasses of tensors) are flattened by export, not fixed.
    """
    if parameter_kind(param) is not Kind.STATIC:
        return False
    annotation = "" if param.annotation is None else cst.Module([]).code_for_node(param.annotation.annotation)
    if annotation and not _SCALAR.search(annotation):
        return False
    is_string = "str" in annotation or isinstance(param.default, (cst.SimpleString, cst.ConcatenatedString))
    return param.default is None or is_string
