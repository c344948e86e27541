"""A TorchScript value and every use of it in one function: the unit the export fixes rewrite.

``ts = torch.jit.trace(model, im)`` makes a value that later lines save
(``ts.save(f)``, ``optimize_for_mobile(ts)._save_for_lite_interpreter(f)``,
``torch.jit.save(ts, f)``). Rewriting the trace alone leaves those lines calling methods an
``ExportedProgram`` lacks, so the fix is one edit over the whole chain: the value becomes an
``ExportedProgram``, wrappers (``optimize_for_mobile``, ``freeze``) are dropped, every save
lowers it and writes a ``.pte``, calls of it call ``.module()``. A use the fix cannot follow
(returned, passed to an unknown function, a second assignment) means no edit at all; a use by a
tool for another runtime or a graph view (``coremltools.convert``, ``add_graph``) means the
value is not PyTorch Mobile's to migrate, and it is left alone (MIG114 says so).

The engine re-checks every applied fix with :func:`scope_summaries` / :func:`breaks_chains`:
a name that held TorchScript before a fix, no longer does after it, and is still used as
TorchScript, or a TorchScript value newly handed to ExecuTorch's lowering, refuses the fix.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace

import libcst as cst

from rewrites.model import FixSafety
from rewrites.names import subtree
from rewrites.python_checker import Edit, FileContext, PythonRule, Replacement
from rewrites.rules._export import write_pte
from rewrites.rules._fixes import dotted_expression

# Calls whose result is a TorchScript module.
WRAPPERS = frozenset(
    {
        "torch.jit.freeze",
        "torch.jit.optimize_for_inference",
        "torch.utils.mobile_optimizer.optimize_for_mobile",
    }
)
PRODUCERS = WRAPPERS | {"torch.jit.script", "torch.jit.trace", "torch.jit.trace_module", "torch.jit.load"}
SAVE_METHODS = frozenset({"save", "_save_for_lite_interpreter"})
# ScriptModule members that are no model method: a chain using them is refused.
_TORCHSCRIPT_ONLY = frozenset(
    {
        "graph",
        "code",
        "inlined_graph",
        "code_with_constants",
        "save_to_buffer",
        "forward",
        "to",
        "eval",
        "cpu",
        "cuda",
        "float",
        "half",
        "state_dict",
        "parameters",
        "named_parameters",
        "buffers",
        "modules",
        "children",
        "named_modules",
        "train",
        "requires_grad_",
        "copy",
        "extra_repr",
    }
)
_TORCHSCRIPT_METHODS = SAVE_METHODS | {"_save_to_buffer_for_lite_interpreter", "save_to_buffer"}
_LOWERING = frozenset(
    {
        "executorch.exir.to_edge_transform_and_lower",
        "executorch.exir.to_edge",
        "executorch.exir.program.to_edge_transform_and_lower",
        "executorch.exir.program.to_edge",
        "torch.export.save",
    }
)

# Tools that take TorchScript for something other than PyTorch Mobile: qualified name (or a
# package prefix ending in ".") -> what to call it in the message. MIG114's docs list them.
FOREIGN_FUNCTIONS: dict[str, str] = {
    "coremltools.": "Core ML's converter",
    "torch.onnx.": "the ONNX exporter",
    "tvm.relay.frontend.from_pytorch": "TVM's PyTorch frontend",
    "torch_tensorrt.": "Torch-TensorRT",
    "openvino.": "OpenVINO's converter",
    "hiddenlayer.": "a graph visualiser (hiddenlayer)",
    "torch.utils.tensorboard.": "TensorBoard's graph view",
    "tensorboardX.": "TensorBoard's graph view",
    "thop.": "a profiler (thop)",
}
FOREIGN_METHODS: dict[str, str] = {"add_graph": "a dashboard's graph view (`add_graph`)"}
PROFILERS: dict[str, str] = {
    "torch.profiler.profile": "the profiler",
    "torch.profiler.record_function": "the profiler",
    "torch.autograd.profiler.profile": "the profiler",
    "torch.autograd.profiler.record_function": "the profiler",
    "torch.autograd.profiler.emit_nvtx": "the profiler",
}


def foreign_label(ctx: FileContext, call: cst.Call, arg: cst.Arg | None) -> str | None:
    """What ``call`` is when it is a known tool for another runtime or a graph view."""
    name = ctx.resolve(call.func)
    if name is not None:
        for known, label in FOREIGN_FUNCTIONS.items():
            if name == known or (known.endswith(".") and name.startswith(known)):
                return label
    func = call.func
    if isinstance(func, cst.Attribute) and func.attr.value in FOREIGN_METHODS:
        if arg is None or (call.args and call.args[0] is arg):
            return FOREIGN_METHODS[func.attr.value]
    return None


def _code(node: cst.CSTNode) -> str:
    return " ".join(cst.Module([]).code_for_node(node).split())


# --- the shape of a scope: parents, source order, bindings ------------------------------------


@dataclass
class _Scope:
    node: cst.CSTNode
    parent: dict[int, cst.CSTNode] = field(default_factory=dict)
    order: dict[int, int] = field(default_factory=dict)
    end: dict[int, int] = field(default_factory=dict)
    names: dict[str, list[cst.Name]] = field(default_factory=dict)


def _scope(ctx: FileContext, node: cst.CSTNode) -> _Scope:
    key = ("chains-scope", id(node))
    found = ctx.memo.get(key)
    if found is None:
        found = ctx.memo[key] = _build_scope(node)
    return found


def _build_scope(root: cst.CSTNode) -> _Scope:
    scope = _Scope(root)
    counter = 0
    stack: list[tuple[cst.CSTNode, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            scope.end[id(node)] = counter
            continue
        counter += 1
        scope.order[id(node)] = counter
        if isinstance(node, cst.Name):
            scope.names.setdefault(node.value, []).append(node)
        stack.append((node, True))
        for child in reversed(node.children):
            scope.parent[id(child)] = node
            stack.append((child, False))
    return scope


def enclosing_scopes(ctx: FileContext) -> list[cst.CSTNode]:
    """The function definitions around the node being visited, innermost first, then the module."""
    scopes: list[cst.CSTNode] = [n for n in ctx.ancestors() if isinstance(n, cst.FunctionDef)]
    return [*scopes, ctx.stack[0]]


def _is_reference(scope: _Scope, name: cst.Name) -> bool:
    parent = scope.parent.get(id(name))
    if isinstance(parent, cst.Attribute):
        return parent.value is name
    if isinstance(parent, cst.Arg):
        return parent.keyword is not name
    if isinstance(parent, (cst.FunctionDef, cst.ClassDef, cst.ImportAlias)):
        return False
    return not isinstance(parent, cst.Param)


def _is_binding(scope: _Scope, name: cst.Name) -> bool:
    node: cst.CSTNode = name
    parent = scope.parent.get(id(node))
    while isinstance(parent, (cst.Element, cst.StarredElement, cst.Tuple, cst.List)):
        node, parent = parent, scope.parent.get(id(parent))
    if isinstance(
        parent, (cst.AssignTarget, cst.For, cst.CompFor, cst.NamedExpr, cst.AugAssign, cst.AnnAssign)
    ):
        return getattr(parent, "target", None) is node
    return isinstance(parent, (cst.AsName, cst.Del, cst.NameItem, cst.Param, cst.FunctionDef, cst.ClassDef))


def _own_statements(scope_node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """Every node of a scope outside nested functions, classes and lambdas."""
    stack = list(reversed(scope_node.children))
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            stack.extend(reversed(node.children))


def is_torchscript(
    ctx: FileContext, expr: cst.BaseExpression | None, held: frozenset[str] | set[str]
) -> bool:
    """``expr`` is a TorchScript module: a producer's result or a name that holds one."""
    if isinstance(expr, cst.Call):
        return ctx.resolve(expr.func) in PRODUCERS
    if isinstance(expr, cst.Name):
        return expr.value in held
    if isinstance(expr, cst.IfExp):
        return is_torchscript(ctx, expr.body, held) or is_torchscript(ctx, expr.orelse, held)
    return False


