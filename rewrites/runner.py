"""Scan a tree: find files, skip what the prefilter rules out, parse the rest in parallel,
reuse cached results, and return one :class:`ScanResult`."""

from __future__ import annotations

import faulthandler
import fnmatch
import gc
import hashlib
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Protocol, TypeVar

from rewrites.app_engine import DEFAULT_SETTINGS, app_rules, check_app, fix_app, python_rules
from rewrites.app_source import language_of
from rewrites.cache import ResultCache, content_digest
from rewrites.engine import FileOutcome, FixOutcome, analyse, fix_source, screen
from rewrites.files import discover, read_regular
from rewrites.model import FileError, Finding, ScanResult
from rewrites.project import EMPTY, ProjectIndex, index_project
from rewrites.registry import all_rules, select_rules
from rewrites.rule import Rule


class Progress(Protocol):
    """Told each time a file is done, and, while a large file is parsed, which one it is."""

    def __call__(self, done: int, total: int, current: str = "") -> None: ...


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
    # app files are not read when no app rule is selected (they are nothing to parse then)
    sources = _read_all(found.files, root, options, skip_app=not app_codes)
    # the index's digest salts every lookup; a warm run finds it in the cache and builds the
    # index only if some file must be analysed
    inputs = _sources_digest(sources)
    known = cache.project_digest(inputs)
    project = None if known is not None else _index(sources)
    if project is not None:
        known = project.digest() if project != EMPTY else ""
        cache.put_project_digest(inputs, known)
    salt = (known or "").encode()
    later: set[int] = set()  # the pending jobs that get the project once it is built
    for path, rel, data, problem in sources:
        if data is None:
            errors.append(FileError(rel, problem))
        elif (language := language_of(path.name)) is not None and not app_codes:
            outcomes[rel] = FileOutcome()  # no app rule selected: nothing to parse
        elif language is not None:
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
                if project is None:
                    later.add(len(pending))
                pending.append((rel, digest, (text, rel, tuple(r.code for r in active), project or EMPTY)))
                continue
        done += 1
        if progress is not None:
            progress(done, total)
    if later:
        project = _index(sources)
    work = [(*job[:3], project or EMPTY) if i in later else job for i, (_, _, job) in enumerate(pending)]
    sizes = [len(job[0]) for job in work]
    current = None if progress is None else (lambda note: progress(done, total, note))
    for index, outcome in _parallel(_scan_job, work, sizes, options.jobs, _scan_failure, current):
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
    sources = _read_all(found.files, root, options)
    project = _index(sources)
    for path, rel, data, problem in sources:
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
    sizes = [len(job[0]) for job in work]
    current = None if progress is None else (lambda note: progress(done, total, note))
    for index, outcome in _parallel(_fix_job, work, sizes, options.jobs, _fix_failure, current):
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


def _scan_failure(message: str) -> FileOutcome:
    return FileOutcome(error=message, parsed=True)


def _fix_failure(message: str) -> FixOutcome:
    return FixOutcome(error=message)


def _read_all(
    files: Sequence[Path], root: Path, options: ScanOptions, *, skip_app: bool = False
) -> list[tuple[Path, str, bytes | None, str]]:
    """(path, relative path, bytes or None, why not) for each file, each read once: the project
    index and the per-file work share what was read. With ``skip_app``, app files are not read
    (their bytes are given as empty)."""
    return [
        (path, _relative(path, root), b"", "")
        if skip_app and language_of(path.name) is not None
        else (path, _relative(path, root), *read_regular(path, options.max_file_bytes))
        for path in files
    ]


def _sources_digest(sources: Sequence[tuple[Path, str, bytes | None, str]]) -> str:
    """A digest of what :func:`_index` reads."""
    digest = hashlib.blake2b(digest_size=16)
    for path, rel, data, _ in sources:
        if path.suffix == ".py" and data is not None:
            digest.update(b"%d:%s%d:" % (len(rel.encode()), rel.encode(), len(data)))
            digest.update(data)
    return digest.hexdigest()


def _index(sources: Sequence[tuple[Path, str, bytes | None, str]]) -> ProjectIndex:
    """The project facts rules may need (rewrites.project), from every Python file found."""
    return index_project(
        [
            (rel, data.decode("utf-8", "replace"))
            for path, rel, data, _ in sources
            if path.suffix == ".py" and data is not None
        ]
    )


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

# Per-file bounds in the worker that parses it: a file past them is that file's one error line.
FILE_SECONDS = 60.0  # plus SECONDS_PER_MB for each MB of source
SECONDS_PER_MB = 10.0
FILE_MEMORY_BYTES = 4 * 2**30  # address space a worker may add while parsing one file


def _deadline(size: int) -> float:
    return FILE_SECONDS + SECONDS_PER_MB * size / 1e6


