"""The Python checker: rules over libcst trees, and the checks of one Python file.

A :class:`PythonRule` is a small libcst visitor (Fixit-style): ``visit_<Node>`` / ``leave_<Node>``
methods, plus ``visit_reference(node, qualified_name)`` for every use of a name in ``names``. It
reports nodes; the checker decodes, prefilters, parses once, visits once for every rule, and turns
reports into positioned :class:`~rewrites.core.Diagnostic` values. Suppression, fix selection,
rounds and error wrapping are the core's (:mod:`rewrites.core`).

Every outcome is a value (findings, or a one-line error); nothing raises out of
:func:`check_source`, whatever bytes it is given.
"""

from __future__ import annotations

import bisect
import inspect
import io
import re
import tokenize
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any, ClassVar

import libcst as cst

from rewrites import core
from rewrites.core import Diagnostic, FileOutcome, FixOutcome, R, Rule, Suppressions, for_language, guarded
from rewrites.imports import place_new_imports
from rewrites.model import Finding
from rewrites.names import ImportOrigin, ImportTable, subtree
from rewrites.positions import positions
from rewrites.prefilter import FilePrefilter
from rewrites.project import EMPTY, ProjectIndex
from rewrites.source_slice import LINES, source_slice

LANGUAGE = "python"
# the marker before `migrate: ignore` (rewrites.core.SUPPRESSION)
_SUPPRESSION = re.compile(r"#\s*" + core.SUPPRESSION.pattern, re.IGNORECASE)


Replacement = cst.CSTNode | cst.RemovalSentinel | cst.FlattenSentinel


@dataclass(frozen=True)
class Edit:
    """A fix: nodes to replace (by identity), imports it needs, imports it may leave unused.

    ``resolves`` are nodes other rules report that the fix rewrites too (the uses of a value a
    chain fix rewrites together): those findings count as fixed with it.
    """

    changes: Mapping[cst.CSTNode, Replacement]
    add_imports: tuple[tuple[str, str | None], ...] = ()
    unused_imports: tuple[ImportOrigin, ...] = ()
    resolves: tuple[cst.CSTNode, ...] = ()


@dataclass(frozen=True)
class Report:
    rule: type[PythonRule]
    node: cst.CSTNode
    message: str
    edit: Edit | None = None
    args: tuple[tuple[str, str], ...] = ()


class FileContext:
    """Per-file state shared by the rules of one run: imports, ancestry, reports."""

    def __init__(self, imports: ImportTable, project: ProjectIndex = EMPTY) -> None:
        self.imports = imports
        self.project = project  # facts about the other files of the project (rewrites.project)
        self.stack: list[cst.CSTNode] = []
        self.reports: list[Report] = []
        self.memo: dict[object, Any] = {}  # what a rule computed once for this file

    def resolve(self, node: cst.CSTNode) -> str | None:
        return self.imports.resolve(node)

    def parent(self) -> cst.CSTNode | None:
        """The parent of the node being visited."""
        return self.stack[-2] if len(self.stack) > 1 else None

    def ancestors(self) -> Iterator[cst.CSTNode]:
        return reversed(self.stack[:-1])

    def is_builtin(self, node: cst.BaseExpression, name: str) -> bool:
        return isinstance(node, cst.Name) and node.value == name and not self.imports.is_bound(name)

    def entry_method(self) -> cst.FunctionDef | None:
        """The model method we are inside, if it is one export will trace.

        That is ``forward`` or a method decorated ``@torch.jit.export``, defined directly in a
        class body; nested helpers inside it count as inside it.
        """
        stack = self.stack
        for i in range(len(stack) - 1, 1, -1):
            node = stack[i]
            if isinstance(node, cst.FunctionDef) and isinstance(stack[i - 2], cst.ClassDef):
                if node.name.value == "forward" or any(
                    self.resolve(_decorator_target(d)) == "torch.jit.export" for d in node.decorators
                ):
                    return node
                return None
        return None


def _decorator_target(decorator: cst.Decorator) -> cst.BaseExpression:
    target = decorator.decorator
    return target.func if isinstance(target, cst.Call) else target