def held_names(ctx: FileContext, scope_node: cst.CSTNode) -> frozenset[str]:
    """Names a scope assigns TorchScript to (directly, through wrappers, or by aliasing)."""
    key = ("chains-held", id(scope_node))
    if key in ctx.memo:
        return ctx.memo[key]
    assigns = [
        (target.target.value, node.value)
        for node in _own_statements(scope_node)
        if isinstance(node, cst.Assign)
        for target in node.targets
        if isinstance(target.target, cst.Name)
    ] + [
        (node.target.value, node.value)
        for node in _own_statements(scope_node)
        if isinstance(node, cst.AnnAssign) and isinstance(node.target, cst.Name) and node.value is not None
    ]
    held: set[str] = set()
    while True:
        more = {name for name, value in assigns if name not in held and is_torchscript(ctx, value, held)}
        if not more:
            break
        held |= more
    ctx.memo[key] = frozenset(held)
    return frozenset(held)


def holds_torchscript(ctx: FileContext, expr: cst.BaseExpression) -> bool:
    """``expr`` is TorchScript as far as the scopes around the current node show."""
    if isinstance(expr, cst.Name):
        return any(expr.value in held_names(ctx, s) for s in enclosing_scopes(ctx))
    return is_torchscript(ctx, expr, frozenset())


# --- following a value to every use -----------------------------------------------------------


@dataclass(frozen=True)
class _Use:
    kind: str  # "save", "assign", "drop" (a line), "call", "method", "keep" (printed)
    value: cst.BaseExpression  # the original expression holding the value (a root or a Name)
    outer: cst.BaseExpression  # ``value`` with the wrappers around it
    target: cst.CSTNode  # what the edit replaces
    path: cst.BaseExpression | None = None
    extra: cst.BaseExpression | None = None
    call: cst.Call | None = None  # a method use: the call of the method
    line: cst.SimpleStatementLine | None = None  # a save alone on its line
    block: cst.CSTNode | None = None  # the block holding ``line``
    mentions: tuple[cst.CSTNode, ...] = ()  # the saved path in prints and logs after the save
    suffix: cst.SimpleString | None = None  # `".pt"` in the `f = file.with_suffix(".pt")` it saves to


@dataclass(frozen=True)
class Chain:
    """Where a TorchScript value goes: uses the fix rewrites, or why it rewrites none."""

    root: cst.BaseExpression | None = None
    uses: tuple[_Use, ...] = ()
    dropped: tuple[cst.CSTNode, ...] = ()  # references the rewrite removes (wrappers, jit.save)
    foreign: str | None = None  # the tool for another runtime it feeds
    refused: str | None = None  # why the fix cannot follow it
    root_line: cst.CSTNode | None = None  # `name = producer(...)` alone on a line that may go
    early_calls: tuple[cst.Call, ...] = ()  # calls of the value before its first save
    root_target: cst.Name | None = None  # the name the value is first assigned to
    scope_names: frozenset[str] = frozenset()  # every name the function uses


