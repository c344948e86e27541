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

from rewrites.cache import ResultCache, content_digest
from rewrites.engine import FileOutcome, analyse, screen
from rewrites.files import discover
from rewrites.model import FileError, Finding, ScanResult
from rewrites.registry import all_rules
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
    cache_dir: Path | None = None
    jobs: int | None = None
    max_file_bytes: int = 10 * 1024 * 1024
    tool_version: str = ""


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
        respect_gitignore=options.respect_gitignore,
    )
    errors = [FileError(_relative(path, root), message) for path, message in found.errors]
    cache = ResultCache(options.cache_dir, options.rules)
    outcomes: dict[str, FileOutcome] = {}
    pending: list[tuple[str, str, str, tuple[str, ...]]] = []
    total, done, hits = len(found.files), 0, 0
    for path in found.files:
        rel = _relative(path, root)
        data, problem = _read(path, options.max_file_bytes)
        if data is None:
            errors.append(FileError(rel, problem))
        else:
            digest = content_digest(data)
            cached = cache.get(digest)
            screened = cached if cached is not None else screen(data, options.rules)
            if isinstance(screened, FileOutcome):
                outcomes[rel] = screened
                if cached is None:
                    cache.put(digest, screened)
                else:
                    hits += 1
            else:
                text, active = screened
                pending.append((rel, digest, text, tuple(r.code for r in active)))
                continue
        done += 1
        if progress is not None:
            progress(done, total)
    for index, outcome in _analyse_all([(text, codes) for _, _, text, codes in pending], options.jobs):
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
        ignored = _ignored_codes(rel, options.per_file_ignores)
        findings.extend(
            replace(f, path=rel)
            for f in outcome.findings
            if not any(f.code.startswith(c) or f.name == c for c in ignored)
        )
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


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _read(path: Path, limit: int) -> tuple[bytes | None, str]:
    try:
        size = path.stat().st_size
        if size > limit:
            return None, (
                f"skipped: {size / 2**20:.1f} MiB is over the {limit / 2**20:.0f} MiB limit "
                "(max-file-size-mb in [tool.migrate])"
            )
        return path.read_bytes(), ""
    except OSError as exc:
        return None, f"cannot read: {exc.strerror or exc}"


def _ignored_codes(rel: str, per_file_ignores: Sequence[tuple[str, tuple[str, ...]]]) -> list[str]:
    return [code for pattern, codes in per_file_ignores if fnmatch.fnmatch(rel, pattern) for code in codes]


@lru_cache(maxsize=1)
def _rules_by_code() -> dict[str, type[Rule]]:
    return {rule.code: rule for rule in all_rules()}


def _analyse_job(job: tuple[str, tuple[str, ...]]) -> FileOutcome:
    text, codes = job
    rules = _rules_by_code()
    return analyse(text, [rules[code] for code in codes])


def _analyse_all(
    work: list[tuple[str, tuple[str, ...]]], jobs: int | None
) -> Iterator[tuple[int, FileOutcome]]:
    """(index, outcome) for each job, in completion order."""
    workers = min(jobs or os.cpu_count() or 1, len(work))
    if workers < 2 or sum(len(text) for text, _ in work) < _PARALLEL_MIN_BYTES:
        yield from enumerate(map(_analyse_job, work))
        return
    # Biggest files first, so one large file at the end does not leave a worker idle.
    order = sorted(range(len(work)), key=lambda i: -len(work[i][0]))
    finished: set[int] = set()
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=_context()) as pool:
            for i, outcome in zip(
                order, pool.map(_analyse_job, [work[i] for i in order], chunksize=4), strict=True
            ):
                finished.add(i)
                yield i, outcome
    except BrokenProcessPool:
        # A worker died (a parser crash): retry the rest one file per process to find which.
        for i in order:
            if i not in finished:
                yield i, _analyse_isolated(work[i])


def _context() -> multiprocessing.context.BaseContext:
    return multiprocessing.get_context("fork" if sys.platform.startswith("linux") else None)


def _analyse_isolated(job: tuple[str, tuple[str, ...]]) -> FileOutcome:
    try:
        with ProcessPoolExecutor(max_workers=1, mp_context=_context()) as pool:
            return pool.submit(_analyse_job, job).result()
    except BrokenProcessPool:
        return FileOutcome(error="the parser crashed on this file", parsed=True)
