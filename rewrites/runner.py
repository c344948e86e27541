"""Scan or fix a tree: find files, read each once, skip what the prefilter rules out (scan: or
what the cache holds), parse the rest in bounded worker processes, and return one
:class:`ScanResult` (apply: with the changes). Both go through one per-file process,
:func:`_each_file`; what differs is how a file is planned and the job a worker runs."""

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
from typing import Generic, Literal, Protocol, TypeVar

from rewrites.app_checker import DEFAULT_SETTINGS, app_rules, check_app, fix_app
from rewrites.app_source import language_of
from rewrites.cache import ResultCache, content_digest
from rewrites.core import FileOutcome, FixOutcome, Rule
from rewrites.files import discover, read_regular
from rewrites.model import FileError, Finding, ScanResult
from rewrites.project import EMPTY, ProjectIndex, index_project
from rewrites.python_checker import analyse, fix_source, python_rules, screen
from rewrites.registry import all_rules, select_rules


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
    app_codes = tuple(r.code for r in app_rules(options.rules))
    # app files are not read when no app rule is selected (they are nothing to parse then)
    found = _find(paths, options, skip_app=not app_codes)
    cache = ResultCache(options.cache_dir, options.rules, options.exclude_base)
    # the index's digest salts every lookup; a warm run finds it in the cache, and the index is
    # built only when a file must be analysed
    inputs, own = _sources_digest(found.sources)
    known = cache.project_digest(inputs)
    if known is None:
        project = found.project()
        known = project.digest() if project != EMPTY else ""
        cache.put_project_digest(inputs, known)
    salt = known.encode()
    hits = 0

    def plan(path: Path, rel: str, data: bytes) -> FileOutcome | _Work[ScanJob]:
        """The cache's outcome, the screen's, or the job that parses the file."""
        nonlocal hits
        language = language_of(path.name)
        if language is not None and not app_codes:
            return FileOutcome()  # no app rule selected: nothing to parse
        if language is not None:
            digest = content_digest(language.encode() + b"\0" + data)
            cached = cache.get(digest)
            if cached is None:
                return _Work(digest, (data, rel, app_codes, EMPTY))
            hits += 1
            return cached
        # what a file's fixes offer depends on the project
        digest = content_digest((own.get(rel) or content_digest(data)).encode() + salt)
        cached = cache.get(digest)
        screened = cached if cached is not None else screen(data, python_rules(options.rules))
        if not isinstance(screened, FileOutcome):
            text, active = screened
            return _Work(digest, (text, rel, tuple(r.code for r in active), found.project()))
        if cached is None:
            cache.put(digest, screened)
        else:
            hits += 1
        return screened

    run = _each_file(found, plan, _scan_job, _scan_failure, options.jobs, progress)
    for done in run.outcomes:
        if done.parsed:
            cache.put(done.key, done.outcome)
    cache.save()

    errors: list[FileError] = list(run.errors)
    findings: list[Finding] = []
    for done in run.outcomes:
        if done.outcome.error is not None:
            errors.append(FileError(done.rel, done.outcome.error))
        ignored = _ignored_rules(found.root / done.rel, options)
        findings.extend(replace(f, path=done.rel) for f in done.outcome.findings if f.code not in ignored)
    return _report(found, run, options, findings, errors, cache_hits=hits)


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
    found = _find(paths, options)
    settings = options.app_settings

    def plan(path: Path, rel: str, data: bytes) -> FixOutcome | _Work[FixJob]:
        """The job that fixes the file, under the rules its per-file-ignores leave, unless the
        screen rules the file out."""
        rules = _rules_for(path, options)
        if language_of(path.name) is not None:
            codes = tuple(r.code for r in app_rules(rules))
            return _Work(content_digest(data), (data, rel, codes, unsafe, settings, found.project()))
        rules = python_rules(rules)
        screened = screen(data, rules)
        if isinstance(screened, FileOutcome):
            return FixOutcome(error=screened.error)
        # every rule the file is under, not just those its text admits now: a fix can write
        # what another rule reports
        codes = tuple(r.code for r in rules)
        return _Work(content_digest(data), (data, rel, codes, unsafe, settings, found.project()))

    run = _each_file(found, plan, _fix_job, _fix_failure, options.jobs, progress)
    errors: list[FileError] = list(run.errors)
    findings: list[Finding] = []
    changes: list[FileChange] = []
    fixed: list[Finding] = []
    for done in run.outcomes:
        _collect(done.rel, done.key, done.outcome, found.root, errors, findings, fixed, changes)
    report = _report(found, run, options, findings, errors, fixed=fixed, command="apply")
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