class _Refused(Exception):
    pass


class _Foreign(Exception):
    pass


@dataclass(frozen=True)
class Place:
    """Where a producer call sits, taken while it is visited (the rest waits for the file's end)."""

    scope: cst.CSTNode
    profiler: str | None


def locate(ctx: FileContext) -> Place:
    """The function around the node being visited, and the profiler it runs under, if any."""
    for with_node in (n for n in ctx.ancestors() if isinstance(n, cst.With)):
        for item in with_node.items:
            if isinstance(item.item, cst.Call):
                name = ctx.resolve(item.item.func)
                if name in PROFILERS:
                    return Place(enclosing_scopes(ctx)[0], PROFILERS[name])
    return Place(enclosing_scopes(ctx)[0], None)


class ChainRule(PythonRule):
    """A rule whose fix rewrites a whole chain. It follows the chain once the whole file has
    been visited (``later``), because names a use needs may be imported after the producer:
    yolov5 imports ``optimize_for_mobile`` inside the branch that calls it."""

    def __init__(self, ctx: FileContext) -> None:
        super().__init__(ctx)
        self._later: list[Callable[[], None]] = []

    def later(self, step: Callable[[], None]) -> None:
        self._later.append(step)

    def leave_Module(self, original_node: cst.Module) -> None:
        for step in self._later:
            step()


def follow(ctx: FileContext, root: cst.Call, place: Place) -> Chain:
    """Every use of what ``root`` (a producer call) returns, in its function."""
    key = ("chains-chain", id(root))
    if key not in ctx.memo:
        ctx.memo[key] = _follow(ctx, root, place)
    return ctx.memo[key]


def _follow(ctx: FileContext, root: cst.Call, place: Place) -> Chain:
    if place.profiler is not None:
        return Chain(foreign=place.profiler)
    follower = _Follower(ctx, _scope(ctx, place.scope))
    try:
        follower.value(root)
    except _Foreign as exc:
        return Chain(foreign=str(exc))
    except _Refused as exc:
        return Chain(refused=str(exc))
    order = follower.scope.order
    first_save = min((order[id(u.target)] for u in follower.uses if u.kind == "save"), default=None)
    for use in follower.uses:
        if use.kind == "method" and first_save is not None and order[id(use.target)] > first_save:
            return Chain(
                refused=f"`{_code(use.target)}` is called after the save, so its example inputs come too late"
            )
    follower.uses = [
        replace(_with_line(follower, u), suffix=path_suffix(follower.scope, u.path, u.target))
        if u.kind == "save"
        else u
        for u in follower.uses
    ]
    root_line = None
    assign = follower.parent(root)
    line = follower.parent(assign) if assign is not None else None
    if isinstance(assign, cst.Assign) and _removable(line, follower.parent(line) if line else None):
        root_line = line
    early = tuple(
        u.call
        for u in follower.uses
        if u.kind == "call"
        and u.call is not None
        and (first_save is None or order[id(u.target)] < first_save)
    )
    root_target = None
    for index, use in enumerate(follower.uses):
        if use.kind != "assign":
            continue
        statement = follower.parent(use.outer)
        if not (isinstance(statement, cst.Assign) and isinstance(statement.targets[0].target, cst.Name)):
            continue
        if use.value is root:
            root_target = statement.targets[0].target
        else:  # an alias (`optimized = optimize_for_mobile(scripted)`): its line may go
            line = follower.parent(statement)
            if _removable(line, follower.parent(line) if line is not None else None):
                assert isinstance(line, cst.SimpleStatementLine)
                follower.uses[index] = replace(use, line=line)
    return Chain(
        root,
        tuple(follower.uses),
        tuple(follower.dropped),
        root_line=root_line,
        early_calls=early,
        root_target=root_target,
        scope_names=frozenset(follower.scope.names),
    )


_LOG_METHODS = frozenset({"debug", "info", "warning", "warn", "error", "critical", "exception", "log"})


def _with_line(follower: _Follower, use: _Use) -> _Use:
    """A save with the line it is alone on, and the prints and logs after it naming its path."""
    expr = follower.parent(use.target)
    line = follower.parent(expr) if isinstance(expr, cst.Expr) else None
    if not (isinstance(line, cst.SimpleStatementLine) and len(line.body) == 1):
        return use
    path = use.path
    head = path.value if isinstance(path, cst.Name) else None
    if isinstance(path, cst.Attribute) and isinstance(path.value, cst.Name):
        head = path.value.value
    mentions: list[cst.CSTNode] = []
    scope = follower.scope
    after = scope.end[id(line)]
    path_code = _code(path) if path is not None else None
    for name in scope.names.get(head or "", ()):
        if scope.order[id(name)] <= after:
            continue
        node: cst.CSTNode = name
        parent = follower.parent(node)
        if isinstance(parent, cst.Attribute) and parent.value is node:
            node = parent
        if _code(node) != path_code or not _in_print(follower, node):
            continue
        mentions.append(node)
    return replace(use, line=line, block=follower.parent(line), mentions=tuple(mentions))


