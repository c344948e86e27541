"""The `migrate` command: a thin click layer that prints, prompts and picks exit codes.

Exit codes: 0 clean, 1 findings left (or validation failed), 2 tool error.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from migrate import __version__, api
from migrate.errors import UsageError
from migrate.output import unified_diff, write_text_atomic
from migrate.reports.scan import FORMATS, render
from rewrites.model import FileError, ScanResult

F = TypeVar("F", bound=Callable[..., Any])
R = TypeVar("R")


def _handle_errors(command: F) -> F:
    """One line and exit 2 for anything the user can fix, and for our own bugs too."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except UsageError as exc:
            click.echo(f"migrate: error: {exc}", err=True)
            sys.exit(2)
        except KeyboardInterrupt:
            # Ctrl-C: the workers are gone and every write so far was atomic; 130 as a shell says
            click.echo("migrate: interrupted", err=True)
            sys.exit(130)
        except (click.exceptions.Exit, click.ClickException):
            raise
        except BrokenPipeError:
            # `migrate scan | head`: the reader has what it wanted; say nothing more
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(1)
        except Exception as exc:
            if os.environ.get("MIGRATE_DEBUG"):
                raise
            click.echo(
                f"migrate: internal error: {exc.__class__.__name__}: {exc} "
                "(set MIGRATE_DEBUG=1 for a traceback, and please report it)",
                err=True,
            )
            sys.exit(2)

    return wrapper  # type: ignore[return-value]


def _split(values: Sequence[str]) -> list[str]:
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


class _ProgressBar:
    """A one-line bar on stderr, shown only on a terminal and only once a scan takes a moment."""

    def __init__(self, enabled: bool, delay: float = 0.5) -> None:
        self.enabled = enabled
        self.delay = delay
        self.started = time.monotonic()
        self.last = 0.0
        self.shown = False
        self.width = 0

    def __call__(self, done: int, total: int, current: str = "") -> None:
        now = time.monotonic()
        if not self.enabled or now - self.started < self.delay or (now - self.last < 0.1 and done < total):
            return
        self.last, self.shown = now, True
        width = 30
        filled = int(width * done / max(total, 1))
        line = f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} files"
        if current:  # a large file still being parsed: say which, so the bar is not stuck at 99 %
            line += f", parsing {current}"
        columns = shutil.get_terminal_size((80, 24)).columns - 1
        line = line if len(line) <= columns else line[: columns - 3] + "..."
        sys.stderr.write("\r" + line.ljust(self.width))
        self.width = len(line)
        sys.stderr.flush()

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\r" + " " * max(self.width, 60) + "\r")
            sys.stderr.flush()


_text_or_json = click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Text for people, JSON for tools.",
)
_no_sandbox = click.option(
    "--no-sandbox",
    is_flag=True,
    help="Load a .pt / .ptl without the bubblewrap sandbox (loading an archive runs its code).",
)


def _count(name: str, default: int, help: str) -> Callable[[F], F]:
    """An option counting something (samples, threads, runs): a whole number, at least 1."""
    return click.option(name, type=click.IntRange(min=1), default=default, show_default=True, help=help)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="migrate")
def main() -> None:
    """Move PyTorch Mobile / TorchScript code and models to ExecuTorch."""


@dataclass(frozen=True)
class _Common:
    """What `scan` and `apply` are both told: which files and rules, where to report, how to run."""

    paths: tuple[Path, ...]
    fmt: str
    output: Path | None
    select: tuple[str, ...]
    ignore: tuple[str, ...]
    config_path: Path | None
    jobs: int | None
    progress: bool | None
    force_exclude: bool

    def run(self, call: Callable[..., R], **options: Any) -> R:
        """``api.scan`` or ``api.apply`` on these paths and rules, with a progress bar meanwhile."""
        bar = _ProgressBar(sys.stderr.isatty() if self.progress is None else self.progress)
        try:
            return call(
                list(self.paths) or [Path(".")],
                select=_split(self.select) or None,
                ignore=_split(self.ignore),
                config_path=self.config_path,
                jobs=self.jobs,
                progress=bar,
                force_exclude=self.force_exclude,
                **options,
            )
        finally:
            bar.close()