class PythonRule(Rule):
    """A rule over Python source, a libcst visitor (see the module docstring)."""

    # Qualified names whose every use is passed to visit_reference; "pkg.mod.*" is a prefix.
    names: ClassVar[frozenset[str]] = frozenset()
    # A fallback rule sees only names that no other rule claims.
    fallback: ClassVar[bool] = False
    # ``tokens`` (rewrites.core.Rule) prefilter rules that match more than ``names`` (methods on
    # any receiver, attribute names).
    languages: ClassVar[frozenset[str]] = frozenset({LANGUAGE})

    def __init__(self, ctx: FileContext) -> None:
        self.ctx = ctx

    def report(
        self,
        node: cst.CSTNode,
        edit: Edit | None = None,
        *,
        args: Mapping[str, str] | None = None,
        detail: str | None = None,
        message: str | None = None,
    ) -> None:
        """Report ``node``; ``args`` fill the message's fields, ``detail`` follows it, and
        ``message`` replaces it where a case needs its own words."""
        message = message or self.render(args, detail)
        self.ctx.reports.append(Report(type(self), node, message, edit, tuple((args or {}).items())))

    def edit(
        self,
        changes: Mapping[cst.CSTNode, Replacement],
        *,
        add_imports: Sequence[tuple[str, str | None]] = (),
        dropped: Sequence[cst.CSTNode] = (),
    ) -> Edit:
        """An edit; ``dropped`` are references it removes, whose imports may become unused."""
        origins = (self.ctx.imports.origin(node) for node in dropped)
        return Edit(changes, tuple(add_imports), tuple(o for o in origins if o is not None))

    def visit_reference(self, node: cst.BaseExpression, qualified_name: str) -> None:
        """Called for each use of a name in ``names`` (never inside an import statement)."""


class SourceError(Exception):
    """The bytes are not Python source we can read; the message is one line."""


def source_encoding(data: bytes) -> str:
    """PEP 263: a BOM or a coding declaration, else UTF-8."""
    try:
        return tokenize.detect_encoding(io.BytesIO(data).readline)[0]
    except SyntaxError as exc:
        raise SourceError(f"unreadable encoding declaration: {exc}") from None


def decode_source(data: bytes) -> str:
    if b"\0" in data:
        raise SourceError("binary file (contains NUL bytes), not Python source")
    encoding = source_encoding(data)
    try:
        text = data.decode(encoding)
        # unicode_escape and the like: what is decoded is not what is written back
        if encoding != "utf-8" and text.encode(encoding) != data:
            raise SourceError(
                f"declares the encoding {encoding!r}, which does not give back the same bytes: "
                "not read (declare utf-8 or a plain text encoding)"
            )
        return text
    except UnicodeDecodeError as exc:
        raise SourceError(
            f"not valid {encoding} text (byte {exc.object[exc.start]:#04x} at offset {exc.start}) "
            "and no other encoding declared"
        ) from None
    except LookupError:
        raise SourceError(f"declares an unknown encoding {encoding!r}") from None


def check_source(data: bytes, rules: Sequence[type[Rule]], project: ProjectIndex = EMPTY) -> FileOutcome:
    """Check one file's bytes; never raises."""
    screened = screen(data, rules)
    return screened if isinstance(screened, FileOutcome) else analyse(*screened, project)


def python_rules(rules: Iterable[type[R]]) -> list[type[R]]:
    """The rules that read Python (every one a :class:`PythonRule`)."""
    return for_language(rules, LANGUAGE)


def _python(rules: Iterable[type[Rule]]) -> list[type[PythonRule]]:
    return [rule for rule in python_rules(rules) if issubclass(rule, PythonRule)]


def screen(data: bytes, rules: Sequence[type[Rule]]) -> FileOutcome | tuple[str, list[type[PythonRule]]]:
    """The cheap part: decode and prefilter. Returns a final outcome, or what to analyse."""
    try:
        text = decode_source(data)
    except SourceError as exc:
        return FileOutcome(error=str(exc))
    prefilter = FilePrefilter(text)
    active = prefilter.admitted(_python(rules))
    if not active:
        return FileOutcome()
    depth = bracket_depth(text)
    if depth > MAX_BRACKET_DEPTH:
        return FileOutcome(
            error=f"brackets nested {depth} deep: not Python (it allows 200), and too deep to parse safely"
        )
    return text, active