# what a model file's name ends in before the fix, and after it (a second save of the same `f`)
_MODEL_SUFFIXES = frozenset({".pt", ".ptl", ".pth", ".torchscript", ".jit", ".pte"})


def path_suffix(scope: _Scope, path: cst.BaseExpression | None, save: cst.CSTNode) -> cst.SimpleString | None:
    """The suffix literal of ``f = file.with_suffix(".torchscript")`` when ``save`` writes to
    ``f`` (or ``str(f)``) and that is the one binding of ``f`` in ``scope``, before the save.
    The fix makes it ``".pte"`` (:func:`pte_suffix`) and writes to ``f``: what the function then
    returns, logs or uploads as ``f`` is the file it writes (yolov5's export returned the old
    name of a file it no longer wrote)."""
    if (
        isinstance(path, cst.Call)
        and isinstance(path.func, cst.Name)
        and path.func.value == "str"
        and len(path.args) == 1
        and path.args[0].keyword is None
        and not path.args[0].star
    ):
        path = path.args[0].value
    if not isinstance(path, cst.Name):
        return None
    bindings = [n for n in scope.names.get(path.value, ()) if _is_binding(scope, n)]
    if len(bindings) != 1 or scope.order[id(bindings[0])] > scope.order[id(save)]:
        return None
    target = scope.parent.get(id(bindings[0]))
    assign = scope.parent.get(id(target)) if isinstance(target, cst.AssignTarget) else None
    if not isinstance(assign, cst.Assign) or len(assign.targets) != 1:
        return None
    value = assign.value
    if not (
        isinstance(value, cst.Call)
        and isinstance(value.func, cst.Attribute)
        and value.func.attr.value == "with_suffix"
        and len(value.args) == 1
        and value.args[0].keyword is None
        and isinstance(value.args[0].value, cst.SimpleString)
    ):
        return None
    literal = value.args[0].value
    return literal if literal.evaluated_value in _MODEL_SUFFIXES else None


def pte_suffix(literal: cst.SimpleString, changes: dict[cst.CSTNode, Replacement]) -> None:
    """Adds to ``changes`` the rename of a :func:`path_suffix` literal to ``".pte"``."""
    if literal.evaluated_value != ".pte":
        changes[literal] = literal.with_changes(value=f"{literal.prefix}{literal.quote}.pte{literal.quote}")


def _in_print(follower: _Follower, node: cst.CSTNode) -> bool:
    for ancestor in follower._ancestors(node):
        if isinstance(ancestor, cst.Call):
            func = ancestor.func
            if isinstance(func, cst.Name) and func.value == "print":
                return True
            if isinstance(func, cst.Attribute) and func.attr.value in _LOG_METHODS:
                return True
        if isinstance(ancestor, (cst.BaseSmallStatement, cst.BaseCompoundStatement)):
            return False
    return False


