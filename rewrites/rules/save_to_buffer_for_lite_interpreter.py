from __future__ import annotations

import libcst as cst

from rewrites.core import Invalid, Valid
from rewrites.python_checker import PythonRule
from rewrites.rules._helpers import method_call

_METHODS = frozenset({"_save_to_buffer_for_lite_interpreter"})


class SaveToBufferForLiteInterpreter(PythonRule):
    """Flags `module._save_to_buffer_for_lite_interpreter()`.

    ## What it does
    Reports calls of the `_save_to_buffer_for_lite_interpreter` method on any receiver.

    ## Why is this bad?
    It returns the `.ptl` bytes in memory (to upload, hash or embed them). The ExecuTorch
    counterpart is the `.buffer` property of the program that `.to_executorch()` returns.

    ## Example
    ```python
    blob = optimized._save_to_buffer_for_lite_interpreter()
    ```

    Use instead:
    ```python
    blob = to_edge_transform_and_lower(
        exported, partitioner=[XnnpackPartitioner()]
    ).to_executorch().buffer
    ```

    ## Fix safety
    Display-only: the bytes change format, so their consumer must change too.
    """

    code = "MIG203"
    name = "save-to-buffer-for-lite-interpreter"
    message = (
        "`_save_to_buffer_for_lite_interpreter` returns `.ptl` bytes: use the `.buffer` of "
        "`to_edge_transform_and_lower(...).to_executorch()` for `.pte` bytes"
    )
    tokens = tuple((m,) for m in _METHODS)

    VALID = [Valid("blob = program.buffer\n")]
    INVALID = [Invalid("blob = optimized._save_to_buffer_for_lite_interpreter()\n", line=1, column=8)]

    def visit_Call(self, node: cst.Call) -> None:
        if method_call(node, _METHODS):
            self.report(node)
