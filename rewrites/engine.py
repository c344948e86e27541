"""Run rules over one file's source: decode, prefilter, parse once, visit once, position.

Every outcome is a value (findings, or a one-line error); nothing raises out of
:func:`check_source`, whatever bytes it is given.
"""

from __future__ import annotations

import io
import re
import tokenize
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import libcst as cst

from rewrites.model import Finding
from rewrites.names import ImportTable
from rewrites.positions import positions
from rewrites.rule import FileContext, Rule

_SUPPRESSION = re.compile(r"#\s*migrate:\s*ignore\b(?:\[(?P<codes>[^\]]*)\])?", re.IGNORECASE)


@dataclass(frozen=True)
class FileOutcome:
    """What checking one file gave: findings (paths left empty) or an error line."""

    findings: tuple[Finding, ...] = ()
    error: str | None = None
    parsed: bool = False


class SourceError(Exception):
    """The bytes are not Python source we can read; the message is one line."""


def decode_source(data: bytes) -> str:
    if b"\0" in data:
        raise SourceError("binary file (contains NUL bytes), not Python source")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        raise SourceError(f"unreadable encoding declaration: {exc}") from None
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise SourceError(f"not valid {encoding} text ({exc.__class__.__name__}: {exc})") from None


def check_source(data: bytes, rules: Sequence[type[Rule]]) -> FileOutcome:
    """Check one file's bytes; never raises."""
    try:
        text = decode_source(data)
    except SourceError as exc:
        return FileOutcome(error=str(exc))
    active = [rule for rule in rules if rule.could_match(text)]
    if not active:
        return FileOutcome()
    try:
        return FileOutcome(findings=lint_text(text, active), parsed=True)
    except cst.ParserSyntaxError as exc:
        return FileOutcome(
            error=f"syntax error at line {exc.raw_line}, column {exc.raw_column + 1}: "
            + " ".join(exc.message.split()),
            parsed=True,
        )
    except RecursionError:
        return FileOutcome(error="too deeply nested to analyse", parsed=True)
    except Exception as exc:  # a bug in a rule must not end the scan
        return FileOutcome(
            error=f"internal error, please report: {exc.__class__.__name__}: {exc}", parsed=True
        )


def lint_text(text: str, rules: Sequence[type[Rule]]) -> tuple[Finding, ...]:
    """Findings of ``rules`` in ``text`` (raises libcst.ParserSyntaxError on bad syntax)."""
    module = cst.parse_module(text)
    ctx = FileContext(ImportTable(_is_known))
    dispatcher = _Dispatcher(ctx, [rule(ctx) for rule in rules])
    module.visit(dispatcher)
    if not ctx.reports:
        return ()
    comments = dispatcher.suppressions
    spans = positions(module, text, [r.node for r in ctx.reports] + [c for c, _, _ in comments])
    suppressed: dict[int, set[str] | None] = {}
    for comment, own_line, codes in comments:
        line = spans[comment][0] + (1 if own_line else 0)
        if codes is None or suppressed.get(line, set()) is None:
            suppressed[line] = None
        else:
            suppressed.setdefault(line, set()).update(codes)  # type: ignore[union-attr]
    findings = set()
    for report in ctx.reports:
        line, column, end_line, end_column = spans[report.node]
        codes = suppressed.get(line, set())
        rule = report.rule
        if codes is None or rule.code in codes or rule.name in codes:
            continue
        findings.add(
            Finding(rule.code, rule.name, "", line, column, end_line, end_column, report.message)
        )
    return tuple(sorted(findings, key=lambda f: (f.line, f.column, f.code)))


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


class _Dispatcher(cst.CSTVisitor):
    """One traversal for all rules: keeps the ancestry and imports, resolves each name once."""

    def __init__(self, ctx: FileContext, rules: list[Rule]) -> None:
        super().__init__()
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
        self.suppressions: list[tuple[cst.Comment, bool, set[str] | None]] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        ctx = self.ctx
        ctx.stack.append(node)
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
        elif kind is cst.Comment:
            self._comment(node)  # type: ignore[arg-type]
        if (kind is cst.Name or kind is cst.Attribute) and id(node) not in skip:
            self._reference(node)  # type: ignore[arg-type]
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        for leave in self.leaves.get(type(original_node), ()):
            leave(original_node)
        self.ctx.stack.pop()

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

    def _comment(self, node: cst.Comment) -> None:
        match = _SUPPRESSION.search(node.value)
        if match is None:
            return
        own_line = isinstance(self.ctx.parent(), cst.EmptyLine)
        raw = match.group("codes")
        codes = None if raw is None else {c.strip() for c in raw.split(",") if c.strip()}
        self.suppressions.append((node, own_line, codes))