# libcst's native parser overflowed its stack (killing the process) at 1,500 nested brackets
# and was fine at 1,000; CPython itself rejects more than 200.
MAX_BRACKET_DEPTH = 500


@lru_cache(maxsize=1)
def _bracket_steps():  # type: ignore[no-untyped-def]
    import numpy as np  # imported on first parse only: it adds 0.1 s to start-up

    steps = np.zeros(256, dtype=np.int32)
    steps[list(b"([{")] = 1
    steps[list(b")]}")] = -1
    return steps


def bracket_depth(text: str) -> int:
    """The deepest bracket nesting, counting brackets in strings too (an upper bound)."""
    import numpy as np

    data = np.frombuffer(text.encode("utf-8", "surrogatepass"), dtype=np.uint8)
    return int(np.cumsum(_bracket_steps()[data]).max()) if data.size else 0


def analyse(text: str, rules: Sequence[type[Rule]], project: ProjectIndex = EMPTY) -> FileOutcome:
    """The costly part: parse and visit. Never raises."""

    def check() -> FileOutcome:
        part = _slice(text, rules)
        if part == "":
            return FileOutcome(parsed=True)
        if part is not None:
            compact, lines = _compact(part, text)
            try:
                return FileOutcome(findings=lint_text(compact, rules, project, lines), parsed=True)
            except cst.ParserSyntaxError:
                pass  # the slice cut something libcst needs: parse the file
        return FileOutcome(findings=lint_text(text, rules, project), parsed=True)

    return guarded(check, lambda error: FileOutcome(error=error, parsed=True), known=_known_error)


def _known_error(exc: Exception) -> str | None:
    return _syntax_error(exc) if isinstance(exc, cst.ParserSyntaxError) else None


def _slice(text: str, rules: Sequence[type[Rule]]) -> str | None:
    """What libcst needs to parse of ``text`` for ``rules`` (rewrites.source_slice), or None for
    all of it: the export-blocker rules (MIG401-405) say where they report from ``ast``, the
    others from the uses of their names in the text."""
    from rewrites.rules._values import EntryMethodRule

    entry = any(issubclass(rule, EntryMethodRule) for rule in rules)
    prefilter = FilePrefilter(text)
    offsets: list[int] = []
    for rule in _python(rules):
        if not issubclass(rule, EntryMethodRule):
            found = prefilter.positions(rule)
            if not found:  # admitted, yet written nowhere the prefilter can point at: parse it all
                return None
            offsets += found
    if not offsets:
        return source_slice(text, _is_known)
    starts = [0]  # where each line begins, with the line breaks ast counts
    for line in LINES.findall(text):
        starts.append(starts[-1] + len(line))
    name_lines = {bisect.bisect_right(starts, at) for at in offsets}
    return source_slice(text, _is_known, entry=entry, name_lines=name_lines)


_PARSER_POSITION = re.compile(r"^parser error: error at (\d+):(\d+): ")


def _syntax_error(exc: cst.ParserSyntaxError) -> str:
    """One line; the native parser's own "error at L:C" is more exact than ``raw_line``."""
    message = " ".join(exc.message.split())
    match = _PARSER_POSITION.match(message)
    if match is None:
        return f"syntax error at line {exc.raw_line}, column {exc.raw_column + 1}: {message}"
    line, column = int(match.group(1)), int(match.group(2)) + 1
    return f"syntax error at line {line}, column {column}: {message[match.end() :]}"


def lint_text(
    text: str, rules: Sequence[type[Rule]], project: ProjectIndex = EMPTY, lines: Sequence[int] | None = None
) -> tuple[Finding, ...]:
    """Findings of ``rules`` in ``text`` (raises libcst.ParserSyntaxError on bad syntax);
    ``lines``: the line in the file of each line of ``text``, when it is a compacted slice."""
    return core.findings(_run(cst.parse_module(text), text, _python(rules), project, lines))