# What a worker is given for one file, a tuple led by the source and its path:
# scan: (source, path, rule codes, project facts), app code as its bytes, Python as the text
# screen() decoded; apply: (bytes read, path, rule codes, unsafe, app settings, project facts)
ScanJob = tuple["str | bytes", str, tuple[str, ...], ProjectIndex]
FixJob = tuple[bytes, str, tuple[str, ...], bool, tuple[tuple[str, str], ...], ProjectIndex]
Job = TypeVar("Job", ScanJob, FixJob)
Outcome = TypeVar("Outcome", FileOutcome, FixOutcome)  # what comes back for one file

Source = tuple[Path, str, "bytes | None", str]  # path, relative path, bytes read or None, why not


@dataclass
class _Found:
    """Every file under the paths, each read once, and the project facts built from them when
    first asked for (a warm scan whose files are all cached never builds them)."""

    root: Path
    errors: tuple[FileError, ...]  # what discovery could not list
    sources: list[Source]
    _project: ProjectIndex | None = None

    def project(self) -> ProjectIndex:
        if self._project is None:
            self._project = _index(self.sources)
        return self._project


@dataclass(frozen=True)
class _Work(Generic[Job]):
    """A file for a worker: its job, and the key its outcome goes with (scan: the cache key;
    apply: the digest of the bytes read, which a write checks)."""

    key: str
    job: Job


@dataclass(frozen=True)
class _Done(Generic[Outcome]):
    rel: str
    key: str
    outcome: Outcome
    parsed: bool  # by a worker, not settled by the plan


@dataclass(frozen=True)
class _Run(Generic[Outcome]):
    errors: tuple[FileError, ...]  # the files that could not be listed or read
    # those the plan settled, in order, then the workers', as they finished
    outcomes: tuple[_Done[Outcome], ...]
    total: int
    parsed: int


def _find(paths: Sequence[Path], options: ScanOptions, *, skip_app: bool = False) -> _Found:
    root = scan_root(paths)
    found = discover(
        paths,
        exclude=options.exclude,
        exclude_base=options.exclude_base,
        force_exclude=options.force_exclude,
        respect_gitignore=options.respect_gitignore,
    )
    sources = _read_all(found.files, root, options, skip_app=skip_app)
    errors = tuple(FileError(_relative(path, root), message) for path, message in found.errors)
    return _Found(root, errors, sources)


def _each_file(
    found: _Found,
    plan: Callable[[Path, str, bytes], Outcome | _Work[Job]],
    job: Callable[[Job], Outcome],
    failed: Callable[[str], Outcome],
    jobs: int | None,
    progress: Progress | None,
) -> _Run[Outcome]:
    """The one per-file process of scan and apply: each file that was read is planned (settled at
    once, or a job for a worker), the jobs run in worker processes under their time and memory
    bounds, and ``progress`` hears of each file as it is done and of a large one still parsing."""
    errors: list[FileError] = list(found.errors)
    outcomes: list[_Done[Outcome]] = []
    pending: list[tuple[str, _Work[Job]]] = []
    total, done = len(found.sources), 0
    for path, rel, data, problem in found.sources:
        planned = plan(path, rel, data) if data is not None else None
        if isinstance(planned, _Work):
            pending.append((rel, planned))
            continue
        if planned is None:
            errors.append(FileError(rel, problem))
        else:
            outcomes.append(_Done(rel, "", planned, parsed=False))
        done += 1
        if progress is not None:
            progress(done, total)
    work = [item.job for _, item in pending]
    sizes = [len(item[0]) for item in work]
    current = None if progress is None else (lambda note: progress(done, total, note))
    for index, outcome in _parallel(job, work, sizes, jobs, failed, current):
        rel, item = pending[index]
        outcomes.append(_Done(rel, item.key, outcome, parsed=True))
        done += 1
        if progress is not None:
            progress(done, total)
    return _Run(tuple(errors), tuple(outcomes), total, len(pending))