class _Follower:
    def __init__(self, ctx: FileContext, scope: _Scope) -> None:
        self.ctx = ctx
        self.scope = scope
        self.uses: list[_Use] = []
        self.dropped: list[cst.CSTNode] = []
        self.seen: set[str] = set()

    def parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        return self.scope.parent.get(id(node))

    def value(self, value: cst.BaseExpression) -> None:
        outer = value
        while True:  # wrappers keep the value: optimize_for_mobile(freeze(value))
            arg = self.parent(outer)
            call = self.parent(arg) if arg is not None else None
            if not (
                isinstance(arg, cst.Arg)
                and isinstance(call, cst.Call)
                and call.args
                and call.args[0] is arg
                and arg.keyword is None
                and self.ctx.resolve(call.func) in WRAPPERS
            ):
                break
            if len(call.args) > 1:
                raise _Refused(f"`{_code(call.func)}` is given options the fix would drop")
            self.dropped.append(call.func)
            outer = call
        parent = self.parent(outer)
        grandparent = self.parent(parent) if parent is not None else None
        if isinstance(parent, cst.Attribute) and parent.value is outer:
            if isinstance(grandparent, cst.Call) and grandparent.func is parent:
                if parent.attr.value in SAVE_METHODS:
                    path, extra = _save_arguments(grandparent.args, 0)
                    self.uses.append(_Use("save", value, outer, grandparent, path, extra))
                    return
                if (
                    outer is value
                    and isinstance(value, cst.Name)
                    and not parent.attr.value.startswith("_")
                    and parent.attr.value not in _TORCHSCRIPT_ONLY
                    and all(a.keyword is None and not a.star for a in grandparent.args)
                ):
                    # `scripted.step(frame, state)`: a method the app calls too
                    self.uses.append(_Use("method", value, outer, parent, call=grandparent))
                    return
            raise _Refused(f"`{_code(parent)}` is TorchScript's, and an `ExportedProgram` has no such member")
        if isinstance(parent, cst.Arg) and isinstance(grandparent, cst.Call):
            label = foreign_label(self.ctx, grandparent, parent)
            if label is not None:
                raise _Foreign(label)
            if self.ctx.is_builtin(grandparent.func, "print") and parent.keyword is None:
                # `print(scripted)`: an ExportedProgram prints its graph just as well
                self.uses.append(_Use("keep", value, outer, outer))
                return
            if (
                self.ctx.resolve(grandparent.func) == "torch.jit.save"
                and grandparent.args[0] is parent
                and parent.keyword is None
            ):
                path, extra = _save_arguments(grandparent.args, 1)
                self.dropped.append(grandparent.func)
                self.uses.append(_Use("save", value, outer, grandparent, path, extra))
                return
        if isinstance(parent, (cst.Assign, cst.AnnAssign)) and parent.value is outer:
            targets = (
                [t.target for t in parent.targets] if isinstance(parent, cst.Assign) else [parent.target]
            )
            if len(targets) == 1 and isinstance(targets[0], cst.Name):
                if isinstance(value, cst.Name) and value.value == targets[0].value:
                    # `ts = optimize_for_mobile(ts)` goes on as `ts`: the line goes
                    line = self.parent(parent)
                    if _removable(line, self.parent(line) if line is not None else None):
                        assert line is not None
                        self.uses.append(_Use("drop", value, outer, line))
                    else:
                        self.uses.append(_Use("assign", value, outer, outer))
                    return
                self.uses.append(_Use("assign", value, outer, outer))
                self.name(targets[0], parent)
                return
        if (
            isinstance(parent, cst.Call)
            and parent.func is outer
            and outer is value
            and isinstance(value, cst.Name)
        ):
            self.uses.append(_Use("call", value, outer, value, call=parent))
            return
        statement = next(
            (
                n
                for n in self._ancestors(outer)
                if isinstance(n, (cst.BaseSmallStatement, cst.BaseCompoundStatement))
            ),
            outer,
        )
        raise _Refused(f"it goes on to `{_code(statement)[:80]}`, which the fix cannot follow")

    def _ancestors(self, node: cst.CSTNode) -> Iterator[cst.CSTNode]:
        current = self.parent(node)
        while current is not None:
            yield current
            current = self.parent(current)

    def name(self, target: cst.Name, statement: cst.CSTNode) -> None:
        """Follow every use of ``target`` after ``statement`` assigned it."""
        name = target.value
        if name in self.seen:
            raise _Refused(f"`{name}` is assigned TorchScript more than once")
        self.seen.add(name)
        after = self.scope.end[id(statement)]
        for node in self.scope.names.get(name, ()):
            if node is target or not _is_reference(self.scope, node):
                continue
            if self.scope.order[id(node)] <= after:
                if _is_binding(self.scope, node) and self._binds_torchscript(node):
                    raise _Refused(f"`{name}` is assigned TorchScript more than once")
                continue  # the value the name held before
            if _is_binding(self.scope, node):
                if self._rewraps(node):
                    continue
                raise _Refused(f"`{name}` is assigned again")
            self.value(node)

    def _rewraps(self, target: cst.Name) -> bool:
        """``ts = optimize_for_mobile(ts)``: the name keeps the value, through a wrapper."""
        statement = self.parent(self.parent(target) or target)
        if not (isinstance(statement, cst.Assign) and len(statement.targets) == 1):
            return False
        value = statement.value
        while isinstance(value, cst.Call) and value.args and self.ctx.resolve(value.func) in WRAPPERS:
            value = value.args[0].value
        return isinstance(value, cst.Name) and value.value == target.value

    def _binds_torchscript(self, target: cst.Name) -> bool:
        statement = self.parent(self.parent(target) or target)
        value = getattr(statement, "value", None)
        return isinstance(statement, cst.Assign) and is_torchscript(
            self.ctx, value, held_names(self.ctx, self.scope.node)
        )


def _removable(line: cst.CSTNode | None, block: cst.CSTNode | None) -> bool:
    """A one-statement line without comments, in a block that keeps another statement."""
    return (
        isinstance(line, cst.SimpleStatementLine)
        and len(line.body) == 1
        and line.trailing_whitespace.comment is None
        and all(empty.comment is None for empty in line.leading_lines)
        and isinstance(block, (cst.IndentedBlock, cst.Module))
        and len(block.body) > 1
    )


def _save_arguments(
    args: Sequence[cst.Arg], skip: int
) -> tuple[cst.BaseExpression, cst.BaseExpression | None]:
    """The path and ``_extra_files`` of a save call (``skip`` leading positional arguments)."""
    found = save_arguments(args, skip)
    if found is None:
        raise _Refused("the save call has arguments the fix does not know")
    return found


def save_arguments(
    args: Sequence[cst.Arg], skip: int
) -> tuple[cst.BaseExpression, cst.BaseExpression | None] | None:
    """``(path, extra_files)`` of ``save(path, _extra_files=...)`` or ``torch.jit.save(m, path,
    extra)``, or None when the call passes anything else."""
    positional = [a.value for a in args if a.keyword is None and not a.star]
    keywords = {a.keyword.value: a.value for a in args if a.keyword is not None}
    if any(a.star for a in args) or set(keywords) - {"f", "_extra_files"}:
        return None
    rest = positional[skip:]
    path = rest[0] if rest else keywords.get("f")
    extra = rest[1] if len(rest) > 1 else keywords.get("_extra_files")
    if path is None or len(rest) > 2 or (len(rest) > 1 and "_extra_files" in keywords):
        return None
    return path, extra


