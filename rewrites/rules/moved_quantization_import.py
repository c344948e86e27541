from __future__ import annotations

import libcst as cst

from rewrites.core import Invalid, Valid
from rewrites.model import FixSafety
from rewrites.names import dotted
from rewrites.python_checker import PythonRule
from rewrites.rules._fixes import dotted_expression

# Module paths that torch removed, and where the same API lives now (torch 2.13, torchao 0.18,
# executorch 1.5.1); tests/test_rename_table.py checks both sides against the installed packages.
MOVED_MODULES: dict[str, str] = {
    "torch.ao.quantization.quantize_pt2e": "torchao.quantization.pt2e.quantize_pt2e",
    "torch.ao.quantization.quantizer.xnnpack_quantizer": "executorch.backends.xnnpack.quantizer.xnnpack_quantizer",
    "torch.ao.quantization.quantizer.xnnpack_quantizer_utils": "executorch.backends.xnnpack.quantizer.xnnpack_quantizer_utils",
    "torch.ao.quantization.quantizer.embedding_quantizer": "torchao.quantization.pt2e.quantizer.embedding_quantizer",
    "torch.ao.quantization.quantizer": "torchao.quantization.pt2e.quantizer",
    "torch.ao.quantization.pt2e": "torchao.quantization.pt2e",
}


def moved(module: str) -> tuple[str, str] | None:
    """The (old, new) row whose old path is ``module`` or a parent package of it."""
    for old in sorted(MOVED_MODULES, key=len, reverse=True):
        if module == old or module.startswith(old + "."):
            return old, MOVED_MODULES[old] + module[len(old) :]
    return None


class MovedQuantizationImport(PythonRule):
    """Flags imports of quantization modules torch removed, naming where they went.

    ## What it does
    Reports imports (and fully spelled uses) of `torch.ao.quantization.quantize_pt2e`,
    `torch.ao.quantization.quantizer.*` and `torch.ao.quantization.pt2e`.

    ## Why is this bad?
    These modules no longer exist in torch 2.13: the import fails. PT2E moved to `torchao`
    (`torchao.quantization.pt2e.quantize_pt2e`) and the XNNPACK quantizer to ExecuTorch
    (`executorch.backends.xnnpack.quantizer.xnnpack_quantizer`).

    ## Example
    ```python
    from torch.ao.quantization.quantize_pt2e import prepare_pt2e, convert_pt2e
    from torch.ao.quantization.quantizer.xnnpack_quantizer import XNNPACKQuantizer
    ```

    Use instead:
    ```python
    from torchao.quantization.pt2e.quantize_pt2e import prepare_pt2e, convert_pt2e
    from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import XNNPACKQuantizer
    ```

    ## Fix safety
    Safe: the same functions under their new module path.
    """

    code = "MIG507"
    name = "moved-quantization-import"
    message = "`{old}` was removed from torch: import `{new}` instead"
    placeholders = {"old": "the old module", "new": "the new module"}
    fix_title = "Import from the new module path"
    fix_safety = FixSafety.SAFE
    names = frozenset(f"{old}.*" for old in MOVED_MODULES)

    VALID = [
        Valid("from torchao.quantization.pt2e.quantize_pt2e import prepare_pt2e\n"),
        Valid("from torch.ao.quantization import QuantStub\n"),
    ]
    INVALID = [
        Invalid(
            "from torch.ao.quantization.quantize_pt2e import prepare_pt2e, convert_pt2e\n",
            line=1,
            column=1,
            expected="from torchao.quantization.pt2e.quantize_pt2e import prepare_pt2e, convert_pt2e\n",
            message="`torch.ao.quantization.quantize_pt2e` was removed from torch: import `torchao.quantization.pt2e.quantize_pt2e` instead",
        ),
        Invalid(
            "from torch.ao.quantization.quantizer.xnnpack_quantizer import (\n    XNNPACKQuantizer,  # the quantizer\n)\n",
            expected=(
                "from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (\n"
                "    XNNPACKQuantizer,  # the quantizer\n)\n"
            ),
            message="`torch.ao.quantization.quantizer.xnnpack_quantizer` was removed from torch: import `executorch.backends.xnnpack.quantizer.xnnpack_quantizer` instead",
        ),
        Invalid(
            "import torch.ao.quantization.quantize_pt2e as qp\n",
            expected="import torchao.quantization.pt2e.quantize_pt2e as qp\n",
            message="`torch.ao.quantization.quantize_pt2e` was removed from torch: import `torchao.quantization.pt2e.quantize_pt2e` instead",
        ),
        Invalid(
            "import torch\ng = torch.ao.quantization.quantize_pt2e.prepare_pt2e(m, q)\n",
            line=2,
            column=5,
            expected="import torchao.quantization.pt2e.quantize_pt2e\n\ng = torchao.quantization.pt2e.quantize_pt2e.prepare_pt2e(m, q)\n",
            message="`torch.ao.quantization.quantize_pt2e` was removed from torch: import `torchao.quantization.pt2e.quantize_pt2e` instead",
        ),
        Invalid(
            "import torch.ao.quantization.quantize_pt2e\n",
            message="`torch.ao.quantization.quantize_pt2e` was removed from torch: import `torchao.quantization.pt2e.quantize_pt2e` instead",
        ),
    ]

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if node.module is not None and not node.relative:
            row = moved(dotted(node.module) or "")
            if row is not None:
                edit = self.edit({node.module: dotted_expression(row[1])})
                self.report(node, edit, args={"old": row[0], "new": row[1]})

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            row = moved(dotted(alias.name) or "")
            if row is not None:
                # `import old.path` (no `as`) is used spelled out; those uses are fixed one by one.
                edit = None if alias.asname is None else self.edit({alias.name: dotted_expression(row[1])})
                self.report(node, edit, args={"old": row[0], "new": row[1]})

    def visit_reference(self, node: cst.BaseExpression, qualified_name: str) -> None:
        spelled = dotted(node) or ""
        row = moved(spelled[: spelled.rfind(".")])
        if row is not None:
            new_module, attribute = row[1], spelled[spelled.rfind(".") + 1 :]
            edit = self.edit(
                {node: dotted_expression(f"{new_module}.{attribute}")},
                add_imports=[(new_module, None)],
                dropped=[node],
            )
            self.report(node, edit, args={"old": row[0], "new": row[1]})