def _report(
    found: _Found,
    run: _Run[Outcome],
    options: ScanOptions,
    findings: list[Finding],
    errors: list[FileError],
    *,
    cache_hits: int = 0,
    fixed: Sequence[Finding] = (),
    command: Literal["scan", "apply"] = "scan",
) -> ScanResult:
    return ScanResult(
        root=str(found.root),
        files_scanned=run.total,
        findings=tuple(sorted(findings, key=_position)),
        errors=tuple(sorted(errors, key=lambda e: e.path)),
        files_parsed=run.parsed,
        cache_hits=cache_hits,
        tool_version=options.tool_version,
        rules=tuple(r.code for r in options.rules),
        fixed=tuple(sorted(fixed, key=_position)),
        command=command,
    )


def _position(finding: Finding) -> tuple[str, int, int, str]:
    return (finding.path, finding.line, finding.column, finding.code)


def _rules_for(path: Path, options: ScanOptions) -> list[type[Rule]]:
    ignored = _ignored_rules(path, options)
    return [r for r in options.rules if r.code not in ignored]


def _relative(path: Path, root: Path) -> str:
    text, prefix = str(path), str(root).rstrip(os.sep) + os.sep
    if os.sep == "/" and text.startswith(prefix):
        return text[len(prefix) :]  # what relative_to gives, without its cost on 10,000 files
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
) -> list[Source]:
    """(path, relative path, bytes or None, why not) for each file, each read once: the project
    index and the per-file work share what was read. With ``skip_app``, app files are not read
    (their bytes are given as empty)."""
    return [
        (path, _relative(path, root), b"", "")
        if skip_app and language_of(path.name) is not None
        else (path, _relative(path, root), *read_regular(path, options.max_file_bytes))
        for path in files
    ]


def _sources_digest(sources: Sequence[Source]) -> tuple[str, dict[str, str]]:
    """A digest of what :func:`_index` reads, and each of those files' own digest (each file's
    bytes are hashed once)."""
    digest = hashlib.blake2b(digest_size=16)
    own: dict[str, str] = {}
    for path, rel, data, _ in sources:
        if path.suffix == ".py" and data is not None:
            own[rel] = content_digest(data)
            digest.update(b"%d:%s%s:" % (len(rel.encode()), rel.encode(), own[rel].encode()))
    return digest.hexdigest(), own


def _index(sources: Sequence[tuple[Path, str, bytes | None, str]]) -> ProjectIndex:
    """The project facts rules may need (rewrites.project), from every Python file found."""
    return index_project(
        [
            (rel, data.decode("utf-8", "replace"))
            for path, rel, data, _ in sources
            if path.suffix == ".py" and data is not None
        ]
    )


def _scan_job(job: ScanJob) -> FileOutcome:
    source, rel, codes, project = job
    rules = _rules_by_code()
    if isinstance(source, bytes):
        return check_app(source, rel, [rules[c] for c in codes])
    return analyse(source, [rules[c] for c in codes], project)


def _fix_job(job: FixJob) -> FixOutcome:
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
    # A parse allocates millions of nodes, alive until the job ends and then freed by reference
    # counting: the cycle collector's passes over them while a job runs cost 10 % of a scan.
    # So it never runs inside a job; what a job leaves in cycles (a few thousand objects) is
    # collected after it, which also gives its memory back for the next job to reuse (waiting
    # for more to pile up was slower). The start-up's objects are never traversed.
    gc.freeze()
    gc.disable()
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
        gc.collect(0)


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
