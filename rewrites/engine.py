"""Run rules over one file's source: decode, prefilter, parse once, visit once, position.

Every outcome is a value (findings, or a one-line error); nothing raises out of
:func:`check_source`, whatever bytes it is given.
"""

from __future__ import annotations

import inspect
import io
import re
import tokenize
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

import libcst as cst

from rewrites.entry_slice import entry_slice
from rewrites.imports import place_new_imports
from rewrites.model import Finding, Fix, FixSafety
from rewrites.names import ImportTable, subtree
from rewrites.positions import positions
from rewrites.prefilter import FilePrefilter
from rewrites.project import EMPTY, ProjectIndex
from rewrites.rule import Edit, FileContext, Replacement, Report, Rule

_SUPPRESSION = re.compile(r"#\s*migrate:\s*ignore\b(?:\[(?P<codes>[^\]]*)\])?", re.IGNORECASE)


@dataclass(frozen=True)
class FileOutcome:
    """What checking one file gave: findings (paths left empty) or an error line."""

    findings: tuple[Finding, ...] = ()
    error: str | None = None
    parsed: bool = False


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


def screen(data: bytes, rules: Sequence[type[Rule]]) -> FileOutcome | tuple[str, list[type[Rule]]]:
    """The cheap part: decode and prefilter. Returns a final outcome, or what to analyse."""
    try:
        text = decode_source(data)
    except SourceError as exc:
        return FileOutcome(error=str(exc))
    prefilter = FilePrefilter(text)
    active = [rule for rule in rules if "python" in rule.languages and prefilter.admits(rule)]
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
    try:
        if _entry_rules_only(rules):
            part = entry_slice(text)
            if part == "":
                return FileOutcome(parsed=True)
            if part is not None:
                try:
                    return FileOutcome(findings=lint_text(part, rules, project), parsed=True)
                except cst.ParserSyntaxError:
                    pass  # the slice cut something libcst needs: parse the file
        return FileOutcome(findings=lint_text(text, rules, project), parsed=True)
    except cst.ParserSyntaxError as exc:
        return FileOutcome(error=_syntax_error(exc), parsed=True)
    except RecursionError:
        return FileOutcome(error="too deeply nested to analyse", parsed=True)
    except Exception as exc:  # a bug in a rule must not end the scan
        return FileOutcome(
            error=f"internal error, please report: {exc.__class__.__name__}: {exc}", parsed=True
        )


def _entry_rules_only(rules: Sequence[type[Rule]]) -> bool:
    """True when every rule reports only inside the methods export traces (MIG401-405)."""
    from rewrites.rules._values import EntryMethodRule

    return all(issubclass(rule, EntryMethodRule) for rule in rules)


_PARSER_POSITION = re.compile(r"^parser error: error at (\d+):(\d+): ")


def _syntax_error(exc: cst.ParserSyntaxError) -> str:
    """One line; the native parser's own "error at L:C" is more exact than ``raw_line``."""
    message = " ".join(exc.message.split())
    match = _PARSER_POSITION.match(message)
    if match is None:
        return f"syntax error at line {exc.raw_line}, column {exc.raw_column + 1}: {message}"
    line, column = int(match.group(1)), int(match.group(2)) + 1
    return f"syntax error at line {line}, column {column}: {message[match.end() :]}"


def lint_text(text: str, rules: Sequence[type[Rule]], project: ProjectIndex = EMPTY) -> tuple[Finding, ...]:
    """Findings of ``rules`` in ``text`` (raises libcst.ParserSyntaxError on bad syntax)."""
    return tuple(finding for _, finding in _run(cst.parse_module(text), text, rules, project))


