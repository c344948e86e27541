"""Pieces of the export-pipeline fixes: example inputs, `torch.export` calls, `.pte` writes.

The rewritten pipeline must run as written, so every piece here produces plain code that
imports what it uses.
"""

from __future__ import annotations

import bisect

import libcst as cst

from rewrites.names import dotted, subtree
from rewrites.project import first_example
from rewrites.python_checker import PythonRule as Rule
from rewrites.rules._fixes import dotted_expression

# An undefined name: the rewritten script fails at once with a NameError that says what to do,
# and MIG113 keeps reporting it until someone gives real inputs.
PLACEHOLDER = "EXAMPLE_INPUTS_NEEDED_BY_TORCH_EXPORT"
_EXAMPLE_NAMES = (
    "example_inputs",
    "example_input",
    "example",
    "examples",
    "dummy_input",
    "dummy_inputs",
    "sample_input",
    "sample_inputs",
    "input_tensor",
    "inputs",
)
_NOT_TENSORS = ("torch.jit.", "torch.export.", "torch.nn.", "torch.utils.")
LOWERING_IMPORTS = [
    ("executorch.exir", "to_edge_transform_and_lower"),
    ("executorch.backends.xnnpack.partition.xnnpack_partitioner", "XnnpackPartitioner"),
]


# Calls whose result is (or becomes, once MIG503/MIG504 are fixed) a PT2E-converted graph:
# `.eval()` on those is not the nn.Module method, so export takes them as they are.
_QUANTIZED = ("convert", "convert_pt2e", "convert_fx", "quantize_dynamic")


def export_call(rule: Rule, model: cst.BaseExpression, args: cst.BaseExpression) -> cst.Call:
    """``torch.export.export(model.eval(), args)`` (without ``.eval()`` on a quantized graph)."""
    value = assigned_value(rule, model.value) if isinstance(model, cst.Name) else None
    quantized = (
        isinstance(value, cst.Call)
        and (rule.ctx.resolve(value.func) or dotted(value.func) or "").rsplit(".", 1)[-1] in _QUANTIZED
    )
    is_eval = (
        isinstance(model, cst.Call)
        and isinstance(model.func, cst.Attribute)
        and model.func.attr.value == "eval"
    )
    if not (quantized or is_eval):
        model = cst.Call(cst.Attribute(model, cst.Name("eval")))
    return cst.Call(dotted_expression("torch.export.export"), [cst.Arg(model), cst.Arg(args)])


def eager_model(rule: Rule, model: cst.BaseExpression) -> cst.BaseExpression:
    """The module whose methods an export calls: ``model``, or the float model a quantize call
    made it from (PT2E's converted graph has ``forward`` only)."""
    value = assigned_value(rule, model.value) if isinstance(model, cst.Name) else None
    if (
        isinstance(value, cst.Call)
        and (rule.ctx.resolve(value.func) or dotted(value.func) or "").rsplit(".", 1)[-1] in _QUANTIZED
        and value.args
        and isinstance(value.args[0].value, cst.Name)
    ):
        return value.args[0].value
    return model


def as_args(rule: Rule, example: cst.BaseExpression) -> cst.BaseExpression:
    """What ``torch.jit.trace`` took (a tensor or a tuple) as the tuple ``torch.export`` takes."""
    if isinstance(example, cst.Tuple):
        return example
    value = assigned_value(rule, example.value) if isinstance(example, cst.Name) else example
    if isinstance(value, cst.Tuple):
        return example
    if value is not None and is_tensor_expression(rule, value):
        return cst.Tuple([cst.Element(example)])
    tupled = cst.Tuple([cst.Element(example)])
    check = cst.Call(cst.Name("isinstance"), [cst.Arg(example), cst.Arg(cst.Name("tuple"))])
    return cst.IfExp(test=check, body=example, orelse=tupled)


