from __future__ import annotations

import libcst as cst

from rewrites.model import FixSafety
from rewrites.rule import Invalid, Rule, Valid
from rewrites.rules._export import as_args, export_call
from rewrites.rules._helpers import is_submodule_assignment


class JitTrace(Rule):
    """Flags `torch.jit.trace(model, example)`.

    ## What it does
    Reports uses of `torch.jit.trace` other than `self.sub = torch.jit.trace(...)` (see
    MIG111).

    ## Why is this bad?
    Tracing records a TorchScript graph that ExecuTorch cannot load, and `torch.export.export`
    rejects traced modules. `torch.export` is the successor: it also traces with example
    inputs, but it checks the trace (guards) instead of silently baking in Python control flow.

    ## Example
    ```python
    traced = torch.jit.trace(model, example)
    ```

    Use instead:
    ```python
    exported = torch.export.export(model.eval(), (example,))
    ```

    ## Fix safety
    Unsafe: `torch.export` fails where tracing silently specialised (data-dependent `if`,
    `.item()`), and `int`/`bool` inputs become specialised constants.
    """

    code = "MIG103"
    name = "jit-trace"
    message = (
        "`torch.jit.trace` makes TorchScript, which ExecuTorch cannot load: use "
        "`torch.export.export(model.eval(), (example,))` with the same example inputs"
    )
    fix_title = "Replace with `torch.export.export(model.eval(), example_args)`"
    fix_safety = FixSafety.UNSAFE
    names = frozenset({"torch.jit.trace"})

    VALID = [
        Valid("import torch\nep = torch.export.export(model.eval(), (x,))\n"),
        Valid(
            "import torch\nclass M(torch.nn.Module):\n    def __init__(self):\n        self.enc = torch.jit.trace(Enc(), x)\n"
        ),
        Valid("import torch\ntorch.autograd.profiler.trace(model)\n"),
    ]
    INVALID = [
        Invalid(
            "import torch\nexample = torch.rand(1, 3, 224, 224)\ntraced = torch.jit.trace(model, example)\n",
            line=3,
            column=10,
            expected=(
                "import torch\nexample = torch.rand(1, 3, 224, 224)\n"
                "traced = torch.export.export(model.eval(), (example,))\n"
            ),
        ),
        Invalid(
            "from torch.jit import trace\ntraced = trace(model, (a, b))\n",
            expected="import torch\n\ntraced = torch.export.export(model.eval(), (a, b))\n",
        ),
        Invalid(
            "import torch as T\ntraced = T.jit.trace(model.eval(), example, strict=False)\n",
            expected=(
                "import torch\n\n"
                "traced = torch.export.export(model.eval(), example if isinstance(example, tuple) else (example,))\n"
            ),
        ),
    ]

    def visit_reference(self, node: cst.BaseExpression, qualified_name: str) -> None:
        if is_submodule_assignment(self.ctx):
            return
        call = self.ctx.parent()
        edit = None
        if isinstance(call, cst.Call) and call.func is node:
            args = {
                a.keyword.value if a.keyword else i: a.value for i, a in enumerate(call.args) if not a.star
            }
            model, example = args.get(0, args.get("func")), args.get(1, args.get("example_inputs"))
            if model is not None and example is not None:
                exported = export_call(self, model, as_args(self, example))
                edit = self.edit({call: exported}, add_imports=[("torch", None)], dropped=[node])
        self.report(node, edit=edit)
