from __future__ import annotations

import libcst as cst

from rewrites.model import FixSafety
from rewrites.rule import Invalid, Rule, Valid
from rewrites.rules._export import PLACEHOLDER, export_call, find_example_args
from rewrites.rules._helpers import enclosing_decorator, is_submodule_assignment


class JitScript(Rule):
    """Flags `torch.jit.script(...)` used to compile a model or function.

    ## What it does
    Reports calls to (and other uses of) `torch.jit.script` outside decorators and
    `self.sub = torch.jit.script(Sub())` assignments, which have their own rules.

    ## Why is this bad?
    `torch.jit.script` produces a TorchScript `ScriptModule`. ExecuTorch does not load
    TorchScript, and `torch.export.export` rejects every `ScriptModule` (and any module
    holding one). The model must stay a plain `nn.Module` and be captured by `torch.export`.

    ## Example
    ```python
    scripted = torch.jit.script(model)
    ```

    Use instead:
    ```python
    exported = torch.export.export(model.eval(), example_inputs)
    ```

    ## Fix safety
    Unsafe: scripting needs no inputs but export does, so the fix uses example inputs found in
    scope or inserts a placeholder that fails loudly; control flow that scripting compiled
    must also be exportable (see the MIG4xx rules).
    """

    code = "MIG101"
    name = "jit-script"
    message = (
        "`torch.jit.script` makes TorchScript, which ExecuTorch cannot load: capture the eager "
        "module with `torch.export.export(model.eval(), example_inputs)` instead"
    )
    fix_title = "Replace with `torch.export.export(model.eval(), example_inputs)`"
    fix_safety = FixSafety.UNSAFE
    names = frozenset({"torch.jit.script"})

    VALID = [
        Valid("import torch\nexported = torch.export.export(model.eval(), (x,))\n"),
        Valid("import torch\n@torch.jit.script\ndef f(x):\n    return x\n"),
        Valid("from mylib import jit\njit.script(model)\n"),
        Valid(
            "import torch\nclass M(torch.nn.Module):\n    def __init__(self):\n        self.sub = torch.jit.script(Sub())\n"
        ),
    ]
    INVALID = [
        Invalid(
            "import torch\nscripted = torch.jit.script(model)\n",
            line=2,
            column=12,
            expected="import torch\nscripted = torch.export.export(model.eval(), EXAMPLE_INPUTS_NEEDED_BY_TORCH_EXPORT)\n",
        ),
        Invalid(
            "import torch\ndef export(model):\n    dummy_input = torch.zeros(1, 16)\n    return torch.jit.script(model)\n",
            expected=(
                "import torch\ndef export(model):\n    dummy_input = torch.zeros(1, 16)\n"
                "    return torch.export.export(model.eval(), (dummy_input,))\n"
            ),
        ),
        Invalid(
            "import torch\ndef export(net, x, y):\n    reference = net(x, y)\n    return torch.jit.script(net), reference\n",
            expected=(
                "import torch\ndef export(net, x, y):\n    reference = net(x, y)\n"
                "    return torch.export.export(net.eval(), (x, y)), reference\n"
            ),
        ),
        Invalid(
            "import torch.jit as jit\nm = jit.script(model)\n",
            line=2,
            column=5,
            expected="import torch\n\nm = torch.export.export(model.eval(), EXAMPLE_INPUTS_NEEDED_BY_TORCH_EXPORT)\n",
        ),
        Invalid(
            "from torch import jit\nm = jit.script(model)\n",
            expected="import torch\n\nm = torch.export.export(model.eval(), EXAMPLE_INPUTS_NEEDED_BY_TORCH_EXPORT)\n",
        ),
        Invalid(
            "from torch.jit import script as s\nm = s(model)\n",
            line=2,
            column=5,
            expected="import torch\n\nm = torch.export.export(model.eval(), EXAMPLE_INPUTS_NEEDED_BY_TORCH_EXPORT)\n",
        ),
        Invalid(
            "from torch.jit import *\nm = script(model)\n",
            expected="from torch.jit import *\nimport torch\n\nm = torch.export.export(model.eval(), EXAMPLE_INPUTS_NEEDED_BY_TORCH_EXPORT)\n",
        ),
        Invalid(
            "import torch\ncompiled = [torch.jit.script(m) for m in models]\n",
            expected="import torch\ncompiled = [torch.export.export(m.eval(), EXAMPLE_INPUTS_NEEDED_BY_TORCH_EXPORT) for m in models]\n",
        ),
        Invalid("import torch\ncompile_fn = torch.jit.script\n"),
    ]

    def visit_reference(self, node: cst.BaseExpression, qualified_name: str) -> None:
        if enclosing_decorator(self.ctx) is not None or is_submodule_assignment(self.ctx):
            return
        call = self.ctx.parent()
        edit = None
        if (
            isinstance(call, cst.Call)
            and call.func is node
            and len(call.args) == 1
            and not call.args[0].keyword
        ):
            model = call.args[0].value
            example = find_example_args(self, model) or cst.Name(PLACEHOLDER)
            edit = self.edit(
                {call: export_call(self, model, example)}, add_imports=[("torch", None)], dropped=[node]
            )
        self.report(node, edit=edit)