def chain_edit(
    rule: PythonRule,
    chain: Chain,
    new_value: cst.BaseExpression,
    reference: cst.CSTNode,
    imports: Sequence[tuple[str, str | None]] = (),
    model: cst.BaseExpression | None = None,
) -> Edit | None:
    """The one edit that turns the whole chain into an exported, lowered, saved program:
    ``new_value`` replaces what made the value (and the wrappers around it).

    Methods the chain calls (``scripted.step(frame, state)``) are called on the eager ``model``
    instead, and each save writes them into the same ``.pte``: a program per method, exported
    with the arguments of its call, or a constant method when the call passes only constants.
    """
    if chain.foreign is not None or chain.refused is not None:
        return None
    changes: dict[cst.CSTNode, Replacement] = {}
    needed = list(imports)
    resolves: list[cst.CSTNode] = []
    methods = _method_programs(rule, chain, model)
    if methods is None:
        return None
    programs, constants, helper = methods
    if helper is not None:
        changes[helper[0]] = helper[1]
    written: set[tuple[cst.CSTNode | None, str]] = set()
    names = chain.scope_names
    late = _late_export(chain, new_value, model)
    if late is not None:
        assert chain.root_line is not None and model is not None
        changes[chain.root_line] = cst.RemovalSentinel.REMOVE
    # one name for the program, saying what it holds: aliases go, `scripted` becomes `exported`
    name = None
    if late is None and chain.root_target is not None and not isinstance(new_value, cst.Name):
        name = chain.root_target.value
        if _TORCHSCRIPT_NAME.search(name) and "exported" not in names:
            name = "exported"
            changes[chain.root_target] = cst.Name(name)
    for use in chain.uses:
        value = new_value if use.value is chain.root else use.value
        if name is not None and use.value is not chain.root and isinstance(use.value, cst.Name):
            value = cst.Name(name)
        if name is not None and use.kind == "assign" and use.value is not chain.root:
            if use.line is not None:
                changes[use.line] = cst.RemovalSentinel.REMOVE
            else:
                changes[use.outer] = value
            resolves += [n for n in subtree(use.outer) if n is not use.value]
            continue
        if late is not None and use.kind == "save":
            value = late
        elif late is not None and use.kind == "assign" and use.value is chain.root:
            continue
        elif late is not None and use.kind in ("call", "keep"):
            assert model is not None
            changes[use.target] = model
            continue
        if use.kind == "keep":
            if isinstance(value, cst.Name) and value is not use.value:
                changes[use.target] = value
            continue
        if use.kind == "save":
            assert use.path is not None
            extra = use.extra
            if programs:
                value = cst.Dict(
                    [cst.DictElement(cst.SimpleString('"forward"'), value)]
                    + [cst.DictElement(cst.SimpleString(f'"{n}"'), p) for n, p in programs]
                )
            if constants:
                elements = [cst.DictElement(cst.SimpleString(f'"{n}"'), c) for n, c in constants]
                extra = cst.Dict(elements if extra is None else [cst.StarredDictElement(extra), *elements])
            write, more = write_pte(value, use.path, extra, renamed=use.suffix is not None)
            needed += more
            target = _target_code(write)
            if use.suffix is not None:  # the path is named .pte where it is made
                pte_suffix(use.suffix, changes)
            if use.line is not None and (use.block, target) in written:
                changes[use.line] = cst.RemovalSentinel.REMOVE  # the same .pte, already written here
            elif use.line is not None and use.mentions and use.suffix is None and "pte_path" not in names:
                # prints and logs naming the old file name the new one
                path_line = cst.parse_statement(f"pte_path = {target}\n")
                assert isinstance(path_line, cst.SimpleStatementLine)
                write = write.with_changes(
                    func=write.func.with_changes(
                        value=cst.Call(dotted_expression("pathlib.Path"), [cst.Arg(cst.Name("pte_path"))])
                    )
                )
                changes[use.line] = cst.FlattenSentinel(
                    [
                        path_line.with_changes(leading_lines=use.line.leading_lines),
                        use.line.with_changes(body=[cst.Expr(write)], leading_lines=()),
                    ]
                )
                for mention in use.mentions:
                    changes[mention] = cst.Name("pte_path")
            else:
                changes[use.target] = write
            if use.line is not None:
                written.add((use.block, target))
            kept = {
                id(n) for part in (use.path, use.extra, use.value) if part is not None for n in subtree(part)
            }
            resolves += [n for n in subtree(use.target) if id(n) not in kept]
        elif use.kind == "assign":
            if use.outer is not use.value or use.value is chain.root:
                changes[use.outer] = value
                resolves += [n for n in subtree(use.outer) if n is not use.value]
        elif use.kind == "drop":
            changes[use.target] = cst.RemovalSentinel.REMOVE
            resolves += [n for n in subtree(use.outer) if n is not use.value]
        elif use.kind == "call":
            changes[use.target] = cst.Call(cst.Attribute(value, cst.Name("module")))
        elif use.kind == "method":
            assert model is not None and isinstance(use.target, cst.Attribute)
            changes[use.target] = use.target.with_changes(value=model)
    if not chain.uses:
        return None
    covered = [{id(n) for n in subtree(node)} for node in changes]
    if sum(map(len, covered)) != len(set().union(*covered)):
        return None  # one change inside another: the outer one would drop the inner one
    edit = rule.edit(changes, add_imports=needed, dropped=[reference, *chain.dropped])
    return Edit(edit.changes, edit.add_imports, edit.unused_imports, tuple(resolves))


_TORCHSCRIPT_NAME = re.compile(r"script|trace|jit|^tsl?$|^ts_|optimi[sz]ed|mobile|lite", re.IGNORECASE)


