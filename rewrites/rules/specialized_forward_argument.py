from __future__ import annotations

import re

import libcst as cst

from rewrites.core import Invalid, Valid
from rewrites.model import FixSafety
from rewrites.project import constant_arguments
from rewrites.python_checker import FileContext
from rewrites.rules._values import EntryMethodRule, Kind, parameter_kind


def _init_state(parameter: str) -> str:
    """A model whose exported method ``init_state`` takes ``parameter`` (the examples' source)."""
    return (
        "import torch\n"
        "class M(torch.nn.Module):\n"
        "    @torch.jit.export\n"
        f"    def init_state(self, {parameter}):\n"
        "        return torch.zeros(1, batch, 8)\n"
    )


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
    Unsafe: offered only for a `@torch.jit.export` method whose every call in the project
    passes the same constants (`scripted.init_state(1)` everywhere): the fix makes those
    constants the parameters' defaults, so export uses them and the app may stop passing them;
    a caller that later passes another value gets the constant's program. Where the call sites
    differ, the message names them. Otherwise display-only: the app's call sites change with
    the signature.
    """

    code = "MIG405"
    name = "specialized-forward-argument"
    fix_title = "Make the constant every call site passes the default"
    fix_safety = FixSafety.UNSAFE
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
        # every call site passes `1`: it becomes the default
        Invalid(
            _init_state("batch: int"),
            project=(
                ("export.py", "s = torch.jit.script(make())\nstate = s.init_state(1)\n"),
                ("test_app.py", "assert m.init_state(1).shape[1] == 1\n"),
            ),
            expected=_init_state("batch: int = 1"),
        ),
        # the call sites differ: the message names them
        Invalid(
            _init_state("batch: int"),
            line=4,
            project=(
                ("export.py", "s = torch.jit.script(make())\nstate = s.init_state(1)\n"),
                ("test_app.py", "assert m.init_state(4).shape[1] == 4\n"),
            ),
            message="non-tensor `forward` argument: export bakes in its example value and the `.pte` rejects others (`str` is not accepted at all); pass a tensor or make it a constructor argument (the call sites differ: export.py:2 passes `1`, test_app.py:1 passes `4`)",
        ),
    ]

    def __init__(self, ctx: FileContext) -> None:
        super().__init__(ctx)
        self.candidates: dict[str, list[tuple[cst.FunctionDef, cst.Param]]] = {}
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
                self.candidates.setdefault(owner.name.value, []).extend((node, p) for p in found)

    def visit_Call(self, node: cst.Call) -> None:
        # A class called inside another class is a submodule: its parent passes the arguments.
        if isinstance(node.func, cst.Name) and any(isinstance(a, cst.ClassDef) for a in self.ctx.ancestors()):
            self.submodules.add(node.func.value)

    def leave_Module(self, original_node: cst.Module) -> None:
        for owner, params in self.candidates.items():
            if owner not in self.submodules:
                for function, param in params:
                    self._report(function, param)

    def _report(self, function: cst.FunctionDef, param: cst.Param) -> None:
        method = function.name.value
        sites = self.ctx.project.calls_of(method) if method != "forward" else ()
        if not sites:
            self.report(param)
            return
        constants = constant_arguments(sites)
        params = [
            p for p in (*function.params.posonly_params, *function.params.params) if p.name.value != "self"
        ]
        values = [] if constants is None else [v.strip() for v in constants.split(",")]
        if constants is None or param not in params or len(values) != len(params):
            differing = ", ".join(f"{s.path}:{s.line} passes `{s.arguments}`" for s in sites[:4])
            self.report(param, detail=f"the call sites differ: {differing}")
            return
        value = cst.parse_expression(values[params.index(param)])
        equal = cst.AssignEqual(cst.SimpleWhitespace(" "), cst.SimpleWhitespace(" "))
        folded = param.with_changes(
            default=value, equal=equal if param.annotation else cst.MaybeSentinel.DEFAULT
        )
        self.report(param, edit=self.edit({param: folded}))


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