@dataclass
class _Worker:
    process: multiprocessing.process.BaseProcess
    conn: Connection
    job: int | None = None
    started: float = 0.0


def _serve(function: Callable[[T], R], conn: Connection) -> None:
    """A worker's loop: jobs in, results out, until the pipe closes. Ctrl-C is the parent's."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    faulthandler.disable()  # a crash is reported by the parent, as one line: no dumps on stderr
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    _limit_memory()
    # A parse allocates millions of nodes, freed by reference counting (no cycles): the cycle
    # collector's passes over them cost 10-15 % of a scan. Collect seldom, never the start-up's.
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        index, job = message
        try:
            result: object = function(job)
        except MemoryError:
            result = _OUT_OF_MEMORY
        conn.send((index, result))


_OUT_OF_MEMORY = "out of memory"


def _limit_memory() -> None:
    try:
        import resource

        with open("/proc/self/statm", encoding="ascii") as statm:
            used = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        resource.setrlimit(resource.RLIMIT_AS, (used + FILE_MEMORY_BYTES, resource.RLIM_INFINITY))
    except (OSError, ValueError, ImportError):
        pass  # not Linux: no bound on memory, the time bound still holds


def _parallel(
    function: Callable[[T], R],
    work: list[T],
    sizes: list[int],
    jobs: int | None,
    failed: Callable[[str], R],
    progress: Callable[[str], None] | None = None,
) -> Iterator[tuple[int, R]]:
    """(index, result) for each job, in completion order, each run in a worker process.

    A native crash (the parser overflowing its stack), a job past its time or memory bound:
    the worker is killed and replaced, that job's result is ``failed(one line)``, every other
    job gets its real one. ``progress`` hears which large file is still being parsed.
    """
    if not work:
        return
    count = max(1, min(jobs or os.cpu_count() or 1, len(work)))
    # Biggest first, so one large file at the end does not leave a worker idle.
    queue = sorted(range(len(work)), key=lambda i: sizes[i])
    workers: list[_Worker] = []
    context = _context()

    def start() -> _Worker:
        parent, child = context.Pipe()
        process = context.Process(target=_serve, args=(function, child), daemon=True)  # type: ignore[attr-defined]
        process.start()
        child.close()
        return _Worker(process, parent)

    def stop(worker: _Worker) -> None:
        worker.conn.close()
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join()

    def give(worker: _Worker) -> None:
        if queue:
            worker.job = queue.pop()
            worker.started = time.monotonic()
            worker.conn.send((worker.job, work[worker.job]))
        else:
            worker.job = None

    try:
        for _ in range(count):
            worker = start()
            workers.append(worker)
            give(worker)
        while any(w.job is not None for w in workers):
            busy = {w.conn: w for w in workers if w.job is not None}
            ready = wait(list(busy), timeout=0.25)
            now = time.monotonic()
            for conn in ready:
                worker = busy[conn]  # type: ignore[index]
                index = worker.job
                assert index is not None
                try:
                    got, result = worker.conn.recv()
                except (EOFError, OSError):
                    worker.process.join()
                    code = worker.process.exitcode
                    stop(worker)
                    workers[workers.index(worker)] = worker = start()
                    yield index, failed(_death(code))
                else:
                    yield (
                        got,
                        failed(f"ran out of memory (over {FILE_MEMORY_BYTES / 2**30:.0f} GiB while parsing)")
                        if isinstance(result, str) and result == _OUT_OF_MEMORY
                        else result,
                    )
                give(worker)
            for position, worker in enumerate(workers):
                index = worker.job
                if index is None:
                    continue
                elapsed = now - worker.started
                if elapsed > _deadline(sizes[index]):
                    stop(worker)
                    workers[position] = replacement = start()
                    yield (
                        index,
                        failed(
                            f"gave up after {elapsed:.0f} s (a file may take {_deadline(sizes[index]):.0f} s)"
                        ),
                    )
                    give(replacement)
                elif progress is not None and elapsed > 1.0:
                    progress(f"{_label(work[index])} ({sizes[index] / 1e6:.1f} MB, {elapsed:.0f} s)")
    finally:
        for worker in workers:
            stop(worker)


def _death(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        if name == "SIGABRT":  # libcst's native parser aborts when an allocation fails
            name += f", most likely out of memory: over {FILE_MEMORY_BYTES / 2**30:.0f} GiB"
        return f"the parser crashed on this file ({name}); it is left as it is"
    return f"the parser's worker died on this file (exit {code}); it is left as it is"


def _label(job: object) -> str:
    """The path of a job: jobs are tuples whose second item is the path."""
    return str(job[1]) if isinstance(job, tuple) and len(job) > 1 else ""


def _context() -> multiprocessing.context.BaseContext:
    return multiprocessing.get_context("fork" if sys.platform.startswith("linux") else None)