def _target_code(write: cst.Call) -> str:
    """The code of the path a ``pathlib.Path(path).write_bytes(...)`` call writes."""
    func = write.func
    assert isinstance(func, cst.Attribute) and isinstance(func.value, cst.Call)
    return cst.Module([]).code_for_node(func.value.args[0].value)


def takes_late_inputs(chain: Chain, new_value: cst.BaseExpression, model: cst.BaseExpression | None) -> bool:
    """The fix exports with the inputs of the first call of the scripted value (see below)."""
    return chain.refused is None and _late_export(chain, new_value, model) is not None


def _late_export(
    chain: Chain, new_value: cst.BaseExpression, model: cst.BaseExpression | None
) -> cst.BaseExpression | None:
    """The export with the example inputs of the first call of the scripted value, when none
    were found before it: the scripting line goes, the calls (sanity checks) call the eager
    model, and each save exports with those inputs. None when that does not apply."""
    from rewrites.rules._export import PLACEHOLDER

    placeholders = [n for n in subtree(new_value) if isinstance(n, cst.Name) and n.value == PLACEHOLDER]
    if not placeholders or chain.root_line is None or not isinstance(model, cst.Name):
        return None
    if any(u.kind in ("assign", "drop") and u.value is not chain.root for u in chain.uses):
        return None  # an alias would name the scripting line's value
    if not chain.early_calls:
        return None
    call = chain.early_calls[0]
    if not call.args or any(a.keyword is not None or a.star for a in call.args):
        return None
    args = cst.Tuple([cst.Element(a.value) for a in call.args])
    replaced = new_value.deep_replace(placeholders[0], args)
    assert isinstance(replaced, cst.BaseExpression)
    return replaced


METHOD_AS_FORWARD = "MethodAsForward"
_METHOD_AS_FORWARD = f"""

class {METHOD_AS_FORWARD}(torch.nn.Module):
    \"\"\"One method of a model as the `forward` of a program of its own (a method of the `.pte`).\"\"\"

    def __init__(self, model: torch.nn.Module, method: str) -> None:
        super().__init__()
        self.model = model
        self.method = method

    def forward(self, *args):
        return getattr(self.model, self.method)(*args)
"""


def _is_constant(expr: cst.BaseExpression) -> bool:
    if isinstance(expr, cst.UnaryOperation):
        return _is_constant(expr.expression)
    return isinstance(expr, (cst.Integer, cst.Float, cst.SimpleString)) or (
        isinstance(expr, cst.Name) and expr.value in ("True", "False", "None")
    )


def _method_programs(
    rule: PythonRule, chain: Chain, model: cst.BaseExpression | None
) -> (
    tuple[
        list[tuple[str, cst.BaseExpression]],
        list[tuple[str, cst.BaseExpression]],
        tuple[cst.CSTNode, Replacement] | None,
    ]
    | None
):
    """(programs, constant methods, the helper class to insert) for the methods ``chain``
    calls, or None when they cannot be exported (no plain eager model to call them on)."""
    calls: dict[str, cst.Call] = {}
    for use in chain.uses:
        if use.kind == "method":
            assert isinstance(use.target, cst.Attribute)
            calls.setdefault(use.target.attr.value, use.call)  # type: ignore[arg-type]
    if not calls:
        return [], [], None
    if not isinstance(model, cst.Name):
        return None
    programs: list[tuple[str, cst.BaseExpression]] = []
    constants: list[tuple[str, cst.BaseExpression]] = []
    for name, call in calls.items():
        if all(_is_constant(a.value) for a in call.args):
            constants.append((name, call.with_changes(func=cst.Attribute(model, cst.Name(name)))))
            continue
        wrapper = cst.Call(
            cst.Name(METHOD_AS_FORWARD), [cst.Arg(model), cst.Arg(cst.SimpleString(f'"{name}"'))]
        )
        args = cst.Tuple([cst.Element(a.value) for a in call.args])
        programs.append(
            (name, cst.Call(cst.parse_expression("torch.export.export"), [cst.Arg(wrapper), cst.Arg(args)]))
        )
    helper = None
    if programs:
        module = rule.ctx.stack[0]
        assert isinstance(module, cst.Module)
        if not any(isinstance(s, cst.ClassDef) and s.name.value == METHOD_AS_FORWARD for s in module.body):
            imports = [
                s
                for s in module.body
                if isinstance(s, cst.SimpleStatementLine)
                and any(isinstance(b, (cst.Import, cst.ImportFrom)) for b in s.body)
            ]
            if not imports:
                return None
            helper_class = (
                cst.parse_module(_METHOD_AS_FORWARD)
                .body[0]
                .with_changes(leading_lines=[cst.EmptyLine(), cst.EmptyLine()])
            )
            helper = (imports[-1], cst.FlattenSentinel([imports[-1], helper_class]))
    return programs, constants, helper


def refused_detail(chain: Chain) -> str | None:
    return f"not fixed: {chain.refused}" if chain.refused else None


def defers_to_chain(ctx: FileContext, value: cst.BaseExpression) -> bool:
    """A use-site fix leaves ``value`` alone when it is TorchScript made in this file: the
    fix of whatever made it rewrites this use together with every other (or none)."""
    return holds_torchscript(ctx, value)


