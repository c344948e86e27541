"""The `migrate` command: a thin click layer that prints, prompts and picks exit codes.

Exit codes: 0 clean, 1 findings left (or validation failed), 2 tool error.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Sequence
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from migrate import __version__, api
from migrate.errors import UsageError
from migrate.output import write_text_atomic
from migrate.reports.scan import FORMATS, render

F = TypeVar("F", bound=Callable[..., Any])


def _handle_errors(command: F) -> F:
    """One line and exit 2 for anything the user can fix, and for our own bugs too."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except UsageError as exc:
            click.echo(f"migrate: error: {exc}", err=True)
            sys.exit(2)
        except (KeyboardInterrupt, click.exceptions.Exit, click.ClickException):
            raise
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

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if not self.enabled or now - self.started < self.delay or (now - self.last < 0.1 and done < total):
            return
        self.last, self.shown = now, True
        width = 30
        filled = int(width * done / max(total, 1))
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} files")
        sys.stderr.flush()

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\r" + " " * 60 + "\r")
            sys.stderr.flush()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="migrate")
def main() -> None:
    """Move PyTorch Mobile / TorchScript code and models to ExecuTorch."""


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="concise", show_default=True)
@click.option(
    "-o", "--output", type=click.Path(path_type=Path, dir_okay=False), help="Write the report here."
)
@click.option(
    "--select", multiple=True, help="Rules to run: code prefixes, codes or names (comma-separated)."
)
@click.option("--ignore", multiple=True, help="Rules to skip, as for --select.")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="A pyproject.toml to read [tool.migrate] from.",
)
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when findings remain (report-only).")
@click.option("--no-cache", is_flag=True, help="Ignore and do not write .migrate_cache/.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), help="Worker processes (default: all cores).")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: on a terminal).")
@_handle_errors
def scan(
    paths: tuple[Path, ...],
    fmt: str,
    output: Path | None,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    config_path: Path | None,
    exit_zero: bool,
    no_cache: bool,
    jobs: int | None,
    progress: bool | None,
) -> None:
    """Find every TorchScript / PyTorch Mobile dependency under PATHS (default: .)."""
    bar = _ProgressBar(sys.stderr.isatty() if progress is None else progress)
    try:
        result = api.scan(
            list(paths) or [Path(".")],
            select=_split(select) or None,
            ignore=_split(ignore),
            config_path=config_path,
            use_cache=not no_cache,
            jobs=jobs,
            progress=bar,
        )
    finally:
        bar.close()
    report = render(result, fmt, Path.cwd())
    if output is not None:
        write_text_atomic(output, report)
        click.echo(f"{len(result.findings)} findings written to {output}", err=True)
    else:
        click.echo(report, nl=False)
    for error in result.errors:
        click.echo(f"migrate: error: {Path(result.root) / error.path}: {error.message}", err=True)
    if result.errors:
        sys.exit(2)
    sys.exit(1 if result.findings and not exit_zero else 0)


@main.group(invoke_without_command=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
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


@rules.command("show")
@click.argument("selector")
@_handle_errors
def rules_show(selector: str) -> None:
    """Print the documentation of the rule with this code or name."""
    from rewrites.registry import find_rule

    rule = find_rule(selector)
    if rule is None:
        raise UsageError(f"no rule named {selector!r} (see `migrate rules`)")
    click.echo(f"# {rule.code} {rule.name}\n\nFix safety: {rule.fix_safety.value}\n\n{rule.doc()}")
