from __future__ import annotations

import libcst as cst

from rewrites.core import Invalid, Valid
from rewrites.model import FixSafety
from rewrites.rules._chains import ChainRule, unwrap


class JitFreeze(ChainRule):
    """Flags `torch.jit.freeze(scripted)`.

    ## What it does
    Reports uses of `torch.jit.freeze`.

    ## Why is this bad?
    Freezing inlines a `ScriptModule`'s parameters as constants. `torch.export` already lifts
    parameters into the program and ExecuTorch stores them as constants in the `.pte`, so the
    call has no ExecuTorch counterpart and needs a `ScriptModule` to run at all.

    ## Example
    ```python
    frozen = torch.jit.freeze(torch.jit.script(model.eval()))
    ```

    Use instead:
    ```python
    exported = torch.export.export(model.eval(), example_inputs)
    ```

    ## Fix safety
    Unsafe: the fix drops the call and keeps its argument.

    When what it wraps is TorchScript made in the same file, the fix of what made it drops
    this call along with the rest of the chain (MIG101, MIG103); otherwise this fix rewrites
    every use of the result with it, or none.
    """

    code = "MIG105"
    name = "jit-freeze"
    message = (
        "`torch.jit.freeze` only works on TorchScript; `torch.export` and ExecuTorch already store "
        "parameters as constants, so drop the call"
    )
    fix_title = "Remove the `torch.jit.freeze` call"
    fix_safety = FixSafety.UNSAFE
    names = frozenset({"torch.jit.freeze"})

    VALID = [Valid("import torch\nm = model.eval()\n")]
    INVALID = [
        # TorchScript made here: MIG101's fix drops the freeze with the rest of the chain.
        Invalid("import torch\nfrozen = torch.jit.freeze(torch.jit.script(model.eval()))\n"),
        Invalid(
            "from torch.jit import freeze\nm = freeze(sm, preserved_attrs=['version'])\n", expected="m = sm\n"
        ),
    ]

    def visit_reference(self, node: cst.BaseExpression, qualified_name: str) -> None:
        call = self.ctx.parent()
        if not (isinstance(call, cst.Call) and call.func is node):
            self.report(node)
            return
        unwrap(self, call, node)