class PteSave(PythonRule):
    """A rule on a TorchScript save (``torch.jit.save``, ``_save_for_lite_interpreter``) whose fix
    lowers the module with XNNPACK and writes a ``.pte`` where the archive was written."""

    fix_title = "Lower with XNNPACK and write a `.pte`"
    fix_safety = FixSafety.UNSAFE

    @classmethod
    def doc(cls) -> str:
        """The rule's docs, then how its fix goes with the chain that made the module."""
        return (
            f"{super().doc()}\n\n"
            "TorchScript made in the same file (by `torch.jit.script`, `trace`, `optimize_for_mobile`\n"
            "...) is saved by the fix of what made it, with every other use of the value (see MIG101,\n"
            "MIG103): this fix alone would hand TorchScript to the lowering, which rejects it. A\n"
            "`_extra_files` mapping becomes the program's `constant_methods`, one method per entry\n"
            'returning its text (`program.load_method("config.txt").execute([])[0]`), so the metadata\n'
            "the app read from the archive stays inside the `.pte`."
        )

    def save_edit(
        self, call: cst.Call, module: cst.BaseExpression, skip: int, dropped: Sequence[cst.CSTNode] = ()
    ) -> Edit | None:
        """The edit that makes ``call`` (a save of ``module``, its path after ``skip`` positional
        arguments) write ``module`` lowered as a ``.pte``; None where the call passes arguments
        a save does not take, or ``module`` is TorchScript made here (:func:`defers_to_chain`)."""
        found = save_arguments(call.args, skip)
        if found is None or defers_to_chain(self.ctx, module):
            return None
        suffix = path_suffix(_scope(self.ctx, enclosing_scopes(self.ctx)[0]), found[0], call)
        write, imports = write_pte(module, *found, renamed=suffix is not None)
        changes: dict[cst.CSTNode, Replacement] = {call: write}
        if suffix is not None:
            pte_suffix(suffix, changes)
        return self.edit(changes, add_imports=imports, dropped=dropped)


# --- the re-check after a fix -----------------------------------------------------------------


@dataclass(frozen=True)
class ScopeSummary:
    held: frozenset[str]
    used_as_torchscript: frozenset[str]
    lowered: frozenset[str]
    lowered_torchscript_calls: int


class ChainSummary(PythonRule):
    """Not a rule (it has no code): collects a :class:`ScopeSummary` per function and module."""

    def __init__(self, ctx: FileContext) -> None:
        super().__init__(ctx)
        self.summaries: dict[tuple[str, ...], ScopeSummary] = {}

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        path = tuple(n.name.value for n in self.ctx.stack if isinstance(n, (cst.FunctionDef, cst.ClassDef)))
        self.summaries[path] = self._summary(original_node)

    def leave_Module(self, original_node: cst.Module) -> None:
        self.summaries[()] = self._summary(original_node)

    def _summary(self, scope_node: cst.CSTNode) -> ScopeSummary:
        ctx = self.ctx
        held = held_names(ctx, scope_node)
        scope = _scope(ctx, scope_node)
        used: set[str] = set()
        lowered: set[str] = set()
        calls = 0
        for node in _own_statements(scope_node):
            if not isinstance(node, cst.Call):
                continue
            func = node.func
            first = node.args[0].value if node.args and node.args[0].keyword is None else None
            name = ctx.resolve(func)
            if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
                if func.attr.value in _TORCHSCRIPT_METHODS:
                    used.add(func.value.value)
                elif func.attr.value == "module" and not node.args:
                    lowered.add(func.value.value)
            if isinstance(first, cst.Name):
                if name in WRAPPERS or name == "torch.jit.save":
                    used.add(first.value)
                elif name in _LOWERING:
                    lowered.add(first.value)
            elif name in _LOWERING and is_torchscript(ctx, first, held):
                calls += 1
        del scope
        return ScopeSummary(held, frozenset(used), frozenset(lowered), calls)


def breaks_chains(
    before: dict[tuple[str, ...], ScopeSummary], after: dict[tuple[str, ...], ScopeSummary]
) -> str | None:
    """Why the fixed text leaves a TorchScript chain half-rewritten, or None."""
    for path, old in before.items():
        new = after.get(path)
        if new is None:
            continue
        where = ".".join(path) or "module level"
        for name in sorted(old.held - new.held):
            if name in new.used_as_torchscript:
                return f"`{name}` ({where}) no longer holds TorchScript but is still used as TorchScript"
        for name in sorted((new.held & new.lowered) - old.lowered):
            return f"`{name}` ({where}) still holds TorchScript but is now lowered with ExecuTorch"
        if new.lowered_torchscript_calls > old.lowered_torchscript_calls:
            return f"TorchScript is now lowered with ExecuTorch ({where})"
    return None


def unwrap(
    rule: ChainRule, call: cst.Call, reference: cst.CSTNode, finish: Callable[[Edit], Edit] | None = None
) -> None:
    """Report a wrapper (``optimize_for_mobile(m)``, ``freeze(m)``) with its fix: the call
    dropped and every use of what it returned rewritten for the value it wrapped. When that
    value is TorchScript made here, the fix of what made it drops the wrapper instead."""
    wrapped = call.args[0].value if call.args and call.args[0].keyword is None else None
    if wrapped is None or defers_to_chain(rule.ctx, wrapped):
        rule.report(reference)
        return
    place = locate(rule.ctx)

    def step() -> None:
        assert wrapped is not None
        chain = follow(rule.ctx, call, place)
        edit = chain_edit(rule, chain, wrapped, reference)
        if edit is not None and finish is not None:
            edit = finish(edit)
        rule.report(reference, edit, detail=refused_detail(chain))

    rule.later(step)
