"""The library behind the CLI: each function takes plain arguments and returns data."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from migrate import __version__
from migrate.config import Config, check_selectors, find_config, load_config
from migrate.errors import UsageError
from migrate.output import write_new_atomic, write_source_atomic
from migrate.vcs import UncheckedError, uncommitted
from rewrites.app_checker import DEFAULT_SETTINGS
from rewrites.core import Rule
from rewrites.model import FileError, ScanResult
from rewrites.registry import select_rules
from rewrites.runner import NEW_FILE, ApplyResult, Progress, ScanOptions, scan_root
from rewrites.runner import apply as run_apply
from rewrites.runner import scan as run_scan


def resolve_config(paths: Sequence[Path], config_path: Path | None = None) -> Config:
    root = scan_root(paths)
    found = config_path if config_path is not None else find_config(root)
    if config_path is not None and not config_path.exists():
        raise UsageError(f"{config_path}: no such configuration file")
    return load_config(found, root)


def choose_rules(
    config: Config, select: Sequence[str] | None = None, ignore: Sequence[str] = ()
) -> tuple[type[Rule], ...]:
    """Command-line --select replaces the configured selection; --ignore adds to it."""
    chosen_select = (
        list(check_selectors("--select", select))
        if select
        else (list(config.select) if config.select else None)
    )
    chosen_ignore = [*config.ignore, *check_selectors("--ignore", ignore)]
    return select_rules(chosen_select, chosen_ignore)


def _options(
    paths: Sequence[Path],
    select: Sequence[str] | None,
    ignore: Sequence[str],
    config_path: Path | None,
    use_cache: bool,
    jobs: int | None,
    force_exclude: bool = False,
) -> ScanOptions:
    if not paths:
        raise UsageError("give at least one path")
    missing = [str(p) for p in paths if not os.path.lexists(p)]
    if missing:
        raise UsageError(f"no such file or directory: {', '.join(missing)}")
    config = resolve_config(paths, config_path)
    return ScanOptions(
        rules=choose_rules(config, select, ignore),
        exclude=config.extend_exclude,
        exclude_base=config.base,
        per_file_ignores=config.per_file_ignores,
        respect_gitignore=config.respect_gitignore,
        force_exclude=force_exclude,
        cache_dir=config.cache_dir if use_cache else None,
        jobs=jobs,
        max_file_bytes=int(config.max_file_size_mb * 1024 * 1024),
        tool_version=__version__,
        app_settings=tuple({**DEFAULT_SETTINGS, **_android_version(config)}.items()),
    )


def _android_version(config: Config) -> dict[str, str]:
    version = config.executorch_android_version
    return {} if version is None else {"executorch-android-version": version}


def scan(
    paths: Sequence[Path],
    *,
    select: Sequence[str] | None = None,
    ignore: Sequence[str] = (),
    config_path: Path | None = None,
    use_cache: bool = True,
    jobs: int | None = None,
    progress: Progress | None = None,
    force_exclude: bool = False,
) -> ScanResult:
    """Find every TorchScript / PyTorch Mobile dependency under ``paths``."""
    options = _options(paths, select, ignore, config_path, use_cache, jobs, force_exclude)
    return run_scan(paths, options, progress)


def apply(
    paths: Sequence[Path],
    *,
    select: Sequence[str] | None = None,
    ignore: Sequence[str] = (),
    config_path: Path | None = None,
    unsafe: bool = False,
    jobs: int | None = None,
    progress: Progress | None = None,
    force_exclude: bool = False,
) -> ApplyResult:
    """The rewrites the rules offer for ``paths`` (safe ones unless ``unsafe``); writes nothing."""
    options = _options(paths, select, ignore, config_path, False, jobs, force_exclude)
    return run_apply(paths, options, unsafe=unsafe, progress=progress)


@dataclass(frozen=True)
class WriteOutcome:
    written: tuple[str, ...]
    errors: tuple[FileError, ...]
    report: ScanResult  # the apply report as written: what failed to write is still to fix


def write_changes(result: ApplyResult, *, allow_dirty: bool = False) -> WriteOutcome:
    """Write every change atomically, after checking none has uncommitted edits in git."""
    root = Path(result.report.root)
    targets = {change.path: root / change.path for change in result.changes}
    if not allow_dirty:
        try:
            dirty = uncommitted(t for t in targets.values() if t.exists())
        except UncheckedError as exc:
            raise UsageError(
                f"cannot tell whether the files have uncommitted changes ({exc}): nothing written "
                "(pass --allow-dirty to write anyway)"
            ) from None
        if dirty:
            names = ", ".join(str(p) for p in dirty)
            raise UsageError(
                f"uncommitted changes in {names}: commit or stash them first so the migration can be "
                "reviewed as a diff (or pass --allow-dirty)"
            )
    written, errors = [], []
    for change in result.changes:
        try:
            if change.digest == NEW_FILE:
                write_new_atomic(targets[change.path], change.data)
            else:
                write_source_atomic(targets[change.path], change.data, change.digest)
            written.append(change.path)
        except OSError as exc:
            errors.append(FileError(change.path, f"not written: {exc.strerror or exc}"))
    return WriteOutcome(tuple(written), tuple(errors), _as_written(result, set(written), errors))


def _as_written(result: ApplyResult, written: set[str], errors: list[FileError]) -> ScanResult:
    """The report from what is on disk: a file that was not written keeps its findings (scanned
    again, so lines are those of the file as it is) and its fixes do not count."""
    report, root = result.report, Path(result.report.root)
    unwritten = {c.path for c in result.changes if c.path not in written and c.digest != NEW_FILE}
    findings = [f for f in report.findings if f.path not in unwritten]
    if unwritten and result.options is not None:
        again = run_scan([root / path for path in sorted(unwritten)], replace(result.options, cache_dir=None))
        findings += [
            replace(f, path=(Path(again.root) / f.path).relative_to(root).as_posix()) for f in again.findings
        ]
    return replace(
        report,
        findings=tuple(sorted(findings, key=lambda f: (f.path, f.line, f.column, f.code))),
        fixed=tuple(f for f in report.fixed if f.path in written),
        errors=tuple(sorted([*report.errors, *errors], key=lambda e: e.path)),
    )