def _shared_options(command: F) -> F:
    """Options `scan` and `apply` share: what to run, where to report, how to run. The command
    gets them as one :class:`_Common`, its first argument."""

    @wraps(command)
    def wrapper(**kwargs: Any) -> Any:
        common = _Common(**{f.name: kwargs.pop(f.name) for f in fields(_Common)})
        return command(common, **kwargs)

    for option in reversed(
        [
            click.argument("paths", nargs=-1, type=click.Path(path_type=Path)),
            click.option(
                "--format",
                "fmt",
                type=click.Choice(FORMATS),
                default="concise",
                show_default=True,
                help="How to report: console lines, JSON, SARIF, pull-request Markdown or GitHub annotations.",
            ),
            click.option(
                "-o",
                "--output",
                type=click.Path(path_type=Path, dir_okay=False),
                help="Write the report here.",
            ),
            click.option(
                "--select",
                multiple=True,
                help="Rules to run: code prefixes, codes or names (comma-separated).",
            ),
            click.option("--ignore", multiple=True, help="Rules to skip, as for --select."),
            click.option(
                "--config",
                "config_path",
                type=click.Path(path_type=Path, dir_okay=False),
                help="A pyproject.toml to read [tool.migrate] from.",
            ),
            click.option(
                "-j", "--jobs", type=click.IntRange(min=1), help="Worker processes (default: all cores)."
            ),
            click.option(
                "--progress/--no-progress", default=None, help="Progress bar (default: on a terminal)."
            ),
            click.option(
                "--force-exclude",
                is_flag=True,
                help="Apply extend-exclude to paths named on the command line too (as pre-commit names them).",
            ),
        ]
    ):
        wrapper = option(wrapper)
    return wrapper  # type: ignore[return-value]


def _emit(result: ScanResult, fmt: str, output: Path | None) -> None:
    report = render(result, fmt, Path.cwd())
    if output is not None:
        write_text_atomic(output, report)
        click.echo(f"report written to {output}", err=True)
    else:
        click.echo(report, nl=False)


def _errors(errors: Sequence[FileError], root: str) -> None:
    for error in errors:
        click.echo(f"migrate: error: {Path(root) / error.path}: {error.message}", err=True)


@main.command()
@_shared_options
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when findings remain (report-only).")
@click.option("--no-cache", is_flag=True, help="Ignore and do not write .migrate_cache/.")
@_handle_errors
def scan(common: _Common, exit_zero: bool, no_cache: bool) -> None:
    """Find every TorchScript / PyTorch Mobile dependency under PATHS (default: .)."""
    result = common.run(api.scan, use_cache=not no_cache)
    _emit(result, common.fmt, common.output)
    _errors(result.errors, result.root)
    if result.errors:
        sys.exit(2)
    sys.exit(1 if result.findings and not exit_zero else 0)


@main.command()
@_shared_options
@click.option("--fix", is_flag=True, help="Write the changes (default: show them as a diff).")
@click.option("--unsafe-fixes", is_flag=True, help="Also apply fixes that change behaviour or need review.")
@click.option("--allow-dirty", is_flag=True, help="Write even into files with uncommitted changes.")
@_handle_errors
def apply(common: _Common, fix: bool, unsafe_fixes: bool, allow_dirty: bool) -> None:
    """Rewrite TorchScript-era code under PATHS into export-friendly PyTorch 2.

    Without --fix, prints the unified diff and changes nothing. Exit 0 when nothing is left to
    migrate, 1 when findings remain (or, without --fix, when there are changes), 2 on errors.
    """
    result = common.run(api.apply, unsafe=unsafe_fixes)
    report = result.report
    files = len(result.changes)
    errors = list(report.errors)
    if fix:
        outcome = api.write_changes(result, allow_dirty=allow_dirty)
        errors += outcome.errors
        written = set(outcome.written)
        count = sum(len(c.fixed) for c in result.changes if c.path in written)
        click.echo(
            f"Fixed {count} finding{'s' * (count != 1)} in {len(written)} file{'s' * (len(written) != 1)}.",
            err=True,
        )
        report = outcome.report
        _emit(report, common.fmt, common.output)
    else:
        if common.fmt == "concise" and common.output is None:
            for change in result.changes:
                click.echo(unified_diff(change.path, change.original, change.text), nl=False)
        else:
            _emit(report, common.fmt, common.output)
        count = len(report.fixed)
        click.echo(
            f"Would fix {count} finding{'s' * (count != 1)} in {files} file{'s' * (files != 1)} "
            f"(run with --fix to write); {len(report.findings)} left.",
            err=True,
        )
    _errors(errors, report.root)
    if errors:
        sys.exit(2)
    sys.exit(1 if report.findings or (result.changes and not fix) else 0)


