"""`make bench`: scan speed on large real trees, cold and warm, written as JSON.

Trees, from the installed packages:
- `torch`: the torch package source (about 2,300 files, 46 MB), the worst case for the
  prefilter since it *implements* TorchScript;
- `mixed-ml`: executorch + transformers (about 7,000 files, 97 MB): framework, tooling and a
  model zoo, the closest stand-in for a large mixed ML repository we can build offline.

Each run is a fresh `migrate scan` process on one core (`-j 1`), as a user would run it; "warm"
reuses the cache of the cold run. Beside them, a plain CPython `ast.parse` pass over the same
Python files in a fresh process is the yardstick: the targets are a cold scan with every Python
rule no slower than that pass, and a warm one at most 15 % of it ("ratio_to_ast_pass"). The app
rules' C++/Java parsing has no such yardstick and is timed on its own ("cold_all_rules").
CPU seconds (user + system of the process) are compared, not wall time, so a busy machine
shifts the figures less.

Floor: the three things a cold scan of this design cannot skip, timed alone in one process:
reading and screening every file, CPython's parse of each file a rule admits (the slices are
decided on it), and libcst's parse of the slices (the rules are libcst visitors). No rule runs.
Its ratio to the pass is the lowest the cold ratio can go without moving rules off libcst.

Recall: the TorchScript / PyTorch Mobile use-lines of a public project (torchvision, whose
wheel is fetched from the package registry, and the installed transformers) are counted by
`torchscript_lines.py`, which shares no code with the tool, and compared with the lines the
scan reports. Target: at least 99 %.

Apply: one file with 1,000 and with 3,000 findings of one rule, fixed in a fresh process;
linear in findings is a CPU-time ratio near 3 (it was 7 when each fix walked every earlier
statement).
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


PYTHON_RULES = "MIG1,MIG2,MIG3,MIG4,MIG5"


def _cpu_run(command: list[str], cwd: Path) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """(wall seconds, CPU seconds of the child, what it returned)."""
    before = os.times()
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=cwd, check=False)
    elapsed = time.perf_counter() - started
    after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return elapsed, cpu, done


_AST_PASS = """
import ast, sys
from pathlib import Path
for root in sys.argv[1:]:
    for path in sorted(Path(root).rglob("*.py")):
        try:
            ast.parse(path.read_bytes())
        except (SyntaxError, ValueError, RecursionError, MemoryError, OSError):
            pass
"""


def ast_pass(roots: list[Path], cwd: Path) -> tuple[float, float]:
    """A plain CPython parse of every Python file under ``roots``, in a fresh process."""
    elapsed, cpu, done = _cpu_run([sys.executable, "-c", _AST_PASS, *map(str, roots)], cwd)
    if done.returncode != 0:
        raise SystemExit(f"ast pass failed: {done.stderr}")
    return elapsed, cpu


_FLOOR = """
import ast, gc, sys, time
from pathlib import Path
import libcst as cst
from rewrites.python_checker import _compact, _slice, python_rules, screen
from rewrites.registry import select_rules
rules = python_rules(select_rules(sys.argv[1].split(",")))
gc.freeze()
gc.disable()  # as in the scan's workers: collected between files
spent = {"read_and_screen": 0.0, "ast_parse_of_candidates": 0.0, "libcst_parse_of_slices": 0.0}
for root in sys.argv[2:]:
    for path in sorted(Path(root).rglob("*.py")):
        start = time.process_time()
        screened = screen(path.read_bytes(), rules)
        spent["read_and_screen"] += time.process_time() - start
        if not isinstance(screened, tuple):
            continue
        text, active = screened
        start = time.process_time()
        try:
            ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        spent["ast_parse_of_candidates"] += time.process_time() - start
        part = _slice(text, active)
        if part == "":
            continue
        compact = text if part is None else _compact(part, text)[0]
        start = time.process_time()
        try:
            cst.parse_module(compact)
        except cst.ParserSyntaxError:
            pass
        spent["libcst_parse_of_slices"] += time.process_time() - start
        gc.collect(0)
