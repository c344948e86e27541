from __future__ import annotations

from collections.abc import Sequence

import libcst as cst

from rewrites.core import Invalid, Valid
from rewrites.model import FixSafety
from rewrites.names import dotted, subtree
from rewrites.python_checker import Edit
from rewrites.rules._chains import ChainRule, unwrap


class OptimizeForMobile(ChainRule):
    """Flags `torch.utils.mobile_optimizer.optimize_for_mobile` and its options.

    ## What it does
    Reports `optimize_for_mobile(...)`, `MobileOptimizerType` (its `optimization_blocklist`)
    and `generate_mobile_module_lints`.

    ## Why is this bad?
    It rewrites a TorchScript module for the lite interpreter. On torch 2.13 CPU wheels it
    raises ("XNNPACK is not enabled"), and the `prepacked::` ops it inserts cannot be loaded by
    torch 2.13. ExecuTorch does the same work at lowering time:
    `to_edge_transform_and_lower(exported, partitioner=[XnnpackPartitioner()])` folds
    conv/batch-norm, fuses activations and prepacks weights for XNNPACK.

    Options: `optimization_blocklist` has no counterpart (drop it); `preserved_methods` become
    extra exported methods; `backend="vulkan"` maps to `VulkanPartitioner`, `backend="metal"`
    to the Core ML or MPS partitioner.

    ## Example
    ```python
    optimized = optimize_for_mobile(scripted)
    optimized._save_for_lite_interpreter("model.ptl")
    ```

    Use instead:
    ```python
    program = to_edge_transform_and_lower(
        torch.export.export(model.eval(), example_inputs),
        partitioner=[XnnpackPartitioner()],
    ).to_executorch()
    ```

    ## Fix safety
    Unsafe: the call is removed and its argument kept; options without an ExecuTorch
    counterpart are named in a comment.

    When what it wraps is TorchScript made in the same file, the fix of what made it drops
    this call along with the rest of the chain (MIG101, MIG103); otherwise this fix rewrites
    every use of the result with it, or none.
    """

    code = "MIG201"
    name = "optimize-for-mobile"
    message = (
        "`optimize_for_mobile` is PyTorch Mobile (it raises on torch 2.13): ExecuTorch prepacks "
        "and fuses in `to_edge_transform_and_lower(exported, partitioner=[XnnpackPartitioner()])`"
    )
    fix_title = "Remove `optimize_for_mobile`; lower with `XnnpackPartitioner`"
    fix_safety = FixSafety.UNSAFE
    names = frozenset(
        {
            "torch.utils.mobile_optimizer.*",
            "torch.utils.mobile_optimizer.optimize_for_mobile",
            "torch.utils.mobile_optimizer.MobileOptimizerType",
            "torch.utils.mobile_optimizer.generate_mobile_module_lints",
        }
    )

    VALID = [Valid("def optimize_for_mobile(m):\n    return m\nm = optimize_for_mobile(m)\n")]
    INVALID = [
        Invalid(
            "from torch.utils.mobile_optimizer import optimize_for_mobile\n"
            "opt = optimize_for_mobile(scripted)\n",
            line=2,
            column=7,
            expected="opt = scripted\n",
        ),
        Invalid(
            "from torch.utils.mobile_optimizer import *\nopt = optimize_for_mobile(m, backend='vulkan')\n",
            expected="from torch.utils.mobile_optimizer import *\nopt = m  # migrate: dropped optimize_for_mobile(backend='vulkan'); lower with VulkanPartitioner for the GPU\n",
        ),
        Invalid(
            "import torch.utils.mobile_optimizer as mo\n"
            "opt = mo.optimize_for_mobile(m, optimization_blocklist={mo.MobileOptimizerType.CONV_BN_FUSION})\n",
            expected="opt = m  # migrate: dropped optimize_for_mobile(optimization_blocklist={mo.MobileOptimizerType.CONV_BN_FUSION}); XnnpackPartitioner applies ExecuTorch's own optimizations\n",
        ),
        Invalid(
            "import torch\nopt = torch.utils.mobile_optimizer.optimize_for_mobile(m)\n", expected="opt = m\n"
        ),
    ]

    def visit_reference(self, node: cst.BaseExpression, qualified_name: str) -> None:
        call = self.ctx.parent()
        if (
            qualified_name != "torch.utils.mobile_optimizer.optimize_for_mobile"
            or not isinstance(call, cst.Call)
            or call.func is not node
            or not call.args
            or call.args[0].keyword is not None
        ):
            if not _inside_optimize_call(self.ctx.stack):
                self.report(node)
            return
        line = next((n for n in self.ctx.ancestors() if isinstance(n, cst.SimpleStatementLine)), None)
        options = len(call.args) > 1
        unwrap(self, call, node, (lambda edit: self._note_options(edit, call, line)) if options else None)

    def _note_options(self, edit: Edit, call: cst.Call, line: cst.SimpleStatementLine | None) -> Edit:
        """Options without an ExecuTorch counterpart are named in a comment on the line."""
        options = call.args[1:]
        dropped = [n for a in options for n in subtree(a) if isinstance(n, (cst.Name, cst.Attribute))]
        unused = tuple(o for o in (self.ctx.imports.origin(n) for n in dropped) if o is not None)
        key = next((k for k in edit.changes if any(n is call for n in subtree(k))), None)
        if line is None or key is None:
            return Edit(edit.changes, edit.add_imports, edit.unused_imports + unused, edit.resolves)
        empty = cst.Module([])
        names = ", ".join(empty.code_for_node(a).strip().rstrip(",") for a in options)
        note = f"# migrate: dropped optimize_for_mobile({names}); {_advice(options)}"
        old = line.trailing_whitespace.comment
        comment = cst.Comment(f"{old.value}  {note}" if old else note)
        replacement = edit.changes[key]
        if not isinstance(replacement, cst.CSTNode):
            return Edit(edit.changes, edit.add_imports, edit.unused_imports + unused, edit.resolves)
        new_line = line.deep_replace(key, replacement)
        assert isinstance(new_line, cst.SimpleStatementLine)
        new_line = new_line.with_changes(
            trailing_whitespace=line.trailing_whitespace.with_changes(
                whitespace=cst.SimpleWhitespace("  "), comment=comment
            )
        )
        changes = {k: v for k, v in edit.changes.items() if k is not key}
        changes[line] = new_line
        return Edit(changes, edit.add_imports, edit.unused_imports + unused, edit.resolves)


def _inside_optimize_call(stack: list[cst.CSTNode]) -> bool:
    """MobileOptimizerType in the options of a call the fix removes is reported with the call."""
    return any(isinstance(n, cst.Arg) for n in stack[:-1]) and any(
        isinstance(n, cst.Call)
        and isinstance(n.func, (cst.Name, cst.Attribute))
        and (dotted(n.func) or "").endswith("optimize_for_mobile")
        for n in stack
    )


def _advice(options: Sequence[cst.Arg]) -> str:
    text = " ".join(cst.Module([]).code_for_node(a) for a in options)
    if "vulkan" in text:
        return "lower with VulkanPartitioner for the GPU"
    if "metal" in text:
        return "lower with CoreMLPartitioner or MPSPartitioner on Apple GPUs"
    return "XnnpackPartitioner applies ExecuTorch's own optimizations"
