from __future__ import annotations

import libcst as cst

from rewrites.core import Invalid, Valid
from rewrites.python_checker import FileContext
from rewrites.rules._chains import PteSave, holds_torchscript

# Calls that return a ScriptModule: `.save(path)` on their result writes TorchScript too.
_SCRIPTED = frozenset(
    {
        "torch.jit.script",
        "torch.jit.trace",
        "torch.jit.trace_module",
        "torch.jit.freeze",
        "torch.jit.optimize_for_inference",
        "torch.jit.load",
        "torch.utils.mobile_optimizer.optimize_for_mobile",
    }
)


class JitSave(PteSave):
    """Flags `torch.jit.save(module, path)` and `scripted.save(path)`.

    ## What it does
    Reports uses of `torch.jit.save`, and `.save(...)` called on what `torch.jit.script`,
    `trace`, `freeze`, `load` or `optimize_for_mobile` returned (assigned to a name in the same
    file, or called directly), which both write a TorchScript archive (`.pt`).

    ## Why is this bad?
    ExecuTorch runs `.pte` programs. The archive a TorchScript pipeline saves is what the app
    loads today; after migration the pipeline writes the lowered program instead.

    ## Example
    ```python
    torch.jit.save(scripted, "model.pt")
    ```

    Use instead:
    ```python
    program = to_edge_transform_and_lower(
        exported, partitioner=[XnnpackPartitioner()]
    ).to_executorch()
    with open("model.pte", "wb") as f:
        f.write(program.buffer)
    ```

    ## Fix safety
    Unsafe: the output changes from `.pt` to `.pte`, so whatever loads the file must change too.
    """

    code = "MIG107"
    name = "jit-save"
    message = (
        "`torch.jit.save` writes TorchScript; write an ExecuTorch program instead: "
        "`to_edge_transform_and_lower(exported, partitioner=[XnnpackPartitioner()])"
        ".to_executorch()`, then save its `.buffer` to a `.pte` file"
    )
    names = frozenset({"torch.jit.save"} | _SCRIPTED)

    VALID = [
        Valid("import torch\ntorch.save(model.state_dict(), 'w.pt')\n"),
        Valid("import torch\nscripted.save('model.pt')\n"),
        Valid("import torch\nm = torch.jit.script(model)\nprogram.save('model.pte')\n"),
    ]
    INVALID = [
        Invalid(
            "import torch\ntorch.jit.save(scripted, 'model.pt')\n",
            line=2,
            column=1,
            expected="import pathlib\nfrom executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner\nfrom executorch.exir import to_edge_transform_and_lower\n\npathlib.Path('model.pte').write_bytes(to_edge_transform_and_lower(scripted, partitioner=[XnnpackPartitioner()]).to_executorch().buffer)\n",
        ),
        Invalid(
            "from torch.jit import save as jit_save\njit_save(m, out)\n",
            expected="import os\nimport pathlib\nfrom executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner\nfrom executorch.exir import to_edge_transform_and_lower\n\npathlib.Path(os.path.splitext(str(out))[0] + '.pte').write_bytes(to_edge_transform_and_lower(m, partitioner=[XnnpackPartitioner()]).to_executorch().buffer)\n",
        ),
        Invalid(
            "import torch\ndef save(m, out, meta):\n    torch.jit.save(m, out, _extra_files={'meta.json': meta})\n",
            expected=(
                "import os\nimport pathlib\n"
                "from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner\n"
                "from executorch.exir import to_edge_transform_and_lower\n\n"
                "def save(m, out, meta):\n    pathlib.Path(os.path.splitext(str(out))[0] + '.pte').write_bytes("
                "to_edge_transform_and_lower(m, partitioner=[XnnpackPartitioner()], "
                "constant_methods={'meta.json': meta}).to_executorch().buffer)\n"
            ),
        ),
        # TorchScript made in this file is saved by the fix of what made it (MIG101, MIG103),
        # together with its every other use, or not at all: lowering it here would fail.
        Invalid(
            "import torch\nscripted = torch.jit.script(model)\nscripted.save('model.pt')\n",
            line=3,
            column=1,
        ),
        Invalid("import torch\ntorch.jit.trace(model, x).save(path)\n", line=2, column=1),
        Invalid("import torch\nm = torch.jit.load('a.pt')\ntorch.jit.save(m, 'b.pt')\n", line=3, column=1),
    ]

    def __init__(self, ctx: FileContext) -> None:
        super().__init__(ctx)
        self.scripted: set[str] = set()

    def visit_reference(self, node: cst.BaseExpression, qualified_name: str) -> None:
        if qualified_name != "torch.jit.save":
            return
        call = self.ctx.parent()
        edit = None
        if isinstance(call, cst.Call) and call.func is node and call.args and call.args[0].keyword is None:
            edit = self.save_edit(call, call.args[0].value, 1, dropped=[node])
        self.report(node, edit=edit)

    def visit_Assign(self, node: cst.Assign) -> None:
        if self._returns_scripted(node.value):
            self.scripted.update(t.target.value for t in node.targets if isinstance(t.target, cst.Name))

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value == "save":
            receiver = func.value
            scripted = isinstance(receiver, cst.Name) and receiver.value in self.scripted
            if scripted or holds_torchscript(self.ctx, receiver):
                # TorchScript made here: the fix of what made it rewrites this save with it
                self.report(node)

    def _returns_scripted(self, value: cst.BaseExpression) -> bool:
        return isinstance(value, cst.Call) and self.ctx.resolve(value.func) in _SCRIPTED