def is_tensor_expression(rule: Rule, expr: cst.BaseExpression) -> bool:
    """``torch.rand(...)``, ``torch.zeros(...).to(device)`` and the like."""
    while (
        isinstance(expr, cst.Call)
        and isinstance(expr.func, cst.Attribute)
        and expr.func.attr.value
        in {
            "to",
            "cuda",
            "cpu",
            "float",
            "half",
            "contiguous",
            "unsqueeze",
        }
    ):
        expr = expr.func.value
    if not isinstance(expr, cst.Call):
        return False
    name = rule.ctx.resolve(expr.func) or ""
    return name.startswith("torch.") and not name.startswith(_NOT_TENSORS)


def _enclosing_blocks(rule: Rule, innermost_scope: bool = False) -> list[tuple[cst.CSTNode, int]]:
    """(block, index of the statement running now in it) for each block enclosing the current
    statement, from the module (or, with ``innermost_scope``, the innermost function) down."""
    stack = rule.ctx.stack
    start = 0
    if innermost_scope:
        functions = [i for i, node in enumerate(stack) if isinstance(node, cst.FunctionDef)]
        start = functions[-1] if functions else 0
    found: list[tuple[cst.CSTNode, int]] = []
    for depth, block in enumerate(stack[:-1]):
        if depth >= start and isinstance(block, (cst.Module, cst.IndentedBlock)):
            found.append((block, _BlockIndex.of(rule, block).position(stack[depth + 1])))
    return found


def plain_assignments(statement: cst.BaseStatement) -> list[tuple[str, cst.BaseExpression]]:
    """(name, value) of each ``name = value`` on a statement line, in order."""
    if not isinstance(statement, cst.SimpleStatementLine):
        return []
    return [
        (small.targets[0].target.value, small.value)
        for small in statement.body
        if isinstance(small, cst.Assign)
        and len(small.targets) == 1
        and isinstance(small.targets[0].target, cst.Name)
    ]


class _BlockIndex:
    """What :func:`assigned_value` and :func:`find_example_args` ask of one block, computed once
    per file: answering each finding by walking every earlier statement made ``apply`` quadratic
    in findings (1,000 findings of one rule in one file took 2 s, 3,000 took 14 s)."""

    def __init__(self, block: cst.Module | cst.IndentedBlock) -> None:
        self.body = block.body
        self.positions = {id(statement): i for i, statement in enumerate(self.body)}
        # name -> (indexes of the statements assigning it, ascending; the values they assign)
        self.assigned: dict[str, tuple[list[int], list[cst.BaseExpression]]] = {}
        for i, statement in enumerate(self.body):
            for name, value in plain_assignments(statement):
                indexes, values = self.assigned.setdefault(name, ([], []))
                if indexes and indexes[-1] == i:
                    values[-1] = value  # `a = 1; a = 2`: the last one counts
                else:
                    indexes.append(i)
                    values.append(value)
        # callee code -> (index of the first statement calling it, that call's arguments), for
        # the statements listed so far (listed as far as asked: most findings ask little)
        self.first_calls: dict[str, tuple[int, cst.Tuple]] = {}
        self.listed = 0

    @staticmethod
    def of(rule: Rule, block: cst.CSTNode) -> _BlockIndex:
        key = ("block-index", id(block))
        index = rule.ctx.memo.get(key)
        if index is None:
            assert isinstance(block, (cst.Module, cst.IndentedBlock))
            index = rule.ctx.memo[key] = _BlockIndex(block)
        return index

    def position(self, statement: cst.CSTNode) -> int:
        return self.positions.get(id(statement), len(self.body))

    def last_assigned(self, name: str, before: int) -> cst.BaseExpression | None:
        indexes, values = self.assigned.get(name, ((), ()))
        at = bisect.bisect_left(indexes, before)
        return values[at - 1] if at else None

    def first_call(self, callee: str, before: int) -> cst.Tuple | None:
        while self.listed < before:
            for func, args in _calls_in(self.body[self.listed]):
                self.first_calls.setdefault(func, (self.listed, args))
            self.listed += 1
        found = self.first_calls.get(callee)
        return found[1] if found is not None and found[0] < before else None


def assigned_value(rule: Rule, name: str) -> cst.BaseExpression | None:
    """The value last assigned to ``name`` by a plain assignment before the current statement
    (in the innermost enclosing block that has one: the inner ones run last)."""
    for block, before in reversed(_enclosing_blocks(rule)):
        value = _BlockIndex.of(rule, block).last_assigned(name, before)
        if value is not None:
            return value
    return None