@main.command("export")
@click.argument("entry")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="The .pte to write (a .manifest.json is written beside it).",
)
@click.option("--inputs", help="Example inputs: pkg.module:function, a .npz or a .pt tensor file.")
@click.option(
    "--input-shape", "input_shapes", multiple=True, help="NAME=1x3x224x224[:float32], seeded random data."
)
@click.option("--dynamic", multiple=True, help="NAME:DIM=MIN..MAX, a dynamic dimension and its bounds.")
@click.option("--method", "methods", multiple=True, help="Also export this method (multi-method program).")
@click.option(
    "--backend",
    type=click.Choice(["xnnpack", "portable"]),
    default="xnnpack",
    show_default=True,
    help="Delegate to XNNPACK, or portable kernels only.",
)
@click.option(
    "--quantize",
    type=click.Choice(["none", "int8-dynamic", "int8-static"]),
    default="none",
    show_default=True,
    help="PT2E int8 quantization (static needs --calibration).",
)
@click.option(
    "--calibration",
    type=click.Path(path_type=Path, dir_okay=False),
    help="For int8-static: a .npz with one (samples, *shape) array per input.",
)
@click.option("--allow-random-calibration", is_flag=True, help="Calibrate int8-static on random data.")
@click.option("--etrecord", is_flag=True, help="Also write an ETRecord for the devtools.")
@click.option(
    "--bundle", is_flag=True, help="Also write a .bpte bundled program with the example as a test case."
)
@click.option("--strict", is_flag=True, help="Strict (TorchDynamo) export instead of non-strict.")
@click.option(
    "--optimize",
    is_flag=True,
    help="Lower several ways, time each against eager in the harness, keep the fastest that matches.",
)
@_no_sandbox
@_text_or_json
@_handle_errors
def export_command(
    entry: str,
    output: Path,
    inputs: str | None,
    input_shapes: tuple[str, ...],
    dynamic: tuple[str, ...],
    methods: tuple[str, ...],
    backend: str,
    quantize: str,
    calibration: Path | None,
    allow_random_calibration: bool,
    etrecord: bool,
    bundle: bool,
    strict: bool,
    optimize: bool,
    no_sandbox: bool,
    fmt: str,
) -> None:
    """Export ENTRY (pkg.module:factory, or a legacy .pt / .ptl archive) to an ExecuTorch .pte."""
    from migrate import export as exporter

    options = exporter.ExportOptions(
        backend=backend,
        quantize=quantize,
        dynamic=tuple(exporter.DynamicDim.parse(d) for d in dynamic),
        methods=methods,
        calibration=calibration,
        allow_random_calibration=allow_random_calibration,
        etrecord=etrecord,
        bundle=bundle,
        strict=strict,
        optimize=optimize,
    )
    manifest = exporter.export(
        entry,
        output,
        inputs=inputs,
        input_shapes=[exporter.InputShape.parse(s) for s in input_shapes],
        options=options,
        progress=lambda message: click.echo(f"migrate: {message} ...", err=True),
        sandbox=not no_sandbox,
    )
    from migrate.reports.manifest import render_manifest  # numpy: not for scan/apply start-up

    click.echo(manifest.to_json() if fmt == "json" else render_manifest(manifest), nl=False)


