from __future__ import annotations

import libcst as cst

from rewrites.core import Invalid, Valid
from rewrites.project import EXAMPLE_FUNCTIONS
from rewrites.python_checker import PythonRule
from rewrites.rules._export import PLACEHOLDER, defining_module


class ExampleInputsPlaceholder(PythonRule):
    """Flags the example-inputs placeholder that `migrate apply` leaves in export calls.

    ## What it does
    Reports `EXAMPLE_INPUTS_NEEDED_BY_TORCH_EXPORT`, which the fix for `torch.jit.script`
    (MIG101) writes when it finds no example inputs in scope.

    ## Why is this bad?
    Scripting needed no inputs; `torch.export` does, and the placeholder is an undefined name,
    so the export script stops with a `NameError` until it is replaced.

    ## Example
    ```python
    exported = torch.export.export(model.eval(), EXAMPLE_INPUTS_NEEDED_BY_TORCH_EXPORT)
    ```

    Use instead:
    ```python
    exported = torch.export.export(model.eval(), (torch.rand(1, 3, 224, 224),))
    ```

    ## Fix safety
    Display-only: only you know the shapes your app feeds the model.
    """

    code = "MIG113"
    name = "example-inputs-placeholder"
    message = (
        "give `torch.export` real example inputs here: a tuple of tensors shaped like what the app "
        "passes (mark varying sizes with `dynamic_shapes`)"
    )
    tokens = ((PLACEHOLDER,),)

    VALID = [Valid("import torch\nep = torch.export.export(model, (x,))\n")]
    INVALID = [
        Invalid(
            f"import torch\nep = torch.export.export(model.eval(), {PLACEHOLDER})\n",
            line=2,
            column=40,
            message="give `torch.export` real example inputs here: a tuple of tensors shaped like what the app passes (mark varying sizes with `dynamic_shapes`) (none found: no call of the model in this module before it or after it, no example-inputs variable in scope, no `example_inputs`, `get_example_inputs`, `example_input`-style function or value in this file)",
        )
    ]

    def visit_Name(self, node: cst.Name) -> None:
        if node.value == PLACEHOLDER and not self.ctx.imports.is_bound(PLACEHOLDER):
            self.report(node, detail=self._where_looked(node))

    def _where_looked(self, node: cst.Name) -> str:
        """Where the export fixes looked for example inputs before writing the placeholder."""
        function = next((n.name.value for n in self.ctx.ancestors() if isinstance(n, cst.FunctionDef)), None)
        scope = f"`{function}`" if function else "this module"
        call = next((n for n in self.ctx.ancestors() if isinstance(n, cst.Call)), None)
        model = call.args[0].value if call is not None and call.args else None
        if isinstance(model, cst.Call) and isinstance(model.func, cst.Attribute):
            model = model.func.value  # model.eval()
        module = defining_module(self, model) if model is not None else None
        names = "`, `".join(EXAMPLE_FUNCTIONS[:3])
        where = "this file" if module is None else f"`{module}` (where the model comes from) or this file"
        return (
            f"none found: no call of the model in {scope} before it or after it, no example-inputs "
            f"variable in scope, no `{names}`-style function or value in {where}"
        )
