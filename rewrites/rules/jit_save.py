from __future__ import annotations

import libcst as cst

from rewrites.model import FixSafety
from rewrites.rule import Invalid, Rule, Valid


class JitSave(Rule):
    """Flags `torch.jit.save(module, path)`.

    ## What it does
    Reports uses of `torch.jit.save`, which writes a TorchScript archive (`.pt`).

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
    names = frozenset({"torch.jit.save"})

    VALID = [
        Valid("import torch\ntorch.save(model.state_dict(), 'w.pt')\n"),
        Valid("import torch\nscripted.save('model.pt')\n"),
    ]
    INVALID = [
        Invalid("import torch\ntorch.jit.save(scripted, 'model.pt')\n", line=2, column=1),
        Invalid("from torch.jit import save as jit_save\njit_save(m, out)\n"),
    ]

    def visit_reference(self, node: cst.BaseExpression, qualified_name: str) -> None:
        self.report(node)
