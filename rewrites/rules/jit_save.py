from __future__ import annotations

import libcst as cst

from rewrites.model import FixSafety
from rewrites.rule import FileContext, Invalid, Rule, Valid
from rewrites.rules._export import write_pte

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


class JitSave(Rule):
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
    fix_title = "Lower with XNNPACK and write a `.pte`"
    fix_safety = FixSafety.UNSAFE
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
            "import torch\nscripted = torch.jit.script(model)\nscripted.save('model.pt')\n",
            line=3,
            column=1,
            expected="import torch\nimport pathlib\nfrom executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner\nfrom executorch.exir import to_edge_transform_and_lower\n\nscripted = torch.jit.script(model)\npathlib.Path('model.pte').write_bytes(to_edge_transform_and_lower(scripted, partitioner=[XnnpackPartitioner()]).to_executorch().buffer)\n",
        ),
        Invalid(
            "import torch\ntorch.jit.trace(model, x).save(path)\n",
            line=2,
            column=1,
            expected="import torch\nimport os\nimport pathlib\nfrom executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner\nfrom executorch.exir import to_edge_transform_and_lower\n\npathlib.Path(os.path.splitext(str(path))[0] + '.pte').write_bytes(to_edge_transform_and_lower(torch.jit.trace(model, x), partitioner=[XnnpackPartitioner()]).to_executorch().buffer)\n",
        ),
    ]

    def __init__(self, ctx: FileContext) -> None:
        super().__init__(ctx)
        self.scripted: set[str] = set()

    def visit_reference(self, node: cst.BaseExpression, qualified_name: str) -> None:
        if qualified_name != "torch.jit.save":
            return
        call = self.ctx.parent()
        edit = None
        if (
            isinstance(call, cst.Call)
            and call.func is node
            and len(call.args) == 2
            and not call.args[1].keyword
        ):
            write, imports = write_pte(call.args[0].value, call.args[1].value)
            edit = self.edit({call: write}, add_imports=imports, dropped=[node])
        self.report(node, edit=edit)

    def visit_Assign(self, node: cst.Assign) -> None:
        if self._returns_scripted(node.value):
            self.scripted.update(t.target.value for t in node.targets if isinstance(t.target, cst.Name))

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value == "save":
            receiver = func.value
            scripted = isinstance(receiver, cst.Name) and receiver.value in self.scripted
            if scripted or self._returns_scripted(receiver):
                edit = None
                if len(node.args) == 1 and node.args[0].keyword is None:
                    write, imports = write_pte(receiver, node.args[0].value)
                    edit = self.edit({node: write}, add_imports=imports)
                self.report(node, edit=edit)

    def _returns_scripted(self, value: cst.BaseExpression) -> bool:
        return isinstance(value, cst.Call) and self.ctx.resolve(value.func) in _SCRIPTED