def _compact(part: str, text: str) -> tuple[str, list[int]]:
    """A slice of ``text`` without the lines it blanked (each costs libcst a node, and they were
    nine in ten), and the line in the file of each line left. Lines blank in the file stay:
    they may be inside a string the slice kept."""
    originals = LINES.findall(text)
    kept, lines = [], []
    for number, line in enumerate(LINES.findall(part), 1):
        if line.strip() or number > len(originals) or not originals[number - 1].strip():
            kept.append(line)
            lines.append(number)
    return "".join(kept), lines


def _run(
    module: cst.Module,
    text: str,
    rules: Sequence[type[PythonRule]],
    project: ProjectIndex = EMPTY,
    lines: Sequence[int] | None = None,
) -> list[Diagnostic]:
    """The reports that survive suppression comments, as positioned diagnostics (on the lines
    of the file, given ``lines`` for a compacted slice)."""
    ctx = FileContext(ImportTable(_is_known), project)
    dispatcher = _Dispatcher(ctx, [rule(ctx) for rule in rules])
    dispatcher.walk(module)
    if not ctx.reports:
        return []
    comments = _suppressions(module) if "migrate:" in text else []
    spans = positions(module, text, [r.node for r in ctx.reports] + [c for c, _, _ in comments])
    if lines:
        last = len(lines)

        def line(n: int) -> int:  # the end of the text is one line past its last
            return lines[n - 1] if n <= last else lines[-1] + n - last

        spans = {node: (line(a), b, line(c), d) for node, (a, b, c, d) in spans.items()}
    suppressions = Suppressions()
    for comment, own_line, match in comments:
        suppressions.add(spans[comment][0] + (1 if own_line else 0), match)
    return core.settle(
        (Diagnostic(r.rule, *spans[r.node], r.message, r.args, r.edit, r) for r in ctx.reports), suppressions
    )


# Each round applies the fixes that do not touch each other (rewrites.core.fix_rounds); a fix
# nested in another's waits one round per level. Past the cap, what is left is an error.
_MAX_ROUNDS = 100


def fix_source(
    data: bytes, rules: Sequence[type[Rule]], *, unsafe: bool = False, project: ProjectIndex = EMPTY
) -> FixOutcome:
    """Fix one file's bytes; never raises. The text keeps its encoding and line endings."""
    screened = screen(data, rules)
    if isinstance(screened, FileOutcome):
        return FixOutcome(remaining=screened.findings, error=screened.error)
    original = screened[0]

    def fix() -> FixOutcome:
        run = core.fix_rounds(_PythonFixer(rules, project), original, unsafe=unsafe)
        fixed, remaining = core.findings(run.fixed), core.findings(run.remaining)
        new_data = None if run.text == original else run.text.encode(source_encoding(data))
        unsettled = None if run.settled else core.unsettled(_MAX_ROUNDS)
        if new_data is None:
            return FixOutcome(original, None, None, fixed, remaining, unsettled)
        return FixOutcome(original, run.text, new_data, fixed, remaining, unsettled)

    return guarded(fix, lambda error: FixOutcome(error=error), fixing=True, known=_known_fix_error)


def _known_fix_error(exc: Exception) -> str | None:
    if isinstance(exc, (SourceError, UnicodeEncodeError)):
        return f"cannot write the fixed text back: {exc}"
    return _known_error(exc)


def fix_text(
    text: str, rules: Sequence[type[Rule]], *, unsafe: bool = False, project: ProjectIndex = EMPTY
) -> tuple[str, tuple[Finding, ...], tuple[Finding, ...]]:
    """(fixed text, findings fixed, findings left). Raises on unparsable text.

    Each round prefilters ``rules`` again: a fix can write what another rule reports (the
    example-inputs placeholder an export fix leaves is MIG113's)."""
    run = core.fix_rounds(_PythonFixer(rules, project), text, unsafe=unsafe)
    return run.text, core.findings(run.fixed), core.findings(run.remaining)


