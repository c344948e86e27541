"""Scan a tree: find files, skip what the prefilter rules out, parse the rest in parallel,
reuse cached results, and return one :class:`ScanResult`."""

from __future__ import annotations

import fnmatch
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

from rewrites.app_engine import DEFAULT_SETTINGS, app_rules, check_app, fix_app, python_rules
from rewrites.app_source import language_of
from rewrites.cache import ResultCache, content_digest
from rewrites.engine import FileOutcome, FixOutcome, analyse, fix_source, screen
from rewrites.files import discover, read_regular
from rewrites.model import FileError, Finding, ScanResult
from rewrites.project import EMPTY, ProjectIndex, index_project
from rewrites.registry import all_rules, select_rules
from rewrites.rule import Rule

Progress = Callable[[int, int], None]

# Below this much source to parse, starting worker processes costs more than it saves.
_PARALLEL_MIN_BYTES = 512 * 1024


@dataclass(frozen=True)
class ScanOptions:
    rules: tuple[type[Rule], ...]
    exclude: tuple[str, ...] = ()
    exclude_base: Path | None = None
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    respect_gitignore: bool = True
    force_exclude: bool = False  # the excludes apply to paths named explicitly too
    cache_dir: Path | None = None
    jobs: int | None = None
    max_file_bytes: int = 10 * 1024 * 1024
    tool_version: str = ""
    # what app-code fixes write (executorch-android-version)
    app_settings: tuple[tuple[str, str], ...] = tuple(DEFAULT_SETTINGS.items())


def scan_root(paths: Sequence[Path]) -> Path:
    """The folder finding paths are relative to: the common folder of everything scanned."""
    folders = [p if p.is_dir() else p.parent for p in (Path(os.path.abspath(x)) for x in paths)]
    return Path(os.path.commonpath(folders)) if folders else Path.cwd()


def scan(paths: Sequence[Path], options: ScanOptions, progress: Progress | None = None) -> ScanResult:
    root = scan_root(paths)
    found = discover(
        paths,
        exclude=options.exclude,
        exclude_base=options.exclude_base,
        force_exclude=options.force_exclude,
        respect_gitignore=options.respect_gitignore,
    )
    errors = [FileError(_relative(path, root), message) for path, message in found.errors]
    cache = ResultCache(options.cache_dir, options.rules, options.exclude_base)
    outcomes: dict[str, FileOutcome] = {}
    pending: list[tuple[str, str, ScanJob]] = []  # (path, cache key, job)
    total, done, hits = len(found.files), 0, 0
    app_codes = tuple(r.code for r in app_rules(options.rules))
    project = _index(found.files, root, options)
    salt = project.digest().encode() if project != EMPTY else b""
    for path in found.files:
        rel = _relative(path, root)
        data, problem = read_regular(path, options.max_file_bytes)
        if data is None:
            errors.append(FileError(rel, problem))
        elif (language := language_of(path.name)) is not None:
            digest = content_digest(language.encode() + b"\0" + data)
            cached = cache.get(digest)
            if cached is None:
                pending.append((rel, digest, (data, rel, app_codes, EMPTY)))
                continue
            outcomes[rel] = cached
            hits += 1
        else:
            digest = content_digest(data + salt)  # what a file's fixes offer depends on the project
            cached = cache.get(digest)
            screened = cached if cached is not None else screen(data, python_rules(options.rules))
            if isinstance(screened, FileOutcome):
                outcomes[rel] = screened
                if cached is None:
                    cache.put(digest, screened)
                else:
                    hits += 1
            else:
                text, active = screened
                pending.append((rel, digest, (text, rel, tuple(r.code for r in active), project)))
                continue
        done += 1
        if progress is not None:
            progress(done, total)
    crashed = FileOutcome(error="the parser crashed on this file", parsed=True)
    work = [job for _, _, job in pending]
    sizes = [len(job[0]) for job in work]
    for index, outcome in _parallel(_scan_job, work, sizes, options.jobs, crashed):
        rel, digest = pending[index][:2]
        outcomes[rel] = outcome
        cache.put(digest, outcome)
        done += 1
        if progress is not None:
            progress(done, total)
    cache.save()

    findings: list[Finding] = []
    for rel, outcome in outcomes.items():
        if outcome.error is not None:
            errors.append(FileError(rel, outcome.error))
        ignored = _ignored_rules(root / rel, options)
        findings.extend(replace(f, path=rel) for f in outcome.findings if f.code not in ignored)
    findings.sort(key=lambda f: (f.path, f.line, f.column, f.code))
    errors.sort(key=lambda e: e.path)
    return ScanResult(
        root=str(root),
        files_scanned=total,
        findings=tuple(findings),
        errors=tuple(errors),
        files_parsed=len(pending),
        cache_hits=hits,
        tool_version=options.tool_version,
        rules=tuple(r.code for r in options.rules),
    )


