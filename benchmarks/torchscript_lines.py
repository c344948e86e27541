"""An independent count of TorchScript / PyTorch Mobile use-lines, for `make bench`'s recall.

It shares no code with the tool: CPython's ``ast``, a plain import map, and a list of the
TorchScript and PyTorch Mobile API written out here. A use-line is a line where a name resolving
into that API appears (``torch.jit.*``, ``torch._C._jit_*``, ``torch.ScriptModule``, the mobile
optimizer, bundled inputs, the lite interpreter, JIT-mode quantization), a lite-interpreter
method is called on any object, or a class body sets ``__constants__``.
"""

from __future__ import annotations

import ast
from pathlib import Path

PREFIXES = (
    "torch.jit.",
    "torch._C._jit_",
    "torch.utils.mobile_optimizer.",
    "torch.utils.bundled_inputs.",
    "torch.ao.quantization.quantize_jit.",
    "torch.quantization.quantize_jit.",
)
EXACT = {
    "torch.jit",
    "torch.ScriptModule",
    "torch.ScriptFunction",
    "torch._C.ScriptModule",
    "torch._C.ScriptFunction",
    *(
        f"{package}.{name}"
        for package in ("torch.quantization", "torch.ao.quantization")
        for name in (
            "quantize_jit",
            "quantize_dynamic_jit",
            "prepare_jit",
            "prepare_dynamic_jit",
            "convert_jit",
            "convert_dynamic_jit",
            "fuse_conv_bn_jit",
        )
    ),
}
METHODS = {"_save_for_lite_interpreter", "_save_to_buffer_for_lite_interpreter", "_load_for_lite_interpreter"}


def _dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(parts)])


def _is_api(name: str) -> bool:
    return name in EXACT or name.startswith(PREFIXES)


def use_lines(source: str) -> set[int]:
    """The 1-based lines of ``source`` that use TorchScript or PyTorch Mobile."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()
    bound: dict[str, str] = {"torch": "torch"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    bound[alias.asname] = alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                if alias.name != "*":
                    bound[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        if isinstance(node, ast.Attribute) and node.attr in METHODS:
            lines.add(node.lineno)
        if isinstance(node, (ast.Name, ast.Attribute)):
            name = _dotted(node)
            if name is None:
                continue
            head, _, rest = name.partition(".")
            if head in bound:
                full = bound[head] + ("." + rest if rest else "")
                if _is_api(full):
                    lines.add(node.lineno)
        elif isinstance(node, ast.ClassDef):
            for statement in node.body:
                if isinstance(statement, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == "__constants__" for t in statement.targets
                ):
                    lines.add(statement.lineno)
    return lines


def count_tree(root: Path) -> dict[str, set[int]]:
    """Use-lines per Python file under ``root``, by path relative to it (files with any)."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        try:
            lines = use_lines(path.read_text(encoding="utf-8", errors="replace"))
        except OSError:
            continue
        if lines:
            found[path.relative_to(root).as_posix()] = lines
    return found