@main.command("validate")
@click.option(
    "--model",
    help="The source model, pkg.module:factory: the eager reference and the default TFLite baseline.",
)
@click.option("--reference", help="What the app ships today: a .pt or .ptl (or any artifact).")
@click.option(
    "--candidate", "candidates", multiple=True, help="The new artifact(s), usually the .pte (repeatable)."
)
@click.option(
    "--tflite", type=click.Path(path_type=Path, dir_okay=False), help="An existing .tflite baseline."
)
@click.option(
    "--tflite-from",
    type=click.Path(path_type=Path),
    help="A TensorFlow SavedModel or .keras file to convert as the baseline.",
)
@click.option("--no-tflite", is_flag=True, help="No TFLite baseline.")
@click.option(
    "--inputs",
    type=click.Path(path_type=Path, dir_okay=False),
    help="A .npz with one (samples, *shape) array per input.",
)
@_count("--samples", 3, "Random input samples when --inputs is not given.")
@_count("--threads", 1, "CPU threads each runtime may use (the same for all, so latencies compare).")
@_count("--runs", 30, "Timed runs per runtime.")
@click.option(
    "--atol",
    "atols",
    multiple=True,
    default=["1e-4"],
    show_default=True,
    help="Absolute tolerance; NAME=VALUE sets one output's (e.g. output_1=1e-2).",
)
@click.option(
    "--method",
    default="forward",
    show_default=True,
    help="The entry point of a multi-method program to validate.",
)
@click.option(
    "--tflite-layout",
    type=click.Choice(["nchw", "nhwc"]),
    default="nchw",
    show_default=True,
    help="nhwc: the TFLite baseline takes NHWC tensors (converted from TensorFlow); a declared adapter.",
)
@click.option(
    "--rtol",
    type=float,
    default=0.0,
    show_default=True,
    help="Relative tolerance: adds rtol times the reference output's magnitude to --atol.",
)
@click.option(
    "--max-latency-ratio", type=float, help="Fail when a candidate's p50 exceeds this times the baseline's."
)
@click.option(
    "--latency-baseline",
    type=click.Choice(["reference", "tflite"]),
    default="reference",
    show_default=True,
    help="What --max-latency-ratio compares against.",
)
@click.option("--max-memory-mb", type=float, help="Fail when a candidate's peak memory exceeds this.")
@click.option(
    "--profile",
    type=click.Choice(["default", "constrained"]),
    default="default",
    show_default=True,
    help="constrained: one core and a memory cap, the closest stand-in for a phone on this host.",
)
@click.option(
    "--timeout", type=float, default=300, show_default=True, help="Seconds before a runtime counts as hung."
)
@click.option("--legacy-python", help="An interpreter with an older torch for .pt / .ptl (prepacked:: ops).")
@click.option(
    "--artifacts",
    type=click.Path(path_type=Path, file_okay=False),
    help="Where a converted TFLite baseline is written.",
)
@click.option(
    "--target",
    "targets",
    multiple=True,
    default=["host"],
    show_default=True,
    help="Where to run (repeatable): host (Python bindings), native (the C++ runtimes on this CPU), "
    "arm64:CPU (cross-built, under qemu's model of CPU; arm64 alone: cortex-a76; numerics only).",
)
@click.option(
    "--profile-ops",
    is_flag=True,
    help="Also the ten most expensive operators of each runtime that can tell (ExecuTorch through ETDump; TFLite's Python API gives only the operator list).",
)
@click.option(
    "--report-json",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also write the report as JSON (what `migrate report` reads).",
)
@click.option(
    "--report-md",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also write the report as Markdown for a pull request.",
)
@_no_sandbox
@_handle_errors
def validate_command(
    model: str | None,
    reference: str | None,
    candidates: tuple[str, ...],
    tflite: Path | None,
    tflite_from: Path | None,
    no_tflite: bool,
    inputs: Path | None,
    samples: int,
    threads: int,
    runs: int,
    atols: tuple[str, ...],
    method: str,
    tflite_layout: str,
    rtol: float,
    max_latency_ratio: float | None,
    latency_baseline: str,
    max_memory_mb: float | None,
    profile: str,
    timeout: float,
    legacy_python: str | None,
    artifacts: Path | None,
    targets: tuple[str, ...],
    profile_ops: bool,
    report_json: Path | None,
    report_md: Path | None,
    no_sandbox: bool,
) -> None:
    """Run the shipped artifact, the new .pte and a TFLite baseline side by side: numerics,
    latency and memory, and a verdict (exit 0 pass, 1 fail, 2 error)."""
    from migrate import validate as validation
    from migrate.artifacts import check_writable_folder
    from migrate.reports.validation import render_console, render_json, render_markdown
    from validators.harness import HarnessOptions

    if legacy_python is None:
        legacy_python = api.resolve_config([Path.cwd()]).legacy_python
    default_atol, per_output = _tolerances(atols)
    for report_path in (report_json, report_md):
        if report_path is not None:
            check_writable_folder(report_path)  # before the runtimes run, not after
    options = validation.ValidateOptions(
        model=model,
        reference=reference,
        candidates=candidates,
        tflite=tflite,
        tflite_from=tflite_from,
        no_tflite=no_tflite,
        inputs=inputs,
        samples=samples,
        atol=default_atol,
        atol_per_output=per_output,
        method=method,
        tflite_layout=tflite_layout,
        rtol=rtol,
        max_latency_ratio=max_latency_ratio,
        latency_baseline=latency_baseline,
        max_memory_mb=max_memory_mb,
        legacy_python=legacy_python,
        artifacts=artifacts,
        targets=targets,
        profile_ops=profile_ops,
        harness=HarnessOptions(
            threads=threads,
            runs=runs,
            timeout=timeout,
            constrained=profile == "constrained",
            sandbox=not no_sandbox,
        ),
    )
    report = validation.validate(
        options, progress=lambda message: click.echo(f"migrate: {message} ...", err=True)
    )
    if report_json is not None:
        write_text_atomic(report_json, render_json(report))
    if report_md is not None:
        write_text_atomic(report_md, render_markdown(report))
    click.echo(render_console(report), nl=False)
    sys.exit(0 if report.passed else 1)