def _run(
    module: cst.Module, text: str, rules: Sequence[type[Rule]], project: ProjectIndex = EMPTY
) -> list[tuple[Report, Finding]]:
    """The reports that survive suppression comments, each with its positioned finding."""
    ctx = FileContext(ImportTable(_is_known), project)
    dispatcher = _Dispatcher(ctx, [rule(ctx) for rule in rules if "python" in rule.languages])
    dispatcher.walk(module)
    if not ctx.reports:
        return []
    comments = _suppressions(module) if "migrate:" in text else []
    spans = positions(module, text, [r.node for r in ctx.reports] + [c for c, _, _ in comments])
    suppressed: dict[int, set[str] | None] = {}
    for comment, own_line, codes in comments:
        line = spans[comment][0] + (1 if own_line else 0)
        if codes is None or suppressed.get(line, set()) is None:
            suppressed[line] = None
        else:
            suppressed.setdefault(line, set()).update(codes)  # type: ignore[union-attr]
    kept: dict[Finding, Report] = {}
    for report in ctx.reports:
        line, column, end_line, end_column = spans[report.node]
        codes = suppressed.get(line, set())
        rule = report.rule
        if codes is None or rule.code in codes or rule.name in codes:
            continue
        fix = None if report.edit is None else Fix(rule.fix_safety, rule.fix_title or "")
        finding = Finding(rule.code, rule.name, "", line, column, end_line, end_column, report.message, fix)
        kept.setdefault(finding, report)
    return sorted(
        ((r, f) for f, r in kept.items()), key=lambda pair: (pair[1].line, pair[1].column, pair[1].code)
    )


@dataclass(frozen=True)
class FixOutcome:
    """A file after fixing: old and new text, new bytes in the file's own encoding (None when
    nothing changed), what was fixed and what is left."""

    original: str | None = None
    text: str | None = None
    data: bytes | None = None
    fixed: tuple[Finding, ...] = ()
    remaining: tuple[Finding, ...] = ()
    error: str | None = None
    # files a fix creates (app code only), by path relative to the fixed file's folder
    created: tuple[tuple[str, str], ...] = ()


# Each round applies the fixes that do not touch each other; the rest wait for the next round
# (a fix nested in another's waits one round per level). Past the cap, what is left is an error.
_MAX_ROUNDS = 100


def fix_source(
    data: bytes, rules: Sequence[type[Rule]], *, unsafe: bool = False, project: ProjectIndex = EMPTY
) -> FixOutcome:
    """Fix one file's bytes; never raises. The text keeps its encoding and line endings."""
    screened = screen(data, rules)
    if isinstance(screened, FileOutcome):
        return FixOutcome(remaining=screened.findings, error=screened.error)
    original = screened[0]
    try:
        text, fixed, remaining, settled = _fix_rounds(original, rules, unsafe=unsafe, project=project)
        new_data = None if text == original else text.encode(source_encoding(data))
    except cst.ParserSyntaxError as exc:
        return FixOutcome(error=_syntax_error(exc))
    except RecursionError:
        return FixOutcome(error="too deeply nested to analyse")
    except (SourceError, UnicodeEncodeError) as exc:
        return FixOutcome(error=f"cannot write the fixed text back: {exc}")
    except Exception as exc:  # a bug in a fix must not end the run or touch the file
        return FixOutcome(
            error=f"internal error while fixing, please report: {exc.__class__.__name__}: {exc}"
        )
    unsettled = None if settled else f"fixes still pending after {_MAX_ROUNDS} rounds: run apply again"
    if new_data is None:
        return FixOutcome(original, None, None, fixed, remaining, unsettled)
    return FixOutcome(original, text, new_data, fixed, remaining, unsettled)


def fix_text(
    text: str, rules: Sequence[type[Rule]], *, unsafe: bool = False, project: ProjectIndex = EMPTY
) -> tuple[str, tuple[Finding, ...], tuple[Finding, ...]]:
    """(fixed text, findings fixed, findings left). Raises on unparsable text.

    Each round prefilters ``rules`` again: a fix can write what another rule reports (the
    example-inputs placeholder an export fix leaves is MIG113's)."""
    return _fix_rounds(text, rules, unsafe=unsafe, project=project)[:3]