NEW_FILE = ""


@dataclass(frozen=True)
class FileChange:
    """What ``apply`` would write to one file."""

    path: str  # relative to the result's root
    original: str
    text: str
    data: bytes  # the new bytes, in the file's own encoding
    digest: str  # of the bytes that were read, to refuse writing over a file edited meanwhile;
    # NEW_FILE for a file a fix creates, which must not exist when it is written
    fixed: tuple[Finding, ...]


@dataclass(frozen=True)
class ApplyResult:
    changes: tuple[FileChange, ...]
    report: ScanResult  # what is left, with ``fixed`` listing what the changes fix
    options: ScanOptions | None = None  # to scan again what could not be written


def apply(
    paths: Sequence[Path], options: ScanOptions, *, unsafe: bool = False, progress: Progress | None = None
) -> ApplyResult:
    """The fixes ``options.rules`` offer (safe ones only unless ``unsafe``); writes nothing."""
    root = scan_root(paths)
    found = discover(
        paths,
        exclude=options.exclude,
        exclude_base=options.exclude_base,
        force_exclude=options.force_exclude,
        respect_gitignore=options.respect_gitignore,
    )
    errors = [FileError(_relative(path, root), message) for path, message in found.errors]
    findings: list[Finding] = []
    pending: list[tuple[str, str, bytes, tuple[str, ...]]] = []
    changes: list[FileChange] = []
    fixed: list[Finding] = []
    total, done = len(found.files), 0
    project = _index(found.files, root, options)
    for path in found.files:
        rel = _relative(path, root)
        data, problem = read_regular(path, options.max_file_bytes)
        rules = _rules_for(path, options)
        if data is not None and language_of(path.name) is not None:
            pending.append((rel, content_digest(data), data, tuple(r.code for r in app_rules(rules))))
            continue
        rules = python_rules(rules)
        screened = screen(data, rules) if data is not None else FileOutcome(error=problem)
        if isinstance(screened, FileOutcome):
            if screened.error is not None:
                errors.append(FileError(rel, screened.error))
            done += 1
            if progress is not None:
                progress(done, total)
        elif data is not None:
            # every rule the file is under, not just those its text admits now: a fix can
            # write what another rule reports
            pending.append((rel, content_digest(data), data, tuple(r.code for r in rules)))
    settings = options.app_settings
    work = [(data, rel, codes, unsafe, settings, project) for rel, _, data, codes in pending]
    crashed = FixOutcome(error="the parser crashed on this file")
    for index, outcome in _parallel(_fix_job, work, [len(job[0]) for job in work], options.jobs, crashed):
        rel, digest = pending[index][:2]
        _collect(rel, digest, outcome, root, errors, findings, fixed, changes)
        done += 1
        if progress is not None:
            progress(done, total)
    report = ScanResult(
        root=str(root),
        files_scanned=total,
        findings=tuple(sorted(findings, key=lambda f: (f.path, f.line, f.column, f.code))),
        errors=tuple(sorted(errors, key=lambda e: e.path)),
        files_parsed=len(pending),
        tool_version=options.tool_version,
        rules=tuple(r.code for r in options.rules),
        fixed=tuple(sorted(fixed, key=lambda f: (f.path, f.line, f.column, f.code))),
    )
    return ApplyResult(tuple(sorted(_unique(changes), key=lambda c: c.path)), report, options)


def _collect(
    rel: str,
    digest: str,
    outcome: FixOutcome,
    root: Path,
    errors: list[FileError],
    findings: list[Finding],
    fixed: list[Finding],
    changes: list[FileChange],
) -> None:
    if outcome.error is not None:
        errors.append(FileError(rel, outcome.error))
    findings.extend(replace(f, path=rel) for f in outcome.remaining)
    mine = [replace(f, path=rel) for f in outcome.fixed]
    fixed.extend(mine)
    if outcome.data is not None and outcome.text is not None and outcome.original is not None:
        changes.append(FileChange(rel, outcome.original, outcome.text, outcome.data, digest, tuple(mine)))
    folder = rel.rpartition("/")[0]
    for name, text in outcome.created:
        new = f"{folder}/{name}" if folder else name
        if not (root / new).exists():
            changes.append(FileChange(new, "", text, text.encode("utf-8"), NEW_FILE, ()))


