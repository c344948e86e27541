from __future__ import annotations

import libcst as cst

from rewrites.core import Invalid, Valid
from rewrites.rules._chains import PteSave
from rewrites.rules._helpers import method_call

_METHODS = frozenset({"_save_for_lite_interpreter"})


class SaveForLiteInterpreter(PteSave):
    """Flags `module._save_for_lite_interpreter(path)` on any receiver.

    ## What it does
    Reports calls of the `_save_for_lite_interpreter` method, whatever object it is called on.

    ## Why is this bad?
    It writes the `.ptl` bytecode archive that PyTorch Mobile's `LiteModuleLoader` reads. The
    app moves to ExecuTorch, which loads `.pte` programs produced by
    `to_edge_transform_and_lower(...).to_executorch()`.

    ## Example
    ```python
    optimized._save_for_lite_interpreter("model.ptl")
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
    Unsafe: the artifact changes from `.ptl` to `.pte`, and the app's loader must change with it.
    """

    code = "MIG202"
    name = "save-for-lite-interpreter"
    message = (
        "`_save_for_lite_interpreter` writes a PyTorch Mobile `.ptl`: lower with "
        "`to_edge_transform_and_lower(exported, partitioner=[XnnpackPartitioner()])"
        ".to_executorch()` and write its `.buffer` to a `.pte`"
    )
    tokens = tuple((m,) for m in _METHODS)

    VALID = [Valid("program.save('model.pte')\n")]
    INVALID = [
        Invalid(
            "optimized._save_for_lite_interpreter('model.ptl')\n",
            line=1,
            column=1,
            expected="import pathlib\nfrom executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner\nfrom executorch.exir import to_edge_transform_and_lower\n\npathlib.Path('model.pte').write_bytes(to_edge_transform_and_lower(optimized, partitioner=[XnnpackPartitioner()]).to_executorch().buffer)\n",
        ),
        Invalid(
            "get_model()._save_for_lite_interpreter(str(out / 'm.ptl'))\n",
            expected="import os\nimport pathlib\nfrom executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner\nfrom executorch.exir import to_edge_transform_and_lower\n\npathlib.Path(os.path.splitext(str(out / 'm.ptl'))[0] + '.pte').write_bytes(to_edge_transform_and_lower(get_model(), partitioner=[XnnpackPartitioner()]).to_executorch().buffer)\n",
        ),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        if method_call(node, _METHODS):
            receiver = node.func.value if isinstance(node.func, cst.Attribute) else None
            self.report(node, edit=None if receiver is None else self.save_edit(node, receiver, 0))