class _PythonFixer:
    """The Python side of :func:`rewrites.core.fix_rounds`: libcst trees, node edits."""

    def __init__(self, rules: Sequence[type[Rule]], project: ProjectIndex) -> None:
        self.rules = _python(rules)
        self.project = project
        self.max_rounds = _MAX_ROUNDS

    def diagnose(self, text: str) -> tuple[cst.Module, list[Diagnostic]]:
        module = cst.parse_module(text)
        prefilter = FilePrefilter(text)
        return module, _run(module, text, prefilter.admitted(self.rules), self.project)

    def footprint(self, diagnostic: Diagnostic) -> set[int]:
        assert isinstance(diagnostic.edit, Edit)
        return {id(n) for node in diagnostic.edit.changes for n in subtree(node)}

    def clashes(self, footprint: set[int], taken: list[set[int]]) -> bool:
        return any(not footprint.isdisjoint(t) for t in taken)

    def apply(self, parsed: cst.Module, text: str, chosen: list[Diagnostic]) -> tuple[list[Diagnostic], str]:
        chosen, new_module = _keep_chains_whole(parsed, text, chosen)
        new_text = new_module.code
        if chosen and new_text != text and not _parses(new_text):
            # a fix must never produce code that does not parse: those that do are left out, and
            # their findings stay
            kept: list[Diagnostic] = []
            for diagnostic in chosen:
                if _parses(_apply(parsed, [_edit(d) for d in [*kept, diagnostic]]).code):
                    kept.append(diagnostic)
            chosen, new_module = _keep_chains_whole(parsed, text, kept)
            new_text = new_module.code
        return chosen, new_text

    def also_fixed(self, found: list[Diagnostic], chosen: list[Diagnostic]) -> list[Diagnostic]:
        """Findings on the uses a chain fix rewrote with the value it made (see Edit.resolves)."""
        resolved = {id(node) for d in chosen for node in _edit(d).resolves}
        taken = {id(d) for d in chosen}
        return [d for d in found if id(_report(d).node) in resolved and id(d) not in taken]


def _parses(text: str) -> bool:
    try:
        cst.parse_module(text)
    except cst.ParserSyntaxError:
        return False
    return True


def _edit(diagnostic: Diagnostic) -> Edit:
    assert isinstance(diagnostic.edit, Edit)
    return diagnostic.edit


def _report(diagnostic: Diagnostic) -> Report:
    assert isinstance(diagnostic.origin, Report)
    return diagnostic.origin


def _keep_chains_whole(
    module: cst.Module, text: str, chosen: list[Diagnostic]
) -> tuple[list[Diagnostic], cst.Module]:
    """The fixes that leave no TorchScript value half-rewritten, and the module they give.

    A fix is refused when a name held TorchScript before it, does not after it and is still
    used as TorchScript (``ts.save(f)`` on what is now an ``ExportedProgram``), or when it
    hands TorchScript to ExecuTorch's lowering. The findings of a refused fix stay reported.
    """
    after = _apply(module, [_edit(d) for d in chosen])
    if "jit" not in text and "mobile_optimizer" not in text:
        return chosen, after
    from rewrites.rules._chains import breaks_chains

    before = _chain_summaries(module)
    if breaks_chains(before, _chain_summaries(after)) is None:
        return chosen, after
    kept: list[Diagnostic] = []
    after = module
    for diagnostic in chosen:  # one at a time, each on top of those kept
        trial = _apply(module, [_edit(d) for d in kept] + [_edit(diagnostic)])
        if breaks_chains(before, _chain_summaries(trial)) is None:
            kept.append(diagnostic)
            after = trial
    return kept, after


def _chain_summaries(module: cst.Module) -> dict[tuple[str, ...], Any]:
    from rewrites.rules._chains import ChainSummary

    ctx = FileContext(ImportTable(_is_known))
    summary = ChainSummary(ctx)
    _Dispatcher(ctx, [summary]).walk(module)
    return summary.summaries