def _fix_rounds(
    text: str, rules: Sequence[type[Rule]], *, unsafe: bool = False, project: ProjectIndex = EMPTY
) -> tuple[str, tuple[Finding, ...], tuple[Finding, ...], bool]:
    """:func:`fix_text`, and whether the text settled (False: fixes were left at the cap)."""
    allowed = {FixSafety.SAFE, FixSafety.UNSAFE} if unsafe else {FixSafety.SAFE}
    fixed: list[Finding] = []
    for _ in range(_MAX_ROUNDS):
        module = cst.parse_module(text)
        prefilter = FilePrefilter(text)
        found = _run(
            module, text, [r for r in rules if "python" in r.languages and prefilter.admits(r)], project
        )
        chosen = _independent(
            [(r, f) for r, f in found if r.edit is not None and r.rule.fix_safety in allowed]
        )
        chosen, new_module = _keep_chains_whole(module, text, chosen)
        if not chosen:
            return text, tuple(fixed), tuple(f for _, f in found), True
        new_text = new_module.code
        if new_text == text:
            return text, tuple(fixed), tuple(f for _, f in found), True
        cst.parse_module(new_text)  # a fix must never produce code that does not parse
        fixed.extend(f for _, f in chosen)
        # findings on the uses a chain fix rewrote with the value it made (see Edit.resolves)
        resolved = {id(node) for r, _ in chosen if r.edit is not None for node in r.edit.resolves}
        taken = {id(r) for r, _ in chosen}
        fixed.extend(f for r, f in found if id(r.node) in resolved and id(r) not in taken)
        text = new_text
    return text, tuple(fixed), lint_text(text, rules, project), False


def _keep_chains_whole(
    module: cst.Module, text: str, chosen: list[tuple[Report, Finding]]
) -> tuple[list[tuple[Report, Finding]], cst.Module]:
    """The fixes that leave no TorchScript value half-rewritten, and the module they give.

    A fix is refused when a name held TorchScript before it, does not after it and is still
    used as TorchScript (``ts.save(f)`` on what is now an ``ExportedProgram``), or when it
    hands TorchScript to ExecuTorch's lowering. The findings of a refused fix stay reported.
    """
    edits = [r.edit for r, _ in chosen if r.edit is not None]
    after = _apply(module, edits)
    if "jit" not in text and "mobile_optimizer" not in text:
        return chosen, after
    from rewrites.rules._chains import breaks_chains

    before = _chain_summaries(module)
    if breaks_chains(before, _chain_summaries(after)) is None:
        return chosen, after
    kept: list[tuple[Report, Finding]] = []
    after = module
    for report, finding in chosen:  # one at a time, each on top of those kept
        assert report.edit is not None
        trial = _apply(module, [r.edit for r, _ in kept if r.edit is not None] + [report.edit])
        if breaks_chains(before, _chain_summaries(trial)) is None:
            kept.append((report, finding))
            after = trial
    return kept, after


def _chain_summaries(module: cst.Module) -> dict[tuple[str, ...], Any]:
    from rewrites.rules._chains import ChainSummary

    ctx = FileContext(ImportTable(_is_known))
    summary = ChainSummary(ctx)
    _Dispatcher(ctx, [summary]).walk(module)
    return summary.summaries


def _independent(pairs: list[tuple[Report, Finding]]) -> list[tuple[Report, Finding]]:
    """Fixes whose changed subtrees do not overlap, in source order."""
    taken: set[int] = set()
    chosen = []
    for report, finding in pairs:
        assert report.edit is not None
        covered = {id(n) for node in report.edit.changes for n in subtree(node)}
        if covered.isdisjoint(taken):
            taken |= covered
            chosen.append((report, finding))
    return chosen


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
    for rule in all_rules():
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

    def __init__(self, ctx: FileContext, rules: list[Rule]) -> None:
        self.ctx = ctx
        self.visits: dict[type, list[Callable[[cst.CSTNode], object]]] = defaultdict(list)
        self.leaves: dict[type, list[Callable[[cst.CSTNode], object]]] = defaultdict(list)
        self.exact: dict[str, list[Rule]] = defaultdict(list)
        self.prefixes: list[tuple[str, Rule]] = []
        self.fallbacks: list[tuple[str, Rule]] = []
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
        self.found: list[tuple[cst.Comment, bool, set[str] | None]] = []
        self._own_line = False

    def visit_EmptyLine(self, node: cst.EmptyLine) -> None:
        self._own_line = True

    def leave_EmptyLine(self, original_node: cst.EmptyLine) -> None:
        self._own_line = False

    def visit_Comment(self, node: cst.Comment) -> None:
        match = _SUPPRESSION.search(node.value)
        if match is not None:
            raw = match.group("codes")
            codes = None if raw is None else {c.strip() for c in raw.split(",") if c.strip()}
            self.found.append((node, self._own_line, codes))


def _suppressions(module: cst.Module) -> list[tuple[cst.Comment, bool, set[str] | None]]:
    """``# migrate: ignore[...]`` comments: (comment, on a line of its own, codes or None=all)."""
    collector = _CommentCollector()
    module.visit(collector)
    return collector.found
