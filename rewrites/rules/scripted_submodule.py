from __future__ import annotations

import libcst as cst

from rewrites.core import Invalid, Valid
from rewrites.model import FixSafety
from rewrites.python_checker import PythonRule
from rewrites.rules._helpers import is_submodule_assignment


class ScriptedSubmodule(PythonRule):
    """Flags `self.sub = torch.jit.script(Sub())` (or `torch.jit.trace`) inside a module.

    ## What it does
    Reports submodules that are scripted or traced when the parent module is built.

    ## Why is this bad?
    `torch.export.export` rejects any eager model that holds a scripted submodule, so the
    whole parent model becomes unexportable even though only one child was compiled.

    ## Example
    ```python
    self.encoder = torch.jit.script(Encoder())
    ```

    Use instead:
    ```python
    self.encoder = Encoder()
    ```

    ## Fix safety
    Safe: the submodule computes the same outputs eagerly.
    """

    code = "MIG111"
    name = "scripted-submodule"
    message = (
        "a scripted or traced submodule makes the whole model unexportable: assign the eager "
        "module (`self.sub = Sub()`)"
    )
    fix_title = "Assign the eager submodule"
    fix_safety = FixSafety.SAFE
    names = frozenset({"torch.jit.script", "torch.jit.trace"})

    VALID = [
        Valid("import torch\nclass M(torch.nn.Module):\n    def __init__(self):\n        self.enc = Enc()\n"),
        Valid("import torch\nenc = torch.jit.script(Enc())\n"),
    ]
    INVALID = [
        Invalid(
            "import torch\nclass M(torch.nn.Module):\n    def __init__(self):\n"
            "        super().__init__()\n        self.enc = torch.jit.script(Enc())\n",
            line=5,
            column=20,
            expected=(
                "import torch\nclass M(torch.nn.Module):\n    def __init__(self):\n"
                "        super().__init__()\n        self.enc = Enc()\n"
            ),
        ),
        Invalid(
            "from torch.jit import trace\nclass M:\n    def __init__(self, x):\n"
            "        self.enc: Enc = trace(Enc(), x)\n",
            expected="class M:\n    def __init__(self, x):\n        self.enc: Enc = Enc()\n",
        ),
    ]

    def visit_reference(self, node: cst.BaseExpression, qualified_name: str) -> None:
        call = self.ctx.parent()
        if is_submodule_assignment(self.ctx) and isinstance(call, cst.Call):
            edit = None
            if call.args and call.args[0].keyword is None and not call.args[0].star:
                edit = self.edit({call: call.args[0].value}, dropped=[node])
            self.report(call, edit=edit)