def _tolerances(values: Sequence[str]) -> tuple[float, dict[str, float]]:
    default, per_output = 1e-4, {}
    for value in values:
        name, _, number = value.rpartition("=")
        try:
            if name:
                per_output[name] = float(number)
            else:
                default = float(number)
        except ValueError:
            raise UsageError(f"--atol {value!r}: expected a number or NAME=NUMBER") from None
    return default, per_output


@main.command("report")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "-o", "--output", type=click.Path(path_type=Path, dir_okay=False), help="Write the Markdown here."
)
@click.option("--title", default="executorch-migrate report", show_default=True, help="The report's heading.")
@click.option(
    "--problem",
    "problems",
    multiple=True,
    help="A step that failed before the report, one line (repeatable): the report shows it and needs work.",
)
@click.option(
    "--github-comment", is_flag=True, help="Post (or update) the report as the pull request's comment."
)
@click.option("--repo", envvar="GITHUB_REPOSITORY", help="owner/name (default: $GITHUB_REPOSITORY).")
@click.option("--pr", type=int, help="The pull request number.")
@click.option(
    "--api-url",
    envvar="GITHUB_API_URL",
    default="https://api.github.com",
    show_default=True,
    help="GitHub's REST API (default: $GITHUB_API_URL).",
)
@_handle_errors
def report_command(
    files: tuple[Path, ...],
    output: Path | None,
    title: str,
    problems: tuple[str, ...],
    github_comment: bool,
    repo: str | None,
    pr: int | None,
    api_url: str,
) -> None:
    """Combine scan, apply, export and validate JSON reports into one pull-request comment.

    Exit 0 when everything is ready, 1 when something needs work, 2 on errors.
    """
    import os

    from migrate.reports.combined import render_report, section_from_files

    if not files and not problems:
        raise UsageError("give the JSON reports to combine (or a --problem)")
    section = section_from_files(title, list(files))
    section.problems += problems
    markdown = render_report([section], title)
    if output is not None:
        write_text_atomic(output, markdown)
    if github_comment:
        from migrate.github import upsert_comment

        if not repo or not pr:
            raise UsageError("--github-comment needs --repo owner/name and --pr NUMBER")
        url = upsert_comment(markdown, repo, pr, os.environ.get("GITHUB_TOKEN", ""), api_url)
        click.echo(f"comment: {url}", err=True)
    if output is None and not github_comment:
        click.echo(markdown, nl=False)
    sys.exit(0 if section.passed else 1)


@main.command("inspect")
@click.argument("pte", type=click.Path(path_type=Path, dir_okay=False))
@_text_or_json
@_handle_errors
def inspect_command(pte: Path, fmt: str) -> None:
    """Print what a .pte holds: methods, tensors, delegation and planned memory."""
    from migrate.manifest import inspect_pte

    manifest = inspect_pte(pte)
    from migrate.reports.manifest import render_manifest  # numpy: not for scan/apply start-up

    click.echo(manifest.to_json() if fmt == "json" else render_manifest(manifest), nl=False)


@main.group(invoke_without_command=True)
@_text_or_json
@click.pass_context
def rules(ctx: click.Context, fmt: str) -> None:
    """List the rules (`migrate rules show CODE` prints one rule's documentation)."""
    if ctx.invoked_subcommand is not None:
        return
    from rewrites.registry import all_rules

    if fmt == "json":
        import json

        click.echo(
            json.dumps(
                [
                    {
                        "code": r.code,
                        "name": r.name,
                        "fix_safety": r.fix_safety.value,
                        "message": r.message,
                        "fix_title": r.fix_title,
                    }
                    for r in all_rules()
                ],
                indent=2,
            )
        )
        return
    for rule in all_rules():
        click.echo(f"{rule.code}  {rule.name:<38} {rule.fix_safety.value:<13} {rule.doc().splitlines()[0]}")


def _complete_rule(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Rule codes (and names) for the shell's completion."""
    from rewrites.registry import all_rules

    words = [word for rule in all_rules() for word in (rule.code, rule.name)]
    return [word for word in words if word.lower().startswith(incomplete.lower())]


@rules.command("show")
@click.argument("selector", shell_complete=_complete_rule)
@_handle_errors
def rules_show(selector: str) -> None:
    """Print the documentation of the rule with this code or name."""
    from rewrites.registry import find_rule

    rule = find_rule(selector)
    if rule is None:
        raise UsageError(f"no rule named {selector!r} (see `migrate rules`)")
    click.echo(f"# {rule.code} {rule.name}\n\nFix safety: {rule.fix_safety.value}\n\n{rule.doc()}")