def _unique(changes: list[FileChange]) -> list[FileChange]:
    """One change per path: two files in a folder can each ask for the same helper file."""
    seen: dict[str, FileChange] = {}
    for change in changes:
        seen.setdefault(change.path, change)
    return list(seen.values())


def _rules_for(path: Path, options: ScanOptions) -> list[type[Rule]]:
    ignored = _ignored_rules(path, options)
    return [r for r in options.rules if r.code not in ignored]


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _ignored_rules(path: Path, options: ScanOptions) -> frozenset[str]:
    """The codes per-file-ignores turns off for ``path``: its patterns match the path relative to
    the configuration's folder, whatever folder was scanned, and one without a ``/`` matches a
    file name at any depth (as extend-exclude's do); the codes select rules as --select does."""
    if not options.per_file_ignores:
        return frozenset()
    base = os.path.realpath(options.exclude_base or Path.cwd())
    rel = Path(os.path.relpath(os.path.realpath(path), base)).as_posix()
    if rel == ".." or rel.startswith("../"):
        return frozenset()
    name = rel.rpartition("/")[2]
    selectors = [
        code
        for pattern, codes in options.per_file_ignores
        if fnmatch.fnmatch(rel, pattern) or ("/" not in pattern and fnmatch.fnmatch(name, pattern))
        for code in codes
    ]
    return frozenset(rule.code for rule in select_rules(selectors)) if selectors else frozenset()


@lru_cache(maxsize=1)
def _rules_by_code() -> dict[str, type[Rule]]:
    return {rule.code: rule for rule in all_rules()}


def _index(files: Sequence[Path], root: Path, options: ScanOptions) -> ProjectIndex:
    """The project facts rules may need (rewrites.project), from every Python file found."""
    texts = []
    for path in files:
        if path.suffix == ".py":
            data, _ = read_regular(path, options.max_file_bytes)
            if data is not None:
                texts.append((_relative(path, root), data.decode("utf-8", "replace")))
    return index_project(texts)


# (source, path, rule codes, project facts): app code as its bytes, Python as the text
# screen() decoded
ScanJob = tuple["str | bytes", str, tuple[str, ...], ProjectIndex]


def _scan_job(job: ScanJob) -> FileOutcome:
    source, rel, codes, project = job
    rules = _rules_by_code()
    if isinstance(source, bytes):
        return check_app(source, rel, [rules[c] for c in codes])
    return analyse(source, [rules[c] for c in codes], project)


def _fix_job(
    job: tuple[bytes, str, tuple[str, ...], bool, tuple[tuple[str, str], ...], ProjectIndex],
) -> FixOutcome:
    data, rel, codes, unsafe, settings, project = job
    rules = [_rules_by_code()[code] for code in codes]
    if language_of(rel.rsplit("/", 1)[-1]) is not None:
        return fix_app(data, rel, rules, unsafe=unsafe, settings=dict(settings))
    return fix_source(data, rules, unsafe=unsafe, project=project)


T = TypeVar("T")
R = TypeVar("R")


def _parallel(
    function: Callable[[T], R], work: list[T], sizes: list[int], jobs: int | None, crashed: R
) -> Iterator[tuple[int, R]]:
    """(index, result) for each job, in completion order, in worker processes when worth it.

    A worker that dies (a parser crash) is replaced by running the rest one job per process,
    so the job that crashed gets ``crashed`` and every other job its real result.
    """
    workers = min(jobs or os.cpu_count() or 1, len(work))
    if workers < 2 or sum(sizes) < _PARALLEL_MIN_BYTES:
        yield from enumerate(map(function, work))
        return
    # Biggest first, so one large file at the end does not leave a worker idle.
    order = sorted(range(len(work)), key=lambda i: -sizes[i])
    finished: set[int] = set()
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=_context()) as pool:
            for i, result in zip(
                order, pool.map(function, [work[i] for i in order], chunksize=4), strict=True
            ):
                finished.add(i)
                yield i, result
    except BrokenProcessPool:
        for i in order:
            if i not in finished:
                yield i, _isolated(function, work[i], crashed)


def _context() -> multiprocessing.context.BaseContext:
    return multiprocessing.get_context("fork" if sys.platform.startswith("linux") else None)


def _isolated(function: Callable[[T], R], job: T, crashed: R) -> R:
    try:
        with ProcessPoolExecutor(max_workers=1, mp_context=_context()) as pool:
            return pool.submit(function, job).result()
    except BrokenProcessPool:
        return crashed