class _Replace(cst.CSTTransformer):
    def __init__(self, changes: dict[cst.CSTNode, Replacement]) -> None:
        super().__init__()
        self.changes = changes

    def on_leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode) -> Any:
        return self.changes.get(original_node, updated_node)


def _apply(module: cst.Module, edits: list[Edit]) -> cst.Module:
    # Imported here: libcst.codemod pulls in libcst.matchers (0.18 s), which a scan never needs.
    from libcst.codemod import CodemodContext
    from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor

    changes: dict[cst.CSTNode, Replacement] = {}
    for edit in edits:
        changes.update(edit.changes)
    tree = module.visit(_Replace(changes))
    context = CodemodContext()
    adds = {imp for edit in edits for imp in edit.add_imports}
    for module_name, obj in sorted(adds, key=str):
        AddImportsVisitor.add_needed_import(context, module_name, obj)
    if adds:
        tree = place_new_imports(module, AddImportsVisitor(context).transform_module(tree))
    unused = {origin for edit in edits for origin in edit.unused_imports}
    for origin in unused:
        RemoveImportsVisitor.remove_unused_import(context, origin.module, origin.obj, origin.asname)
    if unused:
        tree = RemoveImportsVisitor(context).transform_module(tree)
    return tree


@lru_cache(maxsize=1)
def _claims() -> tuple[frozenset[str], tuple[str, ...]]:
    from rewrites.registry import all_rules

    exact: set[str] = set()
    prefixes: list[str] = []
    for rule in _python(all_rules()):
        if not rule.fallback:
            for name in rule.names:
                if name.endswith(".*"):
                    prefixes.append(name[:-1])
                else:
                    exact.add(name)
    return frozenset(exact), tuple(prefixes)


def _is_claimed(name: str) -> bool:
    exact, prefixes = _claims()
    return name in exact or name.startswith(prefixes)


def _is_known(name: str) -> bool:
    """Star imports resolve only to names a rule spells out in full, never to a prefix."""
    return name in _claims()[0]


# Fields that only hold whitespace and punctuation: the walk skips them (most of the tree).
_SYNTAX_FIELDS = frozenset(
    {
        "lpar",
        "rpar",
        "lbracket",
        "rbracket",
        "lbrace",
        "rbrace",
        "comma",
        "dot",
        "colon",
        "semicolon",
        "equal",
        "leading_lines",
        "lines_after_decorators",
        "trailing_whitespace",
        "leading_whitespace",
        "header",
        "footer",
        "first_colon",
        "second_colon",
        "operator",
        "asynchronous",
        "star",
        "newline",
        "indent",
        "trailing_comma",
        "whitespace_between",
    }
)
_VISITED_FIELD = re.compile(r'visit_\w+\(\s*self,\s*"(\w+)"')


@cache
def _child_fields(node_type: type) -> tuple[str, ...]:
    """The fields of a node type that hold code, in source order.

    libcst visits children in source order inside each type's ``_visit_and_replace_children``
    (not in dataclass field order), so the order is read from there once per type. Walking only
    these fields visited 2-3x faster than a ``CSTVisitor``, which also visits all whitespace.
    """
    for klass in node_type.__mro__:
        if "_visit_and_replace_children" in klass.__dict__:
            source = inspect.getsource(klass.__dict__["_visit_and_replace_children"])
            names = dict.fromkeys(_VISITED_FIELD.findall(source))
            return tuple(n for n in names if n not in _SYNTAX_FIELDS and not n.startswith("whitespace"))
    return ()


def child_nodes(node: cst.CSTNode) -> list[cst.CSTNode]:
    """The children of ``node`` that hold code (no whitespace), much faster than ``.children``."""
    found: list[cst.CSTNode] = []
    for field in _child_fields(type(node)):
        value = getattr(node, field)
        if isinstance(value, cst.CSTNode):
            found.append(value)
        elif type(value) is tuple or type(value) is list:
            found.extend(item for item in value if isinstance(item, cst.CSTNode))
    return found


