"""`make demo`: the migration of ``samples/`` on a copy, ending in a report.

It covers what the tool can do so far (scan, then apply with every fix); each later stage
(export, validate) adds its section to the same report.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

from migrate import api
from migrate.output import unified_diff, write_text_atomic
from migrate.reports.scan import render, summary_line


def run(samples: Path, out: Path) -> int:
    started = time.monotonic()
    work = out / "work"
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(samples, work, ignore=shutil.ignore_patterns("__pycache__", "*.pt", "*.ptl", "*.pte"))
    _say(f"copied {samples}/ to {work}/ (the samples themselves are never edited)")
    _say("scanning for TorchScript / PyTorch Mobile dependencies ...")
    before = api.scan([work], use_cache=False)
    write_text_atomic(out / "scan.json", render(before, "json", work))
    _say(summary_line(before))
    _say("rewriting with `migrate apply --fix --unsafe-fixes` ...")
    applied = api.apply([work], unsafe=True)
    diff = "".join(unified_diff(c.path, c.original, c.text) for c in applied.changes)
    write_text_atomic(out / "apply.diff", diff)
    written = api.write_changes(applied, allow_dirty=True)
    write_text_atomic(out / "apply.json", render(applied.report, "json", work))
    _say(
        f"rewrote {len(written.written)} files, fixing {len(applied.report.fixed)} findings; diff: {out / 'apply.diff'}"
    )
    after = api.scan([work], use_cache=False)
    _say(render(after, "concise", Path.cwd()).rstrip())
    report = "\n".join(
        [
            "# executorch-migrate demo",
            "",
            f"Samples: `{samples}/`, migrated on a copy in `{work}/`.",
            "",
            "## Before: what had to change",
            "",
            render(before, "markdown", work).split("\n", 2)[2],
            "## After `migrate apply --fix --unsafe-fixes`",
            "",
            f"{len(applied.report.fixed)} findings fixed in {len(written.written)} files "
            f"(the diff is `{out / 'apply.diff'}`).",
            "",
            render(after, "markdown", work).split("\n", 2)[2],
        ]
    )
    write_text_atomic(out / "report.md", report)
    _say(f"done in {time.monotonic() - started:.1f} s; report: {out / 'report.md'}")
    return 0


def _say(text: str) -> None:
    print(text, flush=True)


if __name__ == "__main__":
    samples_dir, out_dir = (
        Path(a) for a in (sys.argv[1:3] if len(sys.argv) > 2 else ("samples", "demo-out"))
    )
    sys.exit(run(samples_dir, out_dir))
