from __future__ import annotations

import libcst as cst

from rewrites.core import Invalid, Valid
from rewrites.model import FixSafety
from rewrites.python_checker import PythonRule
from rewrites.rules._fixes import dotted_expression


class ScriptModuleSubclass(PythonRule):
    """Flags classes deriving from `torch.jit.ScriptModule`.

    ## What it does
    Reports `class M(torch.jit.ScriptModule)` (and `RecursiveScriptModule`).

    ## Why is this bad?
    A `ScriptModule` subclass is compiled method by method with `@script_method`;
    `torch.export.export` rejects it outright. Deriving from `nn.Module` keeps the same
    parameters and behaviour in eager mode and makes it exportable.

    ## Example
    ```python
    class Decoder(torch.jit.ScriptModule):
        @torch.jit.script_method
        def forward(self, x):
            return x
    ```

    Use instead:
    ```python
    class Decoder(torch.nn.Module):
        def forward(self, x):
            return x
    ```

    ## Fix safety
    Safe: `ScriptModule` subclasses run their Python methods eagerly when not compiled.
    """

    code = "MIG109"
    name = "script-module-subclass"
    message = "`torch.jit.ScriptModule` subclasses cannot be exported: derive from `torch.nn.Module`"
    fix_title = "Derive from `torch.nn.Module`"
    fix_safety = FixSafety.SAFE
    names = frozenset({"torch.jit.ScriptModule", "torch.jit.RecursiveScriptModule"})

    VALID = [
        Valid("import torch\nclass M(torch.nn.Module):\n    pass\n"),
        Valid("import torch\nisinstance(m, torch.jit.ScriptModule)\n"),
    ]
    INVALID = [
        Invalid(
            "import torch\nclass Decoder(torch.jit.ScriptModule):\n    pass\n",
            line=2,
            column=15,
            expected="import torch\nclass Decoder(torch.nn.Module):\n    pass\n",
        ),
        Invalid(
            "from torch.jit import ScriptModule\nclass D(ScriptModule, Mixin):\n    pass\n",
            expected="import torch\n\nclass D(torch.nn.Module, Mixin):\n    pass\n",
        ),
    ]

    def visit_reference(self, node: cst.BaseExpression, qualified_name: str) -> None:
        if isinstance(self.ctx.parent(), cst.Arg) and isinstance(self.ctx.stack[-3], cst.ClassDef):
            module = dotted_expression("torch.nn.Module")
            self.report(node, edit=self.edit({node: module}, add_imports=[("torch", None)], dropped=[node]))