class _Dispatcher:
    """One walk for all rules: keeps the ancestry and imports, resolves each name once."""

    def __init__(self, ctx: FileContext, rules: list[PythonRule]) -> None:
        self.ctx = ctx
        self.visits: dict[type, list[Callable[[cst.CSTNode], object]]] = defaultdict(list)
        self.leaves: dict[type, list[Callable[[cst.CSTNode], object]]] = defaultdict(list)
        self.exact: dict[str, list[PythonRule]] = defaultdict(list)
        self.prefixes: list[tuple[str, PythonRule]] = []
        self.fallbacks: list[tuple[str, PythonRule]] = []
        for rule in rules:
            for attr in dir(type(rule)):
                if attr.startswith(("visit_", "leave_")) and attr != "visit_reference":
                    kind, _, node_type = attr.partition("_")
                    table = self.visits if kind == "visit" else self.leaves
                    table[getattr(cst, node_type)].append(getattr(rule, attr))
            for name in rule.names:
                if rule.fallback:
                    self.fallbacks.append((name.rstrip("*"), rule))
                elif name.endswith(".*"):
                    self.prefixes.append((name[:-1], rule))
                else:
                    self.exact[name].append(rule)
        self.not_references: set[int] = set()

    def walk(self, node: cst.CSTNode) -> None:
        stack = self.ctx.stack
        stack.append(node)
        if self.on_visit(node):
            for field in _child_fields(type(node)):
                value = getattr(node, field)
                if isinstance(value, cst.CSTNode):
                    self.walk(value)
                elif type(value) is tuple or type(value) is list:
                    for item in value:
                        if isinstance(item, cst.CSTNode):
                            self.walk(item)
        for leave in self.leaves.get(type(node), ()):
            leave(node)
        stack.pop()

    def on_visit(self, node: cst.CSTNode) -> bool:
        ctx = self.ctx
        kind = type(node)
        for visit in self.visits.get(kind, ()):
            visit(node)
        if kind is cst.Import or kind is cst.ImportFrom:
            ctx.imports.add(node)  # type: ignore[arg-type]
            return False
        skip = self.not_references
        if kind is cst.Attribute:
            skip.add(id(node.attr))  # type: ignore[attr-defined]
            skip.add(id(node.value))  # type: ignore[attr-defined]
        elif kind is cst.FunctionDef or kind is cst.ClassDef:
            skip.add(id(node.name))  # type: ignore[attr-defined]
            if len(ctx.stack) == 2:
                ctx.imports.shadow(node.name.value)  # type: ignore[attr-defined]
        elif kind is cst.Param or kind is cst.AsName:
            skip.add(id(node.name))  # type: ignore[attr-defined]
        elif kind is cst.Arg and node.keyword is not None:  # type: ignore[attr-defined]
            skip.add(id(node.keyword))  # type: ignore[attr-defined]
        if (kind is cst.Name or kind is cst.Attribute) and id(node) not in skip:
            self._reference(node)  # type: ignore[arg-type]
        return True

    def _reference(self, node: cst.BaseExpression) -> None:
        name = self.ctx.resolve(node)
        if name is None:
            return
        targets = list(self.exact.get(name, ()))
        targets += [r for p, r in self.prefixes if name.startswith(p) and r not in targets]
        if not targets and not _is_claimed(name):
            targets = [rule for prefix, rule in self.fallbacks if name.startswith(prefix)]
        for rule in targets:
            rule.visit_reference(node, name)


class _CommentCollector(cst.CSTVisitor):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[cst.Comment, bool, re.Match[str]]] = []
        self._own_line = False

    def visit_EmptyLine(self, node: cst.EmptyLine) -> None:
        self._own_line = True

    def leave_EmptyLine(self, original_node: cst.EmptyLine) -> None:
        self._own_line = False

    def visit_Comment(self, node: cst.Comment) -> None:
        match = _SUPPRESSION.search(node.value)
        if match is not None:
            self.found.append((node, self._own_line, match))


def _suppressions(module: cst.Module) -> list[tuple[cst.Comment, bool, re.Match[str]]]:
    """``# migrate: ignore[...]`` comments: (comment, on a line of its own, the match)."""
    collector = _CommentCollector()
    module.visit(collector)
    return collector.found
