"""Statements of the PT2E quantization flow that replace eager-mode quantization calls.

PT2E quantizes the exported float graph: export -> ``.module()`` -> ``prepare_pt2e`` ->
calibrate -> ``convert_pt2e``. ``allow_exported_model_train_eval`` keeps later ``.eval()`` calls
(which the TorchScript-era script still makes) working on the converted graph.
"""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst

from rewrites.python_checker import Edit, PythonRule
from rewrites.rules._export import PLACEHOLDER, example_imports, find_example_args

PT2E_IMPORTS: list[tuple[str, str | None]] = [
    ("torch", None),
    ("torchao.quantization.pt2e.quantize_pt2e", "prepare_pt2e"),
    ("torchao.quantization.pt2e.quantize_pt2e", "convert_pt2e"),
    ("torchao.quantization.pt2e", "allow_exported_model_train_eval"),
    ("executorch.backends.xnnpack.quantizer.xnnpack_quantizer", "XNNPACKQuantizer"),
    ("executorch.backends.xnnpack.quantizer.xnnpack_quantizer", "get_symmetric_quantization_config"),
]


def code(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node)


def quantizer(*, dynamic: bool = False, qat: bool = False) -> str:
    options = (
        ["is_per_channel=True"] + (["is_dynamic=True"] if dynamic else []) + (["is_qat=True"] if qat else [])
    )
    return f"XNNPACKQuantizer().set_global(get_symmetric_quantization_config({', '.join(options)}))"


def example_args(rule: PythonRule, model: cst.BaseExpression) -> str:
    found = find_example_args(rule, model)
    return PLACEHOLDER if found is None else code(found)


def replace_line(
    rule: PythonRule, line: cst.SimpleStatementLine, sources: list[str], dropped: Sequence[cst.CSTNode]
) -> Edit:
    """Put ``sources`` (one statement each) where ``line`` was, keeping its comments."""
    statements = [cst.parse_statement(source + "\n") for source in sources]
    first = statements[0]
    assert isinstance(first, cst.SimpleStatementLine)
    statements[0] = first.with_changes(leading_lines=line.leading_lines)
    last = statements[-1]
    assert isinstance(last, cst.SimpleStatementLine)
    if line.trailing_whitespace.comment is not None:  # the user's comment wins over ours
        statements[-1] = last.with_changes(trailing_whitespace=line.trailing_whitespace)
    imports = PT2E_IMPORTS + example_imports(rule, "\n".join(sources))
    return rule.edit({line: cst.FlattenSentinel(statements)}, add_imports=imports, dropped=dropped)


def call_statement(rule: PythonRule, call: cst.Call) -> tuple[cst.SimpleStatementLine, str | None] | None:
    """The line that is only ``call`` or ``name = call``, and that name (None for a bare call)."""
    for node in rule.ctx.ancestors():
        if isinstance(node, cst.SimpleStatementLine):
            if len(node.body) != 1:
                return None
            statement = node.body[0]
            if isinstance(statement, cst.Expr) and statement.value is call:
                return node, None
            if (
                isinstance(statement, cst.Assign)
                and statement.value is call
                and len(statement.targets) == 1
                and isinstance(statement.targets[0].target, cst.Name)
            ):
                return node, statement.targets[0].target.value
            return None
    return None


def inplace(call: cst.Call) -> bool:
    return any(
        a.keyword is not None
        and a.keyword.value == "inplace"
        and isinstance(a.value, cst.Name)
        and a.value.value == "True"
        for a in call.args
    )
