"""`migrate apply` end to end on real files and real git repositories."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, is_root, run_as_a_user, write

MODEL = (
    "# Model code, TorchScript era.\n"
    "import torch\n"
    "from torch.jit import Final\n"
    "\n"
    "\n"
    "class Block(torch.nn.Module):\n"
    "    __constants__ = ['residual']  # for the compiler\n"
    "    residual: Final[bool]\n"
    "\n"
    "    def __init__(self) -> None:\n"
    "        super().__init__()\n"
    "        self.residual = True\n"
    "\n"
    "    @torch.jit.ignore\n"
    "    def stats(self, x):  # eager only\n"
    "        return x.mean()\n"
    "\n"
    "    def forward(self, x):\n"
    "        if torch.jit.is_scripting():\n"
    "            return x\n"
    "        return x + 1  # the eager path\n"
)
FIXED = (
    "# Model code, TorchScript era.\n"
    "import torch\n"
    "from typing import Final\n"
    "\n"
    "\n"
    "class Block(torch.nn.Module):\n"
    "    # for the compiler\n"
    "    residual: Final[bool]\n"
    "\n"
    "    def __init__(self) -> None:\n"
    "        super().__init__()\n"
    "        self.residual = True\n"
    "\n"
    "    def stats(self, x):  # eager only\n"
    "        return x.mean()\n"
    "\n"
    "    def forward(self, x):\n"
    "        return x + 1  # the eager path\n"
)


def git(root: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    return subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, text=True, env=env
    ).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = write(
        tmp_path / "repo",
        {"models/block.py": MODEL, "export.py": "import torch\nm = torch.jit.script(M())\n"},
    )
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "legacy")
    return root


def test_dry_run_shows_a_diff_and_writes_nothing(cli, repo: Path) -> None:
    result = cli("apply", ".", cwd=repo)
    assert result.exit_code == 1
    assert result.stdout.startswith("--- a/models/block.py\n+++ b/models/block.py\n")
    assert "-    @torch.jit.ignore\n" in result.stdout
    assert (repo / "models/block.py").read_text() == MODEL
    assert result.stderr.startswith("Would fix 4 findings in 1 file (run with --fix to write); 1 left.")


def test_fix_writes_exactly_the_expected_source_and_is_idempotent(cli, repo: Path) -> None:
    first = cli("apply", ".", "--fix", "--format", "json", cwd=repo)
    assert (repo / "models/block.py").read_text() == FIXED
    report = first.json()
    assert {f["code"] for f in report["fixed"]} == {"MIG301", "MIG307", "MIG308", "MIG310"}
    assert [f["code"] for f in report["findings"]] == ["MIG101"]  # unsafe: not applied
    assert first.exit_code == 1
    git(repo, "commit", "-qam", "migrated")
    second = cli("apply", ".", "--fix", "--format", "json", cwd=repo)
    assert second.json()["fixed"] == []
    assert (repo / "models/block.py").read_text() == FIXED
    assert git(repo, "status", "--porcelain") == ""


def test_select_limits_the_fixes(cli, repo: Path) -> None:
    cli("apply", ".", "--fix", "--select", "MIG308", cwd=repo)
    text = (repo / "models/block.py").read_text()
    assert "__constants__" not in text and "@torch.jit.ignore" in text


def test_uncommitted_files_are_not_written(cli, repo: Path) -> None:
    with (repo / "models/block.py").open("a") as handle:
        handle.write("# local edit\n")
    refused = cli("apply", ".", "--fix", cwd=repo)
    assert refused.exit_code == 2
    assert "uncommitted changes in" in refused.stderr and "--allow-dirty" in refused.stderr
    assert (repo / "models/block.py").read_text() == MODEL + "# local edit\n"
    allowed = cli("apply", ".", "--fix", "--allow-dirty", cwd=repo)
    assert allowed.exit_code == 1
    assert (repo / "models/block.py").read_text() == FIXED + "# local edit\n"


def test_mode_encoding_and_line_endings_are_kept(cli, tmp_path: Path) -> None:
    crlf = "import torch\r\n@torch.jit.unused\r\ndef f(x):\r\n    return 'caf\xe9'\r\n"
    path = tmp_path / "plain" / "tool.py"
    path.parent.mkdir()
    path.write_bytes(("# -*- coding: latin-1 -*-\r\n" + crlf).encode("latin-1"))
    path.chmod(0o751)
    bom = tmp_path / "plain" / "bom.py"
    bom.write_bytes("\ufeffimport torch\n@torch.jit.unused\ndef g():\n    pass\n".encode())
    result = cli("apply", str(path.parent), "--fix")
    assert result.exit_code == 0, result.stderr
    assert path.read_bytes() == "# -*- coding: latin-1 -*-\r\ndef f(x):\r\n    return 'caf\xe9'\r\n".encode(
        "latin-1"
    )
    assert path.stat().st_mode & 0o777 == 0o751
    assert bom.read_bytes() == "\ufeffdef g():\n    pass\n".encode()
    assert sorted(p.name for p in path.parent.iterdir()) == ["bom.py", "tool.py"]


def test_files_that_do_not_parse_are_left_untouched(cli, tmp_path: Path) -> None:
    root = write(
        tmp_path / "bad",
        {
            "broken.py": "import torch\n@torch.jit.ignore\ndef f(:\n",
            "ok.py": "import torch\n@torch.jit.ignore\ndef f(x):\n    return x\n",
        },
    )
    result = cli("apply", ".", "--fix", cwd=root)
    assert result.exit_code == 2
    assert (root / "broken.py").read_text() == "import torch\n@torch.jit.ignore\ndef f(:\n"
    assert (root / "ok.py").read_text() == "def f(x):\n    return x\n"
    assert "broken.py: syntax error at line 4" in result.stderr


def test_unsafe_fixes_need_the_flag(cli, tmp_path: Path) -> None:
    root = write(
        tmp_path / "u",
        {"m.py": "import torch\nif torch.jit.isinstance(out, List[torch.Tensor]):\n    pass\n"},
    )
    assert cli("apply", ".", "--fix", cwd=root).exit_code == 1
    assert "torch.jit.isinstance" in (root / "m.py").read_text()


def test_project_fixture_keeps_every_comment(cli, tmp_path: Path) -> None:
    project = Path(shutil.copytree(FIXTURES / "mobile_project", tmp_path / "p"))
    before = (project / "app_models/classifier.py").read_text()
    cli("apply", ".", "--fix", cwd=project)
    after = (project / "app_models/classifier.py").read_text()
    comments = [line.split("#", 1)[1].strip() for line in before.splitlines() if "#" in line]
    for comment in comments:
        if "migrate: ignore" not in comment:
            assert comment in after


@pytest.mark.parametrize("sample", sorted(p.name for p in (FIXTURES.parent.parent / "samples").iterdir()))
def test_what_apply_leaves_is_what_a_rescan_finds(sample: str, tmp_path: Path) -> None:
    """Including findings the fixes themselves write (the example-inputs placeholder)."""
    from migrate import api

    project = Path(shutil.copytree(FIXTURES.parent.parent / "samples" / sample, tmp_path / sample))
    applied = api.apply([project], unsafe=True)
    api.write_changes(applied, allow_dirty=True)
    rescan = api.scan([project], use_cache=False)
    assert [(f.path, f.line, f.code) for f in applied.report.findings] == [
        (f.path, f.line, f.code) for f in rescan.findings
    ]


def _dirty_refusal(result) -> bool:  # type: ignore[no-untyped-def]
    return result.exit_code == 2 and "--allow-dirty" in result.stderr and result.stderr.count("\n") == 1


@pytest.mark.skipif(not is_root(), reason="makes a checkout owned by another user, as in a CI container")
def test_a_repository_git_refuses_is_not_written(cli, repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ "dubious ownership": git refuses the checkout, so nothing says the files are committed."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    with (repo / "models/block.py").open("a") as handle:
        handle.write("# local edit\n")
    for path in [repo, *repo.rglob("*")]:
        os.lchown(path, 65534, 65534)
    refused = cli("apply", ".", "--fix", cwd=repo)
    assert _dirty_refusal(refused), refused.stderr
    assert "dubious ownership" in refused.stderr
    assert (repo / "models/block.py").read_text() == MODEL + "# local edit\n"


def test_without_git_a_checkout_is_not_written(cli, repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with (repo / "models/block.py").open("a") as handle:
        handle.write("# local edit\n")
    monkeypatch.setenv("PATH", str(repo / "models"))  # no git there
    refused = cli("apply", ".", "--fix", cwd=repo)
    assert _dirty_refusal(refused), refused.stderr
    assert "git is not installed" in refused.stderr
    assert (repo / "models/block.py").read_text() == MODEL + "# local edit\n"


def test_an_ignored_file_named_explicitly_counts_as_uncommitted(cli, repo: Path) -> None:
    """Git holds nothing to review or undo a rewrite of an ignored file."""
    write(repo, {".gitignore": "generated/\n", "generated/block.py": MODEL})
    git(repo, "add", ".gitignore")
    git(repo, "commit", "-qm", "ignore")
    refused = cli("apply", "generated/block.py", "--fix", cwd=repo)
    assert _dirty_refusal(refused), refused.stderr
    assert str(repo / "generated/block.py") in refused.stderr
    assert (repo / "generated/block.py").read_text() == MODEL
    assert cli("apply", "generated/block.py", "--fix", "--allow-dirty", cwd=repo).exit_code == 0
    assert (repo / "generated/block.py").read_text() == FIXED


@pytest.mark.skipif(not shutil.which("setpriv"), reason="needs setpriv to drop the override capabilities")
def test_reports_say_what_was_written(tmp_path: Path) -> None:
    """A file that could not be written keeps its findings; its fixes are not counted; its failure
    is an error in the JSON, and `migrate report` does not call the result ready. (Root writes
    through chmod, so as root the run drops the capabilities that let it.)"""
    import json
    import sys

    root = write(tmp_path / "ro", {"locked/block.py": MODEL, "open/block.py": MODEL})
    (root / "locked").chmod(0o555)
    command = [sys.executable, "-m", "migrate", "apply", ".", "--fix", "--format", "json", "-o", "apply.json"]
    try:
        done = run_as_a_user(command, root)
    finally:
        (root / "locked").chmod(0o755)
    assert done.returncode == 2, done.stderr
    assert (root / "locked/block.py").read_text() == MODEL
    assert (root / "open/block.py").read_text() == FIXED
    report = json.loads((root / "apply.json").read_text())
    assert {f["path"] for f in report["fixed"]} == {"open/block.py"}
    assert len(report["fixed"]) == 4
    assert [(f["path"], f["line"], f["code"]) for f in report["findings"]] == [
        ("locked/block.py", 7, "MIG308"),
        ("locked/block.py", 8, "MIG307"),
        ("locked/block.py", 14, "MIG301"),
        ("locked/block.py", 19, "MIG310"),
    ]
    assert [e["path"] for e in report["errors"]] == ["locked/block.py"]
    assert report["errors"][0]["message"].startswith("not written: ")
    assert "Fixed 4 findings in 1 file." in done.stderr
    combined = subprocess.run(
        [sys.executable, "-m", "migrate", "report", "apply.json"], capture_output=True, text=True, cwd=root
    )
    assert combined.returncode == 1 and "Needs work" in combined.stdout


def test_symlinked_sources_are_fixed_once_through_the_link(cli, tmp_path: Path) -> None:
    """A link into the tree is its target, fixed once; the link stays. A link out of the tree is
    not read, and says so."""
    outside = write(tmp_path / "outside", {"x.py": MODEL})
    root = write(tmp_path / "tree", {"model.py": MODEL})
    (root / "alias.py").symlink_to("model.py")
    (root / "linked.py").symlink_to("../outside/x.py")
    result = cli("apply", ".", "--fix", "--format", "json", cwd=root)
    assert result.exit_code == 2
    assert (root / "model.py").read_text() == FIXED
    assert os.readlink(root / "alias.py") == "model.py"
    assert os.readlink(root / "linked.py") == "../outside/x.py"
    assert (outside / "x.py").read_text() == MODEL
    report = result.json()
    assert {f["path"] for f in report["fixed"]} == {"model.py"} and len(report["fixed"]) == 4
    assert [e["path"] for e in report["errors"]] == ["linked.py"]
    assert report["errors"][0]["message"].startswith(f"symbolic link to {outside / 'x.py'}, outside the")


def test_leftover_temporary_files_are_reported(cli, tmp_path: Path) -> None:
    """What a write killed between creating and renaming its temporary file leaves behind."""
    root = write(
        tmp_path / "t", {"model.py": FIXED, ".model.py.k3j_9xq2.tmp": "", ".model.py.inflight.tmp": ""}
    )
    os.utime(root / ".model.py.k3j_9xq2.tmp", (0, 0))  # an earlier run's; the other is in progress
    result = cli("scan", ".", "--format", "json", "--no-cache", cwd=root)
    assert result.exit_code == 2
    assert result.json()["errors"] == [
        {"path": ".model.py.k3j_9xq2.tmp", "message": "left by an interrupted write to model.py: delete it"}
    ]


def test_a_coding_that_does_not_read_back_is_not_rewritten(cli, tmp_path: Path) -> None:
    """`# coding: unicode_escape` decoded and encoded again turned the file into one line."""
    source = b'# coding: unicode_escape\nimport torch\n@torch.jit.unused\ndef f():\n    return "ab"\n'
    root = write(tmp_path / "u", {"m.py": source})
    result = cli("apply", ".", "--fix", "--format", "json", cwd=root)
    assert (root / "m.py").read_bytes() == source
    assert result.exit_code == 2
    [error] = result.json()["errors"]
    assert error["path"] == "m.py" and "unicode_escape" in error["message"]


def test_one_apply_reaches_the_fixed_point(cli, tmp_path: Path) -> None:
    """Each round fixes one level of nested is_scripting() branches; 14 levels took two applies."""
    body, indent = "", "    "
    for level in range(14):
        body += f"{indent}if torch.jit.is_scripting():\n{indent}    y = {level}\n{indent}else:\n"
        indent += "    "
    source = f"import torch\n\n\ndef f():\n{body}{indent}y = 99\n    return y\n"
    root = write(tmp_path / "n", {"m.py": source})
    first = cli("apply", ".", "--fix", "--format", "json", cwd=root)
    assert first.exit_code == 0, first.stderr
    assert (root / "m.py").read_text().endswith("\ndef f():\n    y = 99\n    return y\n")
    assert len(first.json()["fixed"]) == 14
    assert cli("apply", ".", "--fix", "--format", "json", cwd=root).json()["fixed"] == []


def test_fixes_left_at_the_round_cap_are_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the cap a second apply would change more: say so instead of reporting a fixed point.
    (The cap is lowered here: 100 rounds of a file nested that deep take minutes on this host.)"""
    from rewrites import engine
    from rewrites.registry import all_rules

    monkeypatch.setattr(engine, "_MAX_ROUNDS", 3)
    value = "v"
    for _ in range(5):
        value = f"torch.jit.Attribute({value}, int)"
    outcome = engine.fix_source(f"import torch\nx = {value}\n".encode(), all_rules())
    assert outcome.error == "fixes still pending after 3 rounds: run apply again"
    assert len(outcome.fixed) == 3 and outcome.text is not None
