from __future__ import annotations

import libcst as cst

from rewrites.core import Invalid, Valid
from rewrites.python_checker import PythonRule

# Every spelling of the TorchScript module and function classes.
SCRIPT_TYPES = frozenset(
    {
        "torch.jit.ScriptModule",
        "torch.jit.RecursiveScriptModule",
        "torch.jit.ScriptFunction",
        "torch.jit.TracedModule",
        "torch.jit.TopLevelTracedModule",
        "torch.jit._script.ScriptModule",
        "torch.jit._script.RecursiveScriptModule",
        "torch.jit._trace.TracedModule",
        "torch.jit._trace.TopLevelTracedModule",
        "torch.ScriptModule",
        "torch.ScriptFunction",
        "torch._C.ScriptModule",
        "torch._C.ScriptFunction",
    }
)


class ScriptModuleType(PythonRule):
    """Flags TorchScript module types used outside class bases: annotations and `isinstance`.

    ## What it does
    Reports `torch.jit.ScriptModule`, `RecursiveScriptModule`, `ScriptFunction`,
    `TracedModule` and `torch.ScriptModule` (however imported) in annotations
    (`-> torch.jit.ScriptModule`, `model: Optional[jit.ScriptModule]`), in `isinstance` /
    `issubclass` checks and anywhere else except as the base of a class (MIG109 reports those).

    ## Why is this bad?
    A function that takes or returns a `ScriptModule` depends on TorchScript: after migration
    its callers pass an `nn.Module`, an `ExportedProgram` or an ExecuTorch program instead. An
    `isinstance(m, torch.jit.ScriptModule)` branch is never taken again once nothing is
    scripted (or it silently takes the other path): decide what the branch was for.

    ## Example
    ```python
    def load(path) -> torch.jit.ScriptModule:
        return torch.jit.load(path)

    if isinstance(model, torch.jit.ScriptModule):
        model = model.eval()
    ```

    Use instead:
    ```python
    def load(path) -> torch.export.ExportedProgram:
        return torch.export.load(path)

    model = model.eval()
    ```

    ## Fix safety
    Display-only: the right type (`nn.Module`, `ExportedProgram`, an ExecuTorch `Method`) and
    what the `isinstance` branch should become depend on the code around it.
    """

    code = "MIG115"
    name = "script-module-type"
    message = (
        "a TorchScript type outside a class base: after migration no value has it; annotate with "
        "`torch.nn.Module` or `torch.export.ExportedProgram`, and keep the path an `isinstance` "
        "on it no longer takes"
    )
    names = SCRIPT_TYPES

    VALID = [
        Valid("import torch\ndef f(m: torch.nn.Module) -> torch.nn.Module:\n    return m\n"),
        Valid("import torch\nclass Decoder(torch.jit.ScriptModule):\n    pass\n"),
        Valid("from mylib import ScriptModule\ndef f(m: ScriptModule):\n    pass\n"),
    ]
    INVALID = [
        Invalid(
            "import torch\ndef load(path) -> torch.jit.ScriptModule:\n    return torch.load(path)\n",
            line=2,
            column=19,
            message="`ScriptModule` in an annotation: after migration no value has this TorchScript type; annotate with `torch.nn.Module` (eager) or `torch.export.ExportedProgram` (exported), and check what callers now pass",
        ),
        Invalid(
            "from typing import Optional\nfrom torch import jit\nmodel: Optional[jit.ScriptModule] = None\n",
            line=3,
            column=17,
            message="`ScriptModule` in an annotation: after migration no value has this TorchScript type; annotate with `torch.nn.Module` (eager) or `torch.export.ExportedProgram` (exported), and check what callers now pass",
        ),
        Invalid(
            "import torch\nif isinstance(m, (torch.jit.ScriptModule, torch.jit.ScriptFunction)):\n    pass\n",
            count=2,
            message="`ScriptModule` in a type check: after migration no value has this TorchScript type; this branch is dead once nothing is scripted: keep the path your migrated model takes (check for `torch.export.ExportedProgram` or `torch.nn.Module`)",
        ),
        Invalid(
            "from torch.jit import RecursiveScriptModule\nok = isinstance(m, RecursiveScriptModule)\n",
            message="`RecursiveScriptModule` in a type check: after migration no value has this TorchScript type; this branch is dead once nothing is scripted: keep the path your migrated model takes (check for `torch.export.ExportedProgram` or `torch.nn.Module`)",
        ),
        Invalid(
            "import torch\nok = isinstance(m, torch.ScriptModule)\n",
            line=2,
            column=20,
            message="`ScriptModule` in a type check: after migration no value has this TorchScript type; this branch is dead once nothing is scripted: keep the path your migrated model takes (check for `torch.export.ExportedProgram` or `torch.nn.Module`)",
        ),
        Invalid(
            "import torch\nif type(m) is torch.jit.TracedModule:\n    pass\n",
            message="`TracedModule` used as a value: after migration no value has this TorchScript type; replace it with `torch.nn.Module` or `torch.export.ExportedProgram`",
        ),
    ]

    def visit_reference(self, node: cst.BaseExpression, qualified_name: str) -> None:
        parent = self.ctx.parent()
        if (
            isinstance(parent, cst.Arg)
            and len(self.ctx.stack) > 2
            and isinstance(self.ctx.stack[-3], cst.ClassDef)
        ):
            return  # a class base: MIG109
        name = qualified_name.rsplit(".", 1)[-1]
        what = self._where()
        self.report(
            node,
            message=f"`{name}` {what}: after migration no value has this TorchScript type; {_ADVICE[what]}",
        )

    def _where(self) -> str:
        for ancestor in self.ctx.ancestors():
            if isinstance(ancestor, cst.Annotation):
                return "in an annotation"
            if isinstance(ancestor, cst.Call):
                func = ancestor.func
                if isinstance(func, cst.Name) and func.value in {"isinstance", "issubclass"}:
                    return "in a type check"
            if isinstance(ancestor, (cst.BaseStatement, cst.BaseSmallStatement)):
                break
        return "used as a value"


_ADVICE = {
    "in an annotation": (
        "annotate with `torch.nn.Module` (eager) or `torch.export.ExportedProgram` (exported), "
        "and check what callers now pass"
    ),
    "in a type check": (
        "this branch is dead once nothing is scripted: keep the path your migrated model takes "
        "(check for `torch.export.ExportedProgram` or `torch.nn.Module`)"
    ),
    "used as a value": "replace it with `torch.nn.Module` or `torch.export.ExportedProgram`",
}