def find_example_args(
    rule: Rule, model: cst.BaseExpression, *, project: bool = True
) -> cst.BaseExpression | None:
    """Example inputs already in scope for ``model``: the arguments of a call of it made before
    this statement, or a variable named like example inputs."""
    model_code = cst.Module([]).code_for_node(model)
    for block, before in _enclosing_blocks(rule, innermost_scope=True):
        args = _BlockIndex.of(rule, block).first_call(model_code, before)
        if args is not None:
            return args
    for name in _EXAMPLE_NAMES:
        if assigned_value(rule, name) is not None:
            return as_args(rule, cst.Name(name))
    return project_example_args(rule, model) if project else None


def project_example_args(rule: Rule, model: cst.BaseExpression) -> cst.BaseExpression | None:
    """``example_inputs()`` (or the like) from where the project keeps the model's inputs: this
    file, or the module that defines the model or the factory that makes it. The import it
    needs is listed by :func:`example_imports`. Before those, the example a ``torch.jit.trace``
    of a model made by the same factory was given elsewhere in the project."""
    maker = model_maker(rule, model)
    traced = rule.ctx.project.traced_example(maker.rsplit(".", 1)[-1]) if maker else None
    if traced is not None:
        try:
            return as_args(rule, cst.parse_expression(traced))
        except cst.ParserSyntaxError:
            pass
    module = defining_module(rule, model)
    found = _local_example(rule) if module is None else rule.ctx.project.example_for(module)
    if found is None and module is not None:
        found = _local_example(rule)
        module = None
    if found is None:
        return None
    name, is_function = found
    local = name if module is None else _import_name(rule, module, name)
    if local is None:
        return None
    expression: cst.BaseExpression = cst.Call(cst.Name(local)) if is_function else cst.Name(local)
    if module is not None and not rule.ctx.imports.is_bound(local):
        rule.ctx.memo.setdefault("example-imports", {})[cst.Module([]).code_for_node(expression)] = (
            module,
            name,
        )
    return expression if is_function else as_args(rule, expression)


def example_imports(rule: Rule, source: str) -> list[tuple[str, str | None]]:
    """The imports of project example inputs that ``source`` (fixed code) uses."""
    found: dict[str, tuple[str, str]] = rule.ctx.memo.get("example-imports", {})
    return [(module, name) for code, (module, name) in found.items() if code in source]


def _import_name(rule: Rule, module: str, name: str) -> str | None:
    """What the file calls ``module.name``: its own import of it, or ``name`` when free."""
    if rule.ctx.resolve(cst.Name(name)) == f"{module}.{name}":
        return name
    return None if rule.ctx.imports.is_bound(name) else name


def defining_module(rule: Rule, model: cst.BaseExpression) -> str | None:
    """The module of the factory or class that made ``model``, as the file imports it."""
    maker = model_maker(rule, model)
    return maker.rsplit(".", 1)[0] if maker is not None and "." in maker else None


def model_maker(rule: Rule, model: cst.BaseExpression) -> str | None:
    """The factory or class that made ``model`` (through ``.eval()``, quantize calls and plain
    assignments): its qualified name when imported, its own name when defined in this file."""
    seen: set[str] = set()
    expr: cst.BaseExpression | None = model
    while expr is not None:
        if isinstance(expr, cst.Name):
            if expr.value in seen:
                return None
            seen.add(expr.value)
            expr = assigned_value(rule, expr.value)
        elif isinstance(expr, cst.Call):
            name = rule.ctx.resolve(expr.func)
            if name is not None and not name.startswith("torch.") and "." in name:
                return name
            if isinstance(expr.func, cst.Name) and name is None and not expr.args:
                return expr.func.value  # a factory or class defined in this file
            if isinstance(expr.func, cst.Attribute) and name is None:
                expr = expr.func.value  # make_model().eval(), model.to(device)
            elif expr.args and expr.args[0].keyword is None:
                expr = expr.args[0].value  # quantize_dynamic(model, ...)
            else:
                return None
        else:
            return None
    return None


