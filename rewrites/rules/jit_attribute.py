from __future__ import annotations

import libcst as cst

from rewrites.core import Invalid, Valid
from rewrites.model import FixSafety
from rewrites.python_checker import PythonRule
from rewrites.rules._fixes import typed_value_edit


class JitAttribute(PythonRule):
    """Flags `torch.jit.Attribute(value, T)`.

    ## What it does
    Reports `torch.jit.Attribute`, which types a module attribute for TorchScript.

    ## Why is this bad?
    In eager mode it returns a namedtuple `(value, type)`, not the value, so eager code and
    `torch.export` see a different object than the scripted module did and break on it.

    ## Example
    ```python
    self.words = torch.jit.Attribute([], List[str])
    ```

    Use instead:
    ```python
    self.words: List[str] = []
    ```

    ## Fix safety
    Safe for scripted code (which saw the value); eager code that read `.value` must drop it.
    """

    code = "MIG309"
    name = "jit-attribute"
    message = (
        "`torch.jit.Attribute(v, T)` is a namedtuple outside TorchScript: assign `v` and "
        "annotate the attribute as `T`"
    )
    fix_title = "Replace with the value"
    fix_safety = FixSafety.SAFE
    names = frozenset({"torch.jit.Attribute"})

    VALID = [
        Valid(
            "from typing import List\nclass M:\n    def __init__(self):\n        self.words: List[str] = []\n"
        )
    ]
    INVALID = [
        Invalid(
            "import torch\nclass M(torch.jit.ScriptModule):\n    def __init__(self):\n"
            "        self.words = torch.jit.Attribute([], List[str])\n",
            line=4,
            column=22,
            expected=(
                "import torch\nclass M(torch.jit.ScriptModule):\n    def __init__(self):\n"
                "        self.words: List[str] = []\n"
            ),
        ),
    ]

    def visit_reference(self, node: cst.BaseExpression, qualified_name: str) -> None:
        call = self.ctx.parent()
        if not isinstance(call, cst.Call) or call.func is not node:
            self.report(node)
        else:
            self.report(call, edit=typed_value_edit(self, call, node, value_at=0))
