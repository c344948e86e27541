"""The app checker: rules over app code (MIG6xx), the Android, iOS and C++ side of a PyTorch
Mobile app.

An :class:`AppRule` is a :class:`~rewrites.core.Rule` (same code, name, docs, fix safety, examples,
selection and suppression) that reads an :class:`~rewrites.app_source.AppSource` instead of a
libcst tree and yields :class:`Hit` spans. A fix is a set of text edits, plus files to create
beside the one being fixed (a helper class the app needs once a library is gone). Suppression is
``// migrate: ignore[MIG602]`` (or ``#`` in Podfiles and catalogs) at the end of the line, or on
the line above. Rounds, fix selection and error wrapping are the core's (:mod:`rewrites.core`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from rewrites import core
from rewrites.app_source import AppSource, language_of, parse_app
from rewrites.core import Diagnostic, FileOutcome, FixOutcome, Rule, Suppressions, for_language, guarded

# The ExecuTorch Android AAR release a Gradle fix writes: the one matching the executorch this
# tool pins (a test checks they agree). `executorch-android-version` in [tool.migrate] overrides it.
EXECUTORCH_ANDROID_VERSION = "1.5.1"
DEFAULT_SETTINGS: Mapping[str, str] = {"executorch-android-version": EXECUTORCH_ANDROID_VERSION}


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
    """A rule over app code; ``languages`` are :data:`rewrites.app_source.LANGUAGES` keys."""

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


# A PyTorch C++ extension: custom ops compiled for the Python package (torch.utils.cpp_extension),
# not an app embedding LibTorch. Nothing in it is PyTorch Mobile's to migrate.
_TORCH_EXTENSION = re.compile(r"#[ \t]*include[ \t]*[<\"]torch/extension\.h[>\"]|\bPYBIND11_MODULE[ \t]*\(")


def _admitted(text: str, language: str, rules: Sequence[type[Rule]]) -> list[type[AppRule]]:
    if language in ("cpp", "objc") and _TORCH_EXTENSION.search(text):
        return []
    return [
        r
        for r in for_language(app_rules(rules), language)
        if any(all(t in text for t in group) for group in r.tokens)
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
    return guarded(
        lambda: FileOutcome(
            findings=core.findings(_run(parse_app(text, language, path), active, settings)), parsed=True
        ),
        lambda error: FileOutcome(error=error, parsed=True),
    )


def _run(source: AppSource, rules: Sequence[type[AppRule]], settings: Mapping[str, str]) -> list[Diagnostic]:
    suppressions = _suppressions(source) if "migrate:" in source.text else None
    return core.settle(
        (
            Diagnostic(
                rule,
                *source.line_col(hit.start),
                *source.line_col(hit.end),
                hit.message or rule.message,
                edit=hit if hit.fixable else None,
                origin=hit,
            )
            for rule in rules
            for hit in rule(source, settings).check()
        ),
        suppressions,
    )


def _suppressions(source: AppSource) -> Suppressions:
    """``migrate: ignore`` comments; a comment alone on its line covers the next."""
    result = Suppressions()
    for start, end in source.comments:
        match = core.SUPPRESSION.search(source.text, start, end)
        if match is None:
            continue
        line = source.line_col(start)[0]
        if not source.text[source.line_start(start) : start].strip():
            line += 1
        result.add(line, match)
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
    fixer = _AppFixer(language, path, rules, settings)

    def fix() -> FixOutcome:
        run = core.fix_rounds(fixer, original, unsafe=unsafe)
        changed = run.text != original
        return FixOutcome(
            original,
            run.text if changed else None,
            run.text.encode("utf-8") if changed else None,
            core.findings(run.fixed),
            core.findings(run.remaining),
            None if run.settled else core.unsettled(_MAX_ROUNDS),
            created=tuple(sorted(fixer.files.items())),
        )

    return guarded(fix, lambda error: FixOutcome(error=error), fixing=True, known=_known_error)


class _BreaksParse(Exception):
    pass


def _known_error(exc: Exception) -> str | None:
    return str(exc) if isinstance(exc, _BreaksParse) else None


class _AppFixer:
    """The app side of :func:`rewrites.core.fix_rounds`: text spans, text edits, created files."""

    def __init__(
        self, language: str, path: str, rules: Sequence[type[Rule]], settings: Mapping[str, str]
    ) -> None:
        self.language = language
        self.path = path
        self.rules = rules
        self.settings = settings
        self.max_rounds = _MAX_ROUNDS
        self.baseline: int | None = None
        self.files: dict[str, str] = {}

    def diagnose(self, text: str) -> tuple[AppSource, list[Diagnostic]]:
        source = parse_app(text, self.language, self.path, count_errors=True)
        self.baseline = source.errors if self.baseline is None else self.baseline
        if source.errors > self.baseline:
            raise _BreaksParse(
                f"a fix would leave {self.language} that does not parse; the file is left as it is "
                "(please report)"
            )
        return source, _run(source, _admitted(text, self.language, self.rules), self.settings)

    def footprint(self, diagnostic: Diagnostic) -> list[tuple[int, int]]:
        return [(e.start, e.end) for e in _hit(diagnostic).edits]

    def clashes(self, footprint: list[tuple[int, int]], taken: list[list[tuple[int, int]]]) -> bool:
        return any(_touch(s, e, ts, te) for s, e in footprint for spans in taken for ts, te in spans)

    def apply(self, parsed: AppSource, text: str, chosen: list[Diagnostic]) -> tuple[list[Diagnostic], str]:
        new = text
        edits = (e for d in chosen for e in _hit(d).edits)
        for edit in sorted(edits, key=lambda e: e.start, reverse=True):
            new = new[: edit.start] + edit.text + new[edit.end :]
        for diagnostic in chosen:
            for name, content in _hit(diagnostic).files:
                self.files.setdefault(name, content)
        return chosen, new

    def also_fixed(self, found: list[Diagnostic], chosen: list[Diagnostic]) -> list[Diagnostic]:
        return []


def _hit(diagnostic: Diagnostic) -> Hit:
    assert isinstance(diagnostic.origin, Hit)
    return diagnostic.origin


def _touch(s: int, e: int, ts: int, te: int) -> bool:
    """Whether two edits' spans overlap; an insertion touches a span it is at either end of
    (applied in one round, the two would interleave)."""
    return (s < te and ts < e) or (s == e and ts <= s <= te) or (ts == te and s <= ts <= e)