def _local_example(rule: Rule) -> tuple[str, bool] | None:
    """An example-inputs function (no parameters) or value defined at this file's top level."""
    if "local-example" not in rule.ctx.memo:
        rule.ctx.memo["local-example"] = _top_level_example(rule.ctx.stack[0])
    found: tuple[str, bool] | None = rule.ctx.memo["local-example"]
    return found


def _top_level_example(module: cst.CSTNode) -> tuple[str, bool] | None:
    assert isinstance(module, cst.Module)
    functions, values = set(), set()
    for statement in module.body:
        if isinstance(statement, cst.FunctionDef) and not statement.params.params:
            functions.add(statement.name.value)
        elif isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, cst.Assign):
                    values |= {t.target.value for t in small.targets if isinstance(t.target, cst.Name)}
    return first_example(functions, values)


def _calls_in(scope: cst.CSTNode) -> list[tuple[str, cst.Tuple]]:
    """The calls with positional arguments only in ``scope``, in order: (callee code, args)."""
    empty = cst.Module([])
    return [
        (empty.code_for_node(node.func), cst.Tuple([cst.Element(a.value) for a in node.args]))
        for node in subtree(scope)
        if isinstance(node, cst.Call)
        and node.args
        and all(a.keyword is None and not a.star for a in node.args)
    ]


def pte_path(path: cst.BaseExpression) -> tuple[cst.BaseExpression, list[tuple[str, str | None]]]:
    """The same path with ``.pte`` for its suffix, and the imports that needs."""
    if isinstance(path, cst.SimpleString) and path.prefix.lower() in ("", "r", "u"):
        value = path.evaluated_value
        if isinstance(value, str):
            stem = value.rsplit(".", 1)[0] if value.rsplit("/", 1)[-1].count(".") else value
            quote = path.quote
            return cst.SimpleString(f"{path.prefix}{quote}{stem}.pte{quote}"), []
    is_str = isinstance(path, cst.Call) and isinstance(path.func, cst.Name) and path.func.value == "str"
    text = cst.parse_expression(
        "os.path.splitext(_)[0] + '.pte'" if is_str else "os.path.splitext(str(_))[0] + '.pte'"
    )
    replaced = text.deep_replace(_placeholder(text), path)
    assert isinstance(replaced, cst.BaseExpression)
    return replaced, [("os", None)]


def _placeholder(expression: cst.CSTNode) -> cst.CSTNode:
    return next(n for n in subtree(expression) if isinstance(n, cst.Name) and n.value == "_")


def write_pte(
    program: cst.BaseExpression,
    path: cst.BaseExpression,
    extra_files: cst.BaseExpression | None = None,
    *,
    renamed: bool = False,
) -> tuple[cst.Call, list[tuple[str, str | None]]]:
    """``pathlib.Path(<path>.pte).write_bytes(to_edge_transform_and_lower(program, ...).to_executorch().buffer)``.

    ``extra_files`` (what ``_extra_files=`` gave a TorchScript save) become the program's
    ``constant_methods``: the metadata stays inside the one file the app ships. ``renamed``:
    ``path`` already ends in ``.pte`` (the fix renames it where it is made) and is kept as it is.
    """
    lowered = cst.parse_expression(
        "to_edge_transform_and_lower(_, partitioner=[XnnpackPartitioner()]).to_executorch().buffer"
        if extra_files is None
        else "to_edge_transform_and_lower(_, partitioner=[XnnpackPartitioner()], constant_methods=__).to_executorch().buffer"
    )
    if extra_files is not None:
        extra = next(n for n in subtree(lowered) if isinstance(n, cst.Name) and n.value == "__")
        lowered = lowered.deep_replace(extra, extra_files)
    lowered = lowered.deep_replace(_placeholder(lowered), program)
    target, imports = (path, []) if renamed else pte_path(path)
    call = cst.Call(
        cst.Attribute(
            cst.Call(dotted_expression("pathlib.Path"), [cst.Arg(target)]), cst.Name("write_bytes")
        ),
        [cst.Arg(lowered)],
    )
    return call, [("pathlib", None), *LOWERING_IMPORTS, *imports]
