"""Sources built to break the parser: each is that file's one-line error, every other file keeps
its results, and nothing waits forever or runs out of memory (issue 18)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rewrites import runner
from tests.conftest import write

GOOD = "import torch\nm = torch.jit.script(model)\n"
HEAD = "import torch\nm = torch.jit.script(model)\n"
# libcst's native parser overflows its stack (SIGSEGV) on each of these: CPython limits nesting
# to 200 brackets, but these nest without brackets
CRASHERS = {
    "nots.py": HEAD + "y = " + "not " * 12_000 + "x\n",
    "lambdas.py": HEAD + "y = " + "lambda: " * 20_000 + "x\n",
    "minus.py": HEAD + "y = " + "-" * 200_000 + "x\n",
}
# and on these it spends a minute or more (then crashes)
SLOW = {"sum.py": HEAD + "y = " + " + ".join(["x"] * 10_000) + "\n"}


def test_a_parser_crash_is_that_files_error_and_the_rest_is_reported(cli, tmp_path: Path) -> None:
    root = write(tmp_path / "p", {"good.py": GOOD, **CRASHERS})
    result = cli("scan", ".", "--format", "json", "--no-cache", "-j", "1", cwd=root)
    report = result.json()
    assert result.exit_code == 2
    assert [(f["path"], f["code"]) for f in report["findings"]] == [("good.py", "MIG101")]
    errors = {e["path"]: e["message"] for e in report["errors"]}
    assert set(errors) == set(CRASHERS)
    assert all("crashed" in message and "\n" not in message for message in errors.values())


def test_apply_fixes_the_other_files_and_leaves_a_crashing_one_untouched(cli, tmp_path: Path) -> None:
    root = write(tmp_path / "p", {"good.py": GOOD, **CRASHERS})
    result = cli("apply", ".", "--fix", "--unsafe-fixes", "--allow-dirty", "--format", "json", cwd=root)
    report = result.json()
    assert result.exit_code == 2
    assert "torch.jit.script" not in (root / "good.py").read_text()
    assert {e["path"] for e in report["errors"]} == set(CRASHERS)
    for name, text in CRASHERS.items():
        assert (root / name).read_text() == text


def test_a_file_past_its_time_is_given_up(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "FILE_SECONDS", 1.0)
    monkeypatch.setattr(runner, "SECONDS_PER_MB", 0.0)
    root = write(tmp_path / "p", {"good.py": GOOD, **SLOW})
    report = cli("scan", ".", "--format", "json", "--no-cache", cwd=root).json()
    assert [f["path"] for f in report["findings"]] == ["good.py"]
    (error,) = report["errors"]
    assert error["path"] == "sum.py" and error["message"].startswith("gave up after")


def test_a_file_past_its_memory_is_that_files_error(tmp_path: Path) -> None:
    """The bound is address space a worker may add to what it forked with: measured in a small
    `migrate` process (as a user runs it), not inside pytest, whose freed heap (torch, earlier
    tests) a forked worker could reuse without growing."""
    big = HEAD + "x = [" + "1, " * 400_000 + "]\n"  # libcst needs about 1 GB for this list
    root = write(tmp_path / "p", {"good.py": GOOD, "big.py": big})
    program = (
        "import sys; from rewrites import runner; runner.FILE_MEMORY_BYTES = 150 * 2**20; "
        "from migrate.cli import main; main(sys.argv[1:])"
    )
    command = [sys.executable, "-c", program, "scan", ".", "--format", "json", "--no-cache"]
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=300)
    report = json.loads(done.stdout)
    assert [f["path"] for f in report["findings"]] == ["good.py"]
    (error,) = report["errors"]
    assert error["path"] == "big.py" and "\n" not in error["message"]
    assert "memory" in error["message"] or "crashed" in error["message"] or "died" in error["message"]


@pytest.mark.parametrize("command", [["scan", "--no-cache"], ["apply", "--fix", "--allow-dirty"]])
def test_ctrl_c_exits_130_and_stops_the_workers(tmp_path: Path, command: list[str]) -> None:
    root = write(tmp_path / "p", {"good.py": GOOD, **SLOW})
    process = subprocess.Popen(
        [sys.executable, "-m", "migrate", command[0], ".", *command[1:], "--progress"],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    assert process.stderr is not None
    seen = b""
    while b"parsing sum.py" not in seen:  # the bar names the large file still being parsed
        chunk = os.read(process.stderr.fileno(), 4096)
        assert chunk, seen.decode(errors="replace")
        seen += chunk
    os.killpg(process.pid, signal.SIGINT)  # what a terminal's Ctrl-C sends: the whole group
    assert process.wait(timeout=60) == 130
    time.sleep(0.5)
    left = subprocess.run(["pgrep", "-s", str(process.pid)], capture_output=True, text=True)
    assert left.stdout.strip() == "", "a worker outlived the interrupted scan"
    assert (root / "good.py").read_text() == GOOD  # interrupted before writing: nothing written
    assert sorted(p.name for p in root.iterdir()) == ["good.py", "sum.py"]  # no temporary file left
