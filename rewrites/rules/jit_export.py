from __future__ import annotations

import libcst as cst

from rewrites.core import Invalid, Valid
from rewrites.model import FixSafety
from rewrites.python_checker import PythonRule as Rule
from rewrites.rules._helpers import enclosing_decorator


class JitExport(Rule):
    """Flags `@torch.jit.export` methods (extra entry points of a scripted module).

    ## What it does
    Reports methods decorated `@torch.jit.export`.

    ## Why is this bad?
    `torch.export.export` captures `forward` only; `@torch.jit.export` methods are silently
    left out. ExecuTorch supports several methods in one `.pte`: export one program per method
    (a thin wrapper module whose `forward` calls the method) and pass them as a dict:
    `to_edge_transform_and_lower({"forward": ep, "step": ep_step}, partitioner=[...])`.
    Constant methods (a version number) go in `constant_methods={"version": 1}`.
    `migrate export --method step` does this for you.

    ## Example
    ```python
    @torch.jit.export
    def step(self, x, state):
        ...
    ```

    Use instead:
    ```python
    class Step(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, x, state):
            return self.model.step(x, state)

    programs = {
        "forward": torch.export.export(model, (x,)),
        "step": torch.export.export(Step(model), (x, state)),
    }
    ```

    ## Fix safety
    Unsafe: offered only where the project calls the method (`scripted.step(frame,
    state)` in an export script or a test): the fix drops the decorator, and the fix of the
    script that scripts the model (MIG101) exports the method into the same `.pte`, with the
    example inputs of that call (a method called with constants only, such as an initial
    state, becomes a constant method of the same name). Where that script's fix is refused,
    the scripted model loses the method: review both. Methods the project never calls stay
    reported: only you know their inputs (`migrate export --method NAME`).
    """

    code = "MIG303"
    name = "jit-export"
    message = (
        "`@torch.jit.export` methods are not captured by `torch.export`: export one program per "
        "method (a wrapper whose `forward` calls it) and pass a dict to "
        "`to_edge_transform_and_lower` (or `migrate export --method NAME`)"
    )
    fix_title = "Drop the decorator: the export script's fix puts the method in the `.pte`"
    fix_safety = FixSafety.UNSAFE
    names = frozenset({"torch.jit.export"})

    VALID = [
        Valid("import torch\nep = torch.export.export(model, (x,))\n"),
        Valid("import torch\nclass M(torch.nn.Module):\n    def step(self, x):\n        return x\n"),
    ]
    INVALID = [
        Invalid(
            "import torch\nclass M(torch.nn.Module):\n    @torch.jit.export\n    def step(self, x):\n        return x\n",
            line=3,
            column=5,
        ),
        # the project calls the method on the scripted model: its export script's fix exports it
        Invalid(
            (
                "import torch\n"
                "class M(torch.nn.Module):\n"
                "    @torch.jit.export\n"
                "    def step(self, x):\n"
                "        return x\n"
            ),
            project=(
                (
                    "export.py",
                    "import torch\nfrom model import M\ns = torch.jit.script(M())\nprint(s.step(torch.ones(1)))\n",
                ),
            ),
            expected=("import torch\nclass M(torch.nn.Module):\n    def step(self, x):\n        return x\n"),
        ),
    ]

    def visit_reference(self, node: cst.BaseExpression, qualified_name: str) -> None:
        decorator = enclosing_decorator(self.ctx)
        function = next((n for n in self.ctx.ancestors() if isinstance(n, cst.FunctionDef)), None)
        edit = None
        if (
            decorator is not None
            and isinstance(function, cst.FunctionDef)
            and decorator in function.decorators
            and self.ctx.project.calls_of(function.name.value)
        ):
            edit = self.edit({decorator: cst.RemovalSentinel.REMOVE}, dropped=[node])
        self.report(decorator or node, edit=edit)
