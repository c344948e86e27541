"""`make bench`: scan speed on large real trees, cold and warm, written as JSON.

Trees, from the installed packages:
- `torch`: the torch package source (about 2,300 files, 46 MB), the worst case for the
  prefilter since it *implements* TorchScript;
- `mixed-ml`: executorch + transformers (about 7,000 files, 97 MB): framework, tooling and a
  model zoo, the closest stand-in for a large mixed ML repository we can build offline.

Each run is a fresh `migrate scan` process, as a user would run it; "warm" reuses the cache of
the cold run. "torchscript_only" runs without the MIG4xx export-blocker analysis, which must
parse every `forward` and so costs time in proportion to the model code in the tree.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def tree_size(root: Path) -> tuple[int, int]:
    """Source files the scan reads (Python and app code), and their bytes."""
    from rewrites.app_source import APP_NAMES
    from rewrites.files import SUFFIXES

    files = [p for p in root.rglob("*") if (p.name.endswith(SUFFIXES) or p.name in APP_NAMES) and p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def timed_scan(roots: list[Path], cwd: Path, *extra: str) -> tuple[float, dict]:
    started = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "migrate",
            "scan",
            *map(str, roots),
            "--format",
            "json",
            "--exit-zero",
            # the trees live inside this repository, whose pyproject.toml would put the cache (and
            # so the "cold" runs' results) in the repository: keep it in the temporary folder
            "--config",
            str(cwd / "pyproject.toml"),
            *extra,
        ],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 2):
        raise SystemExit(f"scan failed: {done.stderr}")
    return elapsed, json.loads(done.stdout)


def package_dir(name: str) -> Path:
    import importlib.util

    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"bench needs {name} installed (pip install 'executorch-migrate[all]')")
    return Path(next(iter(spec.submodule_search_locations)))


def bench_tree(roots: list[Path], cwd: Path) -> dict:
    files = size = 0
    for root in roots:
        n, b = tree_size(root)
        files, size = files + n, size + b
    runs = {}
    for label, extra in [
        ("cold", ("--no-cache", "--ignore", "MIG4")),
        ("cold_with_export_blockers", ()),
        ("warm", ()),
    ]:
        elapsed, report = timed_scan(roots, cwd, *extra)
        runs[label] = {
            "seconds": round(elapsed, 2),
            "files_per_second": round(files / elapsed, 1),
            "mb_per_second": round(size / 1e6 / elapsed, 2),
            "files_parsed": report["files_parsed"],
            "cache_hits": report["cache_hits"],
            "findings": len(report["findings"]),
            "errors": len(report["errors"]),
        }
    return {"paths": [str(r) for r in roots], "files": files, "megabytes": round(size / 1e6, 1), "runs": runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output", type=Path, default=Path("bench-out/scan.json"))
    args = parser.parse_args()
    trees = {
        "torch": [package_dir("torch")],
        "mixed-ml": [package_dir("executorch"), package_dir("transformers")],
    }
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        (cwd / "pyproject.toml").write_text('[tool.migrate]\ncache-dir = ".migrate_cache"\n')
        (cwd / "empty").mkdir()
        startup, _ = timed_scan([cwd / "empty"], cwd)
        results = {}
        for name, roots in trees.items():
            shutil.rmtree(cwd / ".migrate_cache", ignore_errors=True)
            results[name] = bench_tree(roots, cwd)
    result = {
        "benchmark": "scan",
        "startup_seconds": round(startup, 3),
        "trees": results,
        "targets": {"cold_10k_files_85mb_seconds": 15, "warm_seconds": 2, "startup_seconds": 0.5},
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