print(" ".join(f"{key}={value}" for key, value in spent.items()))
"""


def floor(roots: list[Path], cwd: Path, ast_cpu: float) -> dict:
    """What a cold scan cannot do without, timed alone in a fresh process: reading and screening
    every file, CPython's parse of each file a rule admits (the export blockers decide on it
    where libcst must parse), and libcst's parse of the slices the rules report in. Their sum
    against the ``ast.parse`` pass is the lowest ratio this design can reach, before any rule
    runs."""
    done = subprocess.run(
        [sys.executable, "-c", _FLOOR, PYTHON_RULES, *map(str, roots)],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"floor failed: {done.stderr[-2000:]}")
    parts = {key: round(float(value), 2) for key, value in (item.split("=") for item in done.stdout.split())}
    total = sum(parts.values())
    return {
        **parts,
        "cpu_seconds": round(total, 2),
        "ratio_to_ast_pass": round(total / ast_cpu, 2) if ast_cpu else None,
    }


def timed_scan(roots: list[Path], cwd: Path, *extra: str) -> tuple[float, float, dict]:
    elapsed, cpu, done = _cpu_run(
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
            "-j",
            "1",
            *extra,
        ],
        cwd,
    )
    if done.returncode not in (0, 2) or not done.stdout.startswith("{"):
        raise SystemExit(f"scan failed (exit {done.returncode}): {done.stderr[-2000:]}")
    return elapsed, cpu, json.loads(done.stdout)


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
    ast_seconds, ast_cpu = ast_pass(roots, cwd)
    runs: dict[str, dict] = {}
    for label, extra in [
        ("cold", ("--no-cache", "--select", PYTHON_RULES)),
        ("cold_without_export_blockers", ("--no-cache", "--select", PYTHON_RULES, "--ignore", "MIG4")),
        ("cold_all_rules", ("--no-cache",)),
        ("warm", ("--select", PYTHON_RULES)),
    ]:
        if label == "warm":  # the cache of a cold run with the same selection
            timed_scan(roots, cwd, "--select", PYTHON_RULES)
        elapsed, cpu, report = timed_scan(roots, cwd, *extra)
        runs[label] = {
            "seconds": round(elapsed, 2),
            "cpu_seconds": round(cpu, 2),
            "ratio_to_ast_pass": round(cpu / ast_cpu, 2) if ast_cpu else None,
            "files_per_second": round(files / elapsed, 1),
            "mb_per_second": round(size / 1e6 / elapsed, 2),
            "files_parsed": report["files_parsed"],
            "cache_hits": report["cache_hits"],
            "findings": len(report["findings"]),
            "errors": len(report["errors"]),
        }
    return {
        "paths": [str(r) for r in roots],
        "files": files,
        "megabytes": round(size / 1e6, 1),
        "ast_pass": {"seconds": round(ast_seconds, 2), "cpu_seconds": round(ast_cpu, 2)},
        "runs": runs,
        "floor": floor(roots, cwd, ast_cpu),
    }


def fetch_torchvision(folder: Path) -> Path | None:
    """torchvision's Python sources, from its wheel on the package registry (None offline)."""
    done = subprocess.run(
        [sys.executable, "-m", "pip", "download", "torchvision", "--no-deps", "-q", "-d", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    wheels = sorted(folder.glob("torchvision-*.whl"))
    if done.returncode != 0 or not wheels:
        return None
    import zipfile

    with zipfile.ZipFile(wheels[-1]) as wheel:
        wheel.extractall(folder / "src", [n for n in wheel.namelist() if n.startswith("torchvision/")])
    return folder / "src" / "torchvision"


def recall(root: Path, cwd: Path) -> dict:
    """Use-lines the independent count finds under ``root``, and how many the scan reports."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from torchscript_lines import count_tree

    expected = count_tree(root)
    _, _, report = timed_scan([root], cwd, "--no-cache", "--select", "MIG1,MIG2,MIG3,MIG5")
    reported: dict[str, set[int]] = {}
    for finding in report["findings"]:
        lines = range(finding["line"], finding["end_line"] + 1)
        reported.setdefault(finding["path"], set()).update(lines)
    base = Path(report["root"])
    missed = [
        f"{path}:{line}"
        for path, lines in expected.items()
        for line in sorted(lines)
        if line not in reported.get((root / path).relative_to(base).as_posix(), set())
    ]
    total = sum(len(lines) for lines in expected.values())
    return {
        "path": str(root),
        "use_lines": total,
        "reported": total - len(missed),
        "recall": round(1 - len(missed) / total, 4) if total else None,
        "missed": missed[:50],
    }


_APPLY = """
import sys, time
from rewrites.python_checker import fix_source
from rewrites.registry import select_rules
count = int(sys.argv[1])
lines = [f"m{i} = torch.jit.script(model{i})" for i in range(count)]
source = ("import torch\\n" + "\\n".join(lines) + "\\n").encode()
started = time.process_time()
outcome = fix_source(source, select_rules(["MIG101"]), unsafe=True)
assert len(outcome.fixed) == count and outcome.error is None, outcome.error
print(time.process_time() - started)
"""


def apply_scaling(cwd: Path) -> dict:
    """``apply`` on one file with 1,000 and with 3,000 findings of one rule (MIG101, whose fix
    looks back for example inputs): linear in findings means a ratio near 3."""
    seconds = {}
    for count in (1000, 3000):
        done = subprocess.run(
            [sys.executable, "-c", _APPLY, str(count)], capture_output=True, text=True, cwd=cwd, check=False
        )
        if done.returncode != 0:
            raise SystemExit(f"apply bench failed: {done.stderr[-2000:]}")
        seconds[count] = float(done.stdout.strip())
    return {
        "cpu_seconds_1000_findings": round(seconds[1000], 2),
        "cpu_seconds_3000_findings": round(seconds[3000], 2),
        "ratio": round(seconds[3000] / seconds[1000], 2),
    }


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
        startup, _, _ = timed_scan([cwd / "empty"], cwd)
        scaling = apply_scaling(cwd)
        results = {}
        for name, roots in trees.items():
            shutil.rmtree(cwd / ".migrate_cache", ignore_errors=True)
            results[name] = bench_tree(roots, cwd)
        recalls = []
        torchvision = fetch_torchvision(cwd / "torchvision")
        for root in [torchvision, package_dir("transformers")]:
            if root is not None:
                recalls.append(recall(root, cwd))
    result = {
        "benchmark": "scan",
        "startup_seconds": round(startup, 3),
        "trees": results,
        "recall": recalls,
        "apply_in_one_file": scaling,
        "targets": {
            "cold_ratio_to_ast_pass": 1.0,
            "warm_ratio_to_ast_pass": 0.15,
            "recall": 0.99,
            "startup_seconds": 0.5,
            "apply_3000_to_1000_ratio": 3.5,
        },
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
