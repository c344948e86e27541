"""The language-neutral rule core: rule metadata, the diagnostic, suppression, and the one fixer.

A language is a *checker* (``rewrites.python_checker`` for Python over libcst,
``rewrites.app_checker`` for Gradle, Java, Kotlin, C++, Objective-C++, ... over tree-sitter and
lexers): it turns a file's text and the rules of its language into :class:`Diagnostic` values and
knows how to apply their edits. Everything that does not depend on the language lives here: what a
rule declares, which comments silence it, which fixes a round takes, how many rounds run, and how a
failure becomes a one-line error instead of an exception. A new language is a new checker.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar, Protocol, TypeVar

from rewrites.model import Finding, Fix, FixSafety

DOC_SECTIONS = ("What it does", "Why is this bad?", "Example", "Fix safety")


@dataclass(frozen=True)
class Valid:
    """Source the rule must not report; ``path`` names the file it is read as (app rules)."""

    code: str
    path: str | None = None
    project: tuple[tuple[str, str], ...] = ()  # other files of the project: (path, text)


@dataclass(frozen=True)
class Invalid:
    """Source the rule must report, at ``line``/``column`` (1-based) when given.

    ``expected`` is the whole source after ``migrate apply --fix --unsafe-fixes`` with only this
    rule selected; cases of rules that can fix must give it. ``message`` is the message the first
    finding must carry, when it is not the rule's own ``message`` (a message with arguments).
    """

    code: str
    line: int | None = None
    column: int | None = None
    count: int = 1
    expected: str | None = None
    path: str | None = None
    project: tuple[tuple[str, str], ...] = ()  # other files of the project: (path, text)
    message: str | None = None


class Rule:
    """What every rule declares, whatever language it reads.

    The checker of each language adds how a rule looks at code: ``PythonRule`` visits a libcst
    tree, ``AppRule`` reads an ``AppSource``.
    """

    code: ClassVar[str]
    name: ClassVar[str]
    # The message; ``{field}``s in it are filled from each diagnostic's arguments.
    message: ClassVar[str]
    fix_title: ClassVar[str | None] = None
    fix_safety: ClassVar[FixSafety] = FixSafety.DISPLAY_ONLY
    # Prefilter: the rule can only report in text holding every token of one group.
    tokens: ClassVar[tuple[tuple[str, ...], ...]] = ()
    # what the rule reads: "python", or rewrites.app_source.LANGUAGES keys
    languages: ClassVar[frozenset[str]] = frozenset()
    # What each ``{field}`` of ``message`` stands for, where no finding fills it (rule summaries).
    placeholders: ClassVar[Mapping[str, str]] = {"name": "this API"}
    VALID: ClassVar[Sequence[Valid]] = ()
    INVALID: ClassVar[Sequence[Invalid]] = ()

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        # Longest (rarest) token first, so most checks stop at the first miss.
        cls.tokens = tuple(tuple(sorted(set(g), key=lambda t: (-len(t), t))) for g in cls.tokens)

    @classmethod
    def doc(cls) -> str:
        return inspect.cleandoc(cls.__doc__ or "")

    @classmethod
    def render(cls, args: Mapping[str, str] | None = None, detail: str | None = None) -> str:
        """The message with its ``{field}``s filled from ``args``, and ``detail`` after it in
        parentheses: every output (console, JSON, SARIF, Markdown) shows this one text."""
        message = cls.message.format_map(args) if args else cls.message
        return message if detail is None else f"{message} ({detail})"

    @classmethod
    def summary(cls) -> str:
        """The message with its fields described (``placeholders``), for rule listings."""
        return _FIELD.sub(lambda m: cls.placeholders.get(m.group(1), m.group(0)), cls.message)


# a `{field}` of a message (literal braces in a message, `{sizes}` in C++ advice, stay as written)
_FIELD = re.compile(r"\{(\w+)\}")

R = TypeVar("R", bound=Rule)


def for_language(rules: Iterable[type[R]], language: str) -> list[type[R]]:
    """The rules that read ``language``: the one place a rule's ``languages`` is read."""
    return [rule for rule in rules if language in rule.languages]


@dataclass(frozen=True, eq=False)
class Diagnostic:
    """One report of a rule in one file: where, the message arguments, and the edit (if any).

    ``edit`` and ``origin`` belong to the checker that made it (libcst changes, text edits); the
    core only asks whether there is an edit.
    """

    rule: type[Rule]
    line: int
    column: int
    end_line: int
    end_column: int
    message: str  # the rule's message filled from ``args`` (Rule.render)
    args: tuple[tuple[str, str], ...] = ()
    edit: object | None = None
    origin: object = None

    @cached_property
    def finding(self) -> Finding:
        rule = self.rule
        fix = None if self.edit is None else Fix(rule.fix_safety, rule.fix_title or "")
        return Finding(
            rule.code,
            rule.name,
            "",
            self.line,
            self.column,
            self.end_line,
            self.end_column,
            self.message,
            fix,
        )


# `# migrate: ignore[MIG101, jit-script]`, or without codes for every rule; the comment marker
# (`#`, `//`) is the checker's.
SUPPRESSION = re.compile(r"migrate:\s*ignore\b(?:\[(?P<codes>[^\]]*)\])?", re.IGNORECASE)


