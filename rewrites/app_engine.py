"""Rules over app code (MIG6xx): the Android, iOS and C++ side of a PyTorch Mobile app.

An :class:`AppRule` is a :class:`~rewrites.rule.Rule` (same code, name, docs, fix safety, examples,
selection and suppression) that reads an :class:`~rewrites.app_source.AppSource` instead of a
libcst tree and yields :class:`Hit` spans. A fix is a set of text edits, plus files to create
beside the one being fixed (a helper class the app needs once a library is gone). Suppression is
``// migrate: ignore[MIG602]`` (or ``#`` in Podfiles and catalogs) at the end of the line, or on
the line above.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

from rewrites.app_source import AppSource, language_of, parse_app
from rewrites.engine import FileOutcome, FixOutcome
from rewrites.model import Finding, Fix, FixSafety
from rewrites.rule import Rule

# The ExecuTorch Android AAR release a Gradle fix writes: the one matching the executorch this
# tool pins (a test checks they agree). `executorch-android-version` in [tool.migrate] overrides it.
EXECUTORCH_ANDROID_VERSION = "1.5.1"
DEFAULT_SETTINGS: Mapping[str, str] = {"executorch-android-version": EXECUTORCH_ANDROID_VERSION}

_SUPPRESSION = re.compile(r"migrate:\s*ignore\b(?:\[(?P<codes>[^\]]*)\])?", re.IGNORECASE)


@dataclass(frozen=True)
class TextEdit:
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Hit:
    """One finding: a span of the file, and the fix when there is one."""

    start: int
    end: int
    message: str | None = None
    edits: tuple[TextEdit, ...] = ()
    # files to create, by path relative to the fixed file's folder
    files: tuple[tuple[str, str], ...] = ()

    @property
    def fixable(self) -> bool:
        return bool(self.edits or self.files)


class AppRule(Rule):
    """A rule over app code; ``languages`` are :data:`rewrites.app_source.GRAMMARS` keys."""

    languages: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, source: AppSource, settings: Mapping[str, str]) -> None:
        self.source = source
        self.settings = settings

    def check(self) -> Iterator[Hit]:
        raise NotImplementedError

    # helpers shared by the rules
    def search(self, pattern: str | re.Pattern[str]) -> Iterator[re.Match[str]]:
        """Matches in the code only (comments and string contents are blanked)."""
        compiled = pattern if isinstance(pattern, re.Pattern) else re.compile(pattern, re.MULTILINE)
        return compiled.finditer(self.source.masked)

    def imports(self) -> Iterator[re.Match[str]]:
        """Java / Kotlin import lines: group ``name`` is the imported name, ``line`` the whole line."""
        return self.search(_IMPORT)

    def delete_line(self, offset: int) -> TextEdit:
        return TextEdit(self.source.line_start(offset), self.source.line_end(offset), "")


_IMPORT = re.compile(
    r"^(?P<line>[ \t]*import[ \t]+(?:static[ \t]+)?(?P<name>[\w.]+(?:\.\*)?)"
    r"(?:[ \t]+as[ \t]+(?P<alias>\w+))?[ \t]*;?[ \t]*(?:\r\n?|\n|$))",
    re.MULTILINE,
)


def app_rules(rules: Sequence[type[Rule]]) -> list[type[AppRule]]:
    return [r for r in rules if issubclass(r, AppRule)]


def python_rules(rules: Sequence[type[Rule]]) -> list[type[Rule]]:
    return [r for r in rules if "python" in r.languages]


class AppSourceError(Exception):
    """The bytes are not text we can read; the message is one line."""


def decode_app(data: bytes) -> str:
    if b"\0" in data:
        raise AppSourceError("binary file (contains NUL bytes), not source code")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise AppSourceError(
            f"not valid UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start})"
        ) from None


def _admitted(text: str, language: str, rules: Sequence[type[Rule]]) -> list[type[AppRule]]:
    return [
        r
        for r in app_rules(rules)
        if language in r.languages and any(all(t in text for t in group) for group in r.tokens)
    ]


def _read(data: bytes, path: str) -> tuple[str, str] | str | None:
    """(language, text) of an app file, or the one-line reason it cannot be read (None: not app code)."""
    language = language_of(path.rsplit("/", 1)[-1])
    if language is None:
        return None
    try:
        return language, decode_app(data)
    except AppSourceError as exc:
        return str(exc)


def check_app(
    data: bytes, path: str, rules: Sequence[type[Rule]], settings: Mapping[str, str] = DEFAULT_SETTINGS
) -> FileOutcome:
    """Findings of the app ``rules`` in one file; never raises."""
    read = _read(data, path)
    if not isinstance(read, tuple):
        return FileOutcome(error=read)
    language, text = read
    active = _admitted(text, language, rules)
    if not active:
        return FileOutcome()
    try:
        source = parse_app(text, language, path)
        return FileOutcome(findings=tuple(f for _, f in _run(source, active, settings)), parsed=True)
    except RecursionError:
        return FileOutcome(error="too deeply nested to analyse", parsed=True)
    except Exception as exc:  # a bug in a rule must not end the scan
        return FileOutcome(
            error=f"internal error, please report: {exc.__class__.__name__}: {exc}", parsed=True
        )


def _run(
    source: AppSource, rules: Sequence[type[AppRule]], settings: Mapping[str, str]
) -> list[tuple[tuple[type[AppRule], Hit], Finding]]:
    suppressed = _suppressions(source) if "migrate:" in source.text else {}
    found: dict[Finding, tuple[type[AppRule], Hit]] = {}
    for rule in rules:
        for hit in rule(source, settings).check():
            line, column = source.line_col(hit.start)
            codes = suppressed.get(line, set())
            if codes is None or rule.code in codes or rule.name in codes:
                continue
            end_line, end_column = source.line_col(hit.end)
            fix = Fix(rule.fix_safety, rule.fix_title or "") if hit.fixable else None
            finding = Finding(
                rule.code, rule.name, "", line, column, end_line, end_column, hit.message or rule.message, fix
            )
            found.setdefault(finding, (rule, hit))
    return sorted(((h, f) for f, h in found.items()), key=lambda p: (p[1].line, p[1].column, p[1].code))


def _suppressions(source: AppSource) -> dict[int, set[str] | None]:
    """line -> codes suppressed there (None: all). A comment alone on its line covers the next."""
    result: dict[int, set[str] | None] = {}
    for start, end in source.comments:
        match = _SUPPRESSION.search(source.text, start, end)
        if match is None:
            continue
        line = source.line_col(start)[0]
        if not source.text[source.line_start(start) : start].strip():
            line += 1
        raw = match.group("codes")
        if raw is None or result.get(line, set()) is None:
            result[line] = None
        else:
            result.setdefault(line, set()).update(c.strip() for c in raw.split(",") if c.strip())  # type: ignore[union-attr]
    return result


_MAX_ROUNDS = 10


def fix_app(
    data: bytes,
    path: str,
    rules: Sequence[type[Rule]],
    *,
    unsafe: bool = False,
    settings: Mapping[str, str] = DEFAULT_SETTINGS,
) -> FixOutcome:
    """Fix one app file; never raises. A fix that would make the file stop parsing is refused."""
    read = _read(data, path)
    if not isinstance(read, tuple):
        return FixOutcome(error=read)
    language, original = read
    allowed = {FixSafety.SAFE, FixSafety.UNSAFE} if unsafe else {FixSafety.SAFE}
    text = original
    fixed: list[Finding] = []
    files: dict[str, str] = {}
    baseline: int | None = None
    try:
        for round_ in range(_MAX_ROUNDS + 1):
            source = parse_app(text, language, path, count_errors=True)
            baseline = source.errors if baseline is None else baseline
            if source.errors > baseline:
                return FixOutcome(
                    error=f"a fix would leave {language} that does not parse; the file is left as it is "
                    "(please report)"
                )
            found = _run(source, _admitted(text, language, rules), settings)
            remaining = tuple(f for _, f in found)
            chosen = _independent([(h, f) for (r, h), f in found if h.fixable and r.fix_safety in allowed])
            if not chosen or round_ == _MAX_ROUNDS:
                break
            new = text
            for edit in sorted((e for h, _ in chosen for e in h.edits), key=lambda e: e.start, reverse=True):
                new = new[: edit.start] + edit.text + new[edit.end :]
            for hit, finding in chosen:
                fixed.append(finding)
                for name, content in hit.files:
                    files.setdefault(name, content)
            if new == text:
                break
            text = new
    except Exception as exc:  # a bug in a fix must not end the run or touch the file
        return FixOutcome(
            error=f"internal error while fixing, please report: {exc.__class__.__name__}: {exc}"
        )
    changed = text != original
    return FixOutcome(
        original,
        text if changed else None,
        text.encode("utf-8") if changed else None,
        tuple(fixed),
        remaining,
        created=tuple(sorted(files.items())),
    )


def _independent(pairs: list[tuple[Hit, Finding]]) -> list[tuple[Hit, Finding]]:
    """The hits whose edits touch no other chosen hit's edits (the rest wait a round)."""
    taken: list[tuple[int, int]] = []
    chosen = []
    for hit, finding in sorted(pairs, key=lambda p: p[0].start):
        spans = [(e.start, e.end) for e in hit.edits]
        if any(_touch(s, e, ts, te) for s, e in spans for ts, te in taken):
            continue
        taken.extend(spans)
        chosen.append((hit, finding))
    return chosen


def _touch(s: int, e: int, ts: int, te: int) -> bool:
    """Whether two edits' spans overlap; an insertion touches a span it is at either end of
    (applied in one round, the two would interleave)."""
    return (s < te and ts < e) or (s == e and ts <= s <= te) or (ts == te and s <= ts <= e)
