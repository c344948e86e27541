"""`make demo`: the migration of ``samples/`` on a copy, ending in a report.

Today it covers what the tool can do so far (the scan); each later stage (apply, export,
validate) adds its section to the same report.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

from migrate import api
from migrate.output import write_text_atomic
from migrate.reports.scan import render


def run(samples: Path, out: Path) -> int:
    started = time.monotonic()
    work = out / "work"
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(samples, work, ignore=shutil.ignore_patterns("__pycache__", "*.pt", "*.ptl", "*.pte"))
    _say(f"copied {samples}/ to {work}/ (the samples themselves are never edited)")
    _say("scanning for TorchScript / PyTorch Mobile dependencies ...")
    result = api.scan([work], use_cache=False)
    write_text_atomic(out / "scan.json", render(result, "json", work))
    markdown = render(result, "markdown", work)
    write_text_atomic(out / "scan.md", markdown)
    write_text_atomic(out / "report.md", "# executorch-migrate demo\n\n" + markdown)
    _say(render(result, "concise", Path.cwd()).rstrip())
    _say(f"done in {time.monotonic() - started:.1f} s; report: {out / 'report.md'}")
    return 0


def _say(text: str) -> None:
    print(text, flush=True)


if __name__ == "__main__":
    samples_dir, out_dir = (
        Path(a) for a in (sys.argv[1:3] if len(sys.argv) > 2 else ("samples", "demo-out"))
    )
    sys.exit(run(samples_dir, out_dir))