class Suppressions:
    """Lines on which suppression comments silence rules (``None``: every rule)."""

    def __init__(self) -> None:
        self.lines: dict[int, set[str] | None] = {}

    def add(self, line: int, match: re.Match[str]) -> None:
        raw = match.group("codes")
        if raw is None or self.lines.get(line, set()) is None:
            self.lines[line] = None
        else:
            self.lines.setdefault(line, set()).update(c.strip() for c in raw.split(",") if c.strip())  # type: ignore[union-attr]

    def silences(self, diagnostic: Diagnostic) -> bool:
        codes = self.lines.get(diagnostic.line, set())
        return codes is None or diagnostic.rule.code in codes or diagnostic.rule.name in codes


def settle(diagnostics: Iterable[Diagnostic], suppressions: Suppressions | None = None) -> list[Diagnostic]:
    """The diagnostics no comment silences, one per finding, in source order."""
    kept: dict[Finding, Diagnostic] = {}
    for diagnostic in diagnostics:
        if suppressions is None or not suppressions.silences(diagnostic):
            kept.setdefault(diagnostic.finding, diagnostic)
    return sorted(kept.values(), key=lambda d: (d.line, d.column, d.rule.code))


@dataclass(frozen=True)
class FileOutcome:
    """What checking one file gave: findings (paths left empty) or an error line."""

    findings: tuple[Finding, ...] = ()
    error: str | None = None
    parsed: bool = False


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


T = TypeVar("T")
S = TypeVar("S")
F = TypeVar("F")


def guarded(
    action: Callable[[], T],
    failure: Callable[[str], T],
    *,
    fixing: bool = False,
    known: Callable[[Exception], str | None] = lambda exc: None,
) -> T:
    """``action()``, or ``failure(one line)`` for any exception: checking never raises.

    ``known`` words the exceptions a checker expects (a syntax error); anything else is a bug in
    a rule, which must not end the run or touch the file.
    """
    try:
        return action()
    except RecursionError:
        return failure("too deeply nested to analyse")
    except Exception as exc:
        message = known(exc)
        if message is not None:
            return failure(message)
        doing = "internal error while fixing, please report" if fixing else "internal error, please report"
        return failure(f"{doing}: {exc.__class__.__name__}: {exc}")


class Checker(Protocol[S, F]):
    """What the fixer needs from a language: read the text, find, and apply edits."""

    max_rounds: int

    def diagnose(self, text: str) -> tuple[S, list[Diagnostic]]:
        """The parsed text and the diagnostics of its rules (raises when it cannot parse)."""

    def footprint(self, diagnostic: Diagnostic) -> F:
        """What a diagnostic's edit touches."""

    def clashes(self, footprint: F, taken: list[F]) -> bool:
        """Whether an edit touching ``footprint`` would interfere with edits already taken."""

    def apply(self, parsed: S, text: str, chosen: list[Diagnostic]) -> tuple[list[Diagnostic], str]:
        """The edits actually applied (a checker may refuse some) and the new text."""

    def also_fixed(self, found: list[Diagnostic], chosen: list[Diagnostic]) -> list[Diagnostic]:
        """Diagnostics the applied edits fixed besides their own."""


def independent(candidates: Sequence[Diagnostic], checker: Checker[Any, F]) -> list[Diagnostic]:
    """The fixes whose edits touch none taken before them, in source order (the rest wait)."""
    taken: list[F] = []
    chosen = []
    for diagnostic in candidates:
        footprint = checker.footprint(diagnostic)
        if not checker.clashes(footprint, taken):
            taken.append(footprint)
            chosen.append(diagnostic)
    return chosen


@dataclass(frozen=True)
class FixRun:
    """What the fixer did to one text."""

    text: str
    fixed: tuple[Diagnostic, ...]
    remaining: tuple[Diagnostic, ...]
    settled: bool  # False: fixes were still pending at the round cap


def fix_rounds(checker: Checker[Any, Any], text: str, *, unsafe: bool = False) -> FixRun:
    """The one fixer: each round applies the fixes that do not touch each other; the rest wait
    for the next round (a fix nested in another's waits one round per level). Raises what the
    checker raises."""
    allowed = {FixSafety.SAFE, FixSafety.UNSAFE} if unsafe else {FixSafety.SAFE}
    fixed: list[Diagnostic] = []
    for _ in range(checker.max_rounds):
        parsed, found = checker.diagnose(text)
        candidates = [d for d in found if d.edit is not None and d.rule.fix_safety in allowed]
        chosen = independent(candidates, checker)
        new_text = text
        if chosen:
            chosen, new_text = checker.apply(parsed, text, chosen)
        if not chosen or new_text == text:
            return FixRun(text, tuple(fixed), tuple(found), True)
        fixed.extend(chosen)
        fixed.extend(checker.also_fixed(found, chosen))
        text = new_text
    return FixRun(text, tuple(fixed), tuple(checker.diagnose(text)[1]), False)


def unsettled(max_rounds: int) -> str:
    return f"fixes still pending after {max_rounds} rounds: run apply again"


def findings(diagnostics: Iterable[Diagnostic]) -> tuple[Finding, ...]:
    return tuple(d.finding for d in diagnostics)
