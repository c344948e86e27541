"""`migrate scan` end to end, in-process, on real files: formats, exit codes, config, caching."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, is_root, run_locked, write

PROJECT = FIXTURES / "mobile_project"

EXPECTED = [
    ("app_models/classifier.py", 20, "MIG308"),
    ("app_models/classifier.py", 21, "MIG307"),
    ("app_models/classifier.py", 40, "MIG301"),
    ("app_models/classifier.py", 46, "MIG310"),
    ("scripts/check_model.py", 4, "MIG204"),
    ("scripts/check_model.py", 5, "MIG108"),
    ("scripts/export_mobile.py", 11, "MIG103"),
    ("scripts/export_mobile.py", 12, "MIG201"),
    ("scripts/export_mobile.py", 13, "MIG202"),
    ("scripts/export_mobile.py", 14, "MIG107"),
]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return Path(shutil.copytree(PROJECT, tmp_path / "project"))


def test_json_report_of_a_mobile_project(cli, project: Path) -> None:
    result = cli("scan", str(project), "--format", "json", "--no-cache")
    assert result.exit_code == 1
    report = result.json()
    assert report["version"] == 1
    assert report["files_scanned"] == 5
    assert report["errors"] == []
    assert [(f["path"], f["line"], f["code"]) for f in report["findings"]] == EXPECTED
    first = report["findings"][0]
    assert set(first) == {
        "code",
        "name",
        "path",
        "line",
        "column",
        "end_line",
        "end_column",
        "message",
        "fix",
    }


def test_concise_output_and_summary(cli, project: Path) -> None:
    result = cli("scan", ".", "--no-cache", cwd=project)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("app_models/classifier.py:20:5 MIG308 ")
    assert any(line.startswith("Found 10 findings in 3 files (5 scanned); 4 fixable") for line in lines)
    assert "     1  MIG201  optimize-for-mobile" in lines


def test_clean_tree_exits_zero(cli, tmp_path: Path) -> None:
    write(tmp_path / "clean", {"m.py": "import torch\nx = torch.ones(3)\n"})
    result = cli("scan", str(tmp_path / "clean"), "--no-cache")
    assert result.exit_code == 0
    assert "No TorchScript or PyTorch Mobile dependencies found" in result.stdout


def test_exit_zero_and_select_ignore(cli, project: Path) -> None:
    assert cli("scan", str(project), "--exit-zero", "--no-cache").exit_code == 0
    only = cli("scan", str(project), "--select", "MIG2", "--format", "json", "--no-cache").json()
    assert {f["code"] for f in only["findings"]} == {"MIG201", "MIG202", "MIG204"}
    rest = cli(
        "scan", str(project), "--ignore", "MIG1,MIG2,jit-ignore", "--format", "json", "--no-cache"
    ).json()
    assert {f["code"] for f in rest["findings"]} == {"MIG307", "MIG308", "MIG310"}


def test_unknown_selector_is_a_usage_error(cli, project: Path) -> None:
    result = cli("scan", str(project), "--select", "MIG9")
    assert result.exit_code == 2
    assert result.stderr.strip() == "migrate: error: --select: no rule matches 'MIG9' (see `migrate rules`)"


SELECTOR_PLACES = ["--select", "--ignore", "select", "ignore", "per-file-ignores"]


def _selectors_in(place: str, selectors: list[str], project: Path) -> list[str]:
    """The scan arguments that give ``selectors`` in ``place``; a configuration is written."""
    if place.startswith("--"):
        return [place, ",".join(selectors)]
    quoted = ", ".join(json.dumps(s) for s in selectors)
    setting = (
        f'per-file-ignores = {{ "app_models/*" = [{quoted}] }}'
        if place == "per-file-ignores"
        else f"{place} = [{quoted}]"
    )
    write(project, {"pyproject.toml": f"[tool.migrate]\n{setting}\n"})
    return []


@pytest.mark.parametrize("place", SELECTOR_PLACES)
@pytest.mark.parametrize(
    ("selector", "chosen"),
    [
        ("mig3", lambda code: code.startswith("MIG3")),
        ("ALL", lambda code: True),
        ("all", lambda code: True),
        (" Jit-Ignore", lambda code: code == "MIG301"),
    ],
)
def test_a_rule_selector_means_the_same_wherever_it_is_given(
    cli, project: Path, place: str, selector: str, chosen
) -> None:
    """--select/--ignore, [tool.migrate] select/ignore and per-file-ignores share one matcher: a
    prefix or name in any case, and ALL; per-file-ignores only for the files its pattern names."""
    args = _selectors_in(place, [selector], project)
    report = cli("scan", ".", *args, "--format", "json", "--no-cache", cwd=project).json()
    selecting = place in ("--select", "select")
    expected = {
        (path, code)
        for path, _, code in EXPECTED
        if selecting == (chosen(code) and (place != "per-file-ignores" or path.startswith("app_models/")))
    }
    assert {(f["path"], f["code"]) for f in report["findings"]} == expected


@pytest.mark.parametrize(
    ("place", "where"),
    [
        ("--select", "migrate: error: --select: "),
        ("--ignore", "migrate: error: --ignore: "),
        ("select", "pyproject.toml: [tool.migrate] select: "),
        ("ignore", "pyproject.toml: [tool.migrate] ignore: "),
        ("per-file-ignores", "pyproject.toml: [tool.migrate] per-file-ignores.'app_models/*': "),
    ],
)
def test_a_typo_in_any_rule_selector_is_one_usage_error_naming_where(
    cli, project: Path, place: str, where: str
) -> None:
    """Checked by one function wherever given; a configured select is checked even when --select
    replaces it (it was not), and the message says which option, key or pattern holds the typo."""
    args = _selectors_in(place, ["MIG3", "jit-scirpt"], project)
    for command in ("scan", "apply"):
        result = cli(
            command, ".", *args, *([] if place.startswith("--") else ["--select", "MIG1"]), cwd=project
        )
        assert result.exit_code == 2 and result.stderr.count("\n") == 1, result.stderr
        assert f"{where}no rule matches 'jit-scirpt' (see `migrate rules`)" in result.stderr


def test_missing_path_is_a_usage_error(cli, tmp_path: Path) -> None:
    result = cli("scan", str(tmp_path / "nope"))
    assert result.exit_code == 2 and "no such file or directory" in result.stderr


def test_pyproject_configuration(cli, project: Path) -> None:
    write(
        project,
        {
            "pyproject.toml": (
                "[tool.migrate]\n"
                'ignore = ["MIG3"]\n'
                'extend-exclude = ["scripts/check_model.py"]\n'
                'per-file-ignores = { "scripts/export_*.py" = ["MIG107"] }\n'
            )
        },
    )
    report = cli("scan", ".", "--format", "json", "--no-cache", cwd=project).json()
    assert {(f["path"], f["code"]) for f in report["findings"]} == {
        ("scripts/export_mobile.py", "MIG103"),
        ("scripts/export_mobile.py", "MIG201"),
        ("scripts/export_mobile.py", "MIG202"),
    }
    assert report["files_scanned"] == 4


def test_bad_configuration_is_one_line(cli, project: Path) -> None:
    write(project, {"pyproject.toml": "[tool.migrate]\nselcet = ['MIG1']\n"})
    result = cli("scan", ".", cwd=project)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "unknown [tool.migrate] key(s): selcet" in result.stderr


def test_ignored_hidden_and_virtualenv_paths_are_skipped(cli, tmp_path: Path) -> None:
    use = "import torch\ntorch.jit.script(m)\n"
    root = write(
        tmp_path / "repo",
        {
            ".gitignore": "build/\n*_generated.py\n!keep_generated.py\n",
            "src/a.py": use,
            "src/keep_generated.py": use,
            "src/x_generated.py": use,
            "build/b.py": use,
            ".hidden/c.py": use,
            "env/pyvenv.cfg": "home = /usr\n",
            "env/lib/d.py": use,
            "lib/site-packages/e.py": use,
            "src/sub/.gitignore": "local.py\n",
            "src/sub/local.py": use,
        },
    )
    (root / ".git").mkdir()
    report = cli("scan", ".", "--format", "json", "--no-cache", cwd=root).json()
    assert sorted(f["path"] for f in report["findings"]) == ["src/a.py", "src/keep_generated.py"]
    named = cli("scan", "build", "--format", "json", "--no-cache", cwd=root).json()
    assert [f["path"] for f in named["findings"]] == ["b.py"]


def test_cache_is_used_on_an_unchanged_tree(cli, project: Path) -> None:
    first = cli("scan", ".", "--format", "json", cwd=project).json()
    second = cli("scan", ".", "--format", "json", cwd=project).json()
    assert first["files_parsed"] == 3 and first["cache_hits"] == 0
    assert second["files_parsed"] == 0 and second["cache_hits"] == 5
    assert first["findings"] == second["findings"]
    assert (project / ".migrate_cache" / ".gitignore").exists()
    (project / "scripts" / "export_mobile.py").write_text("import torch\ntorch.jit.script(m)\n")
    third = cli("scan", ".", "--format", "json", cwd=project).json()
    assert third["files_parsed"] == 1 and third["cache_hits"] == 4
    assert [f["code"] for f in third["findings"] if f["path"] == "scripts/export_mobile.py"] == ["MIG101"]


def test_a_corrupt_cache_is_ignored(cli, project: Path) -> None:
    cli("scan", ".", cwd=project)
    for cached in (project / ".migrate_cache").glob("scan-*.json"):
        cached.write_text('{"not": "a cache entry"')
    assert cli("scan", ".", "--format", "json", cwd=project).json()["findings"]


def test_output_file_is_written_atomically(cli, project: Path, tmp_path: Path) -> None:
    out = tmp_path / "reports" / "scan.sarif"
    result = cli("scan", str(project), "--format", "sarif", "-o", str(out), "--no-cache")
    assert result.exit_code == 1 and result.stdout == ""
    sarif = json.loads(out.read_text())
    assert sarif["version"] == "2.1.0"
    assert [p.name for p in out.parent.iterdir()] == ["scan.sarif"]


def test_sarif_for_github_code_scanning(cli, project: Path) -> None:
    sarif = cli("scan", ".", "--format", "sarif", "--no-cache", cwd=project).json()
    run = sarif["runs"][0]
    rule_ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    result = run["results"][0]
    assert rule_ids[result["ruleIndex"]] == result["ruleId"] == "MIG308"
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "app_models/classifier.py", "uriBaseId": "%SRCROOT%"}
    assert location["region"] == {"startLine": 20, "startColumn": 5, "endLine": 20, "endColumn": 40}
    assert run["invocations"][0]["executionSuccessful"] is True
    assert all(r["help"]["markdown"].count("## ") == 4 for r in run["tool"]["driver"]["rules"])


def test_github_annotations(cli, project: Path) -> None:
    lines = cli("scan", ".", "--format", "github", "--no-cache", cwd=project).stdout.splitlines()
    assert len(lines) == 10
    assert lines[0].startswith(
        "::warning file=app_models/classifier.py,line=20,col=5,endLine=20,endColumn=40,title=MIG308 constants-attribute::"
    )


def test_markdown_leads_with_verdict_and_attention(cli, project: Path) -> None:
    text = cli("scan", ".", "--format", "markdown", "--no-cache", cwd=project).stdout
    lines = text.splitlines()
    assert lines[0] == "## executorch-migrate scan"
    assert lines[2].startswith("❌ Found 10 findings in 3 files")
    assert lines.index("### Needs attention") < lines.index("### By rule")
    assert "<details><summary>Findings by file</summary>" in lines


def test_bad_files_are_reported_and_the_scan_goes_on(cli, tmp_path: Path) -> None:
    use = "import torch\ntorch.jit.script(m)\n"
    root = write(
        tmp_path / "bad",
        {
            "good.py": use,
            "syntax.py": "import torch\ntorch.jit.script(\n",
            "latin.py": b"import torch\nx = '\xe9'\n",
            "binary.py": b"\x7fELF\x00\x01torch",
            "big.py": "# torch jit\n" + "x = 1\n" * 400_000,
        },
    )
    (root / "loop.py").symlink_to(root / "loop.py")
    (root / "pyproject.toml").write_text("[tool.migrate]\nmax-file-size-mb = 1\n")
    result = cli("scan", ".", "--format", "json", "--no-cache", cwd=root)
    assert result.exit_code == 2
    report = result.json()
    assert [f["path"] for f in report["findings"]] == ["good.py"]
    errors = {e["path"]: e["message"] for e in report["errors"]}
    assert set(errors) == {"syntax.py", "latin.py", "binary.py", "big.py", "loop.py"}
    assert errors["syntax.py"].startswith("syntax error at line 3")
    assert "over the 1 MiB limit" in errors["big.py"]
    assert "symbolic links" in errors["loop.py"]
    stderr_lines = result.stderr.splitlines()
    assert len(stderr_lines) == 5 and all(line.startswith("migrate: error: ") for line in stderr_lines)
    assert "Traceback" not in result.stderr


@pytest.mark.skipif(not shutil.which("setpriv"), reason="needs setpriv to drop root privileges")
def test_permission_denied_is_an_error_not_a_crash() -> None:
    # Under /tmp with open permissions, so that the unprivileged user can reach it.
    root = Path(tempfile.mkdtemp(prefix="migrate-perm-"))
    root.chmod(0o755)
    write(root, {"ok.py": "import torch\ntorch.jit.script(m)\n", "secret.py": "import torch\n"})
    (root / "secret.py").chmod(0)
    command = [sys.executable, "-m", "migrate", "scan", str(root), "--no-cache", "--format", "json"]
    if is_root():
        command = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", *command]
    done = subprocess.run(command, capture_output=True, text=True, cwd=root, timeout=120)
    assert done.returncode == 2, done.stderr
    report = json.loads(done.stdout)
    assert [e["path"] for e in report["errors"]] == ["secret.py"]
    assert "Permission denied" in report["errors"][0]["message"]
    assert [f["path"] for f in report["findings"]] == ["ok.py"]
    shutil.rmtree(root)


def test_scan_does_not_import_torch(project: Path) -> None:
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from migrate.cli import main\n"
        f"result = CliRunner().invoke(main, ['scan', {str(project)!r}, '--no-cache'])\n"
        "assert result.exit_code == 1, result.output\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in {'torch', 'executorch', 'tensorflow'})\n"
        "print(heavy)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_parallel_and_serial_scans_agree(cli, tmp_path: Path) -> None:
    body = "import torch\n" + "".join(f"def f{i}(m):\n    return torch.jit.script(m)\n" for i in range(300))
    root = write(tmp_path / "many", {f"m{i}.py": body for i in range(12)})
    parallel = cli("scan", ".", "--format", "json", "--no-cache", "-j", "2", cwd=root).json()
    serial = cli("scan", ".", "--format", "json", "--no-cache", "-j", "1", cwd=root).json()
    assert len(parallel["findings"]) == 12 * 300
    assert parallel["findings"] == serial["findings"]


def test_rules_listing_and_docs(cli) -> None:
    listing = cli("rules", "--format", "json").json()
    assert {"MIG101", "MIG201", "MIG301", "MIG401", "MIG501"} <= {r["code"] for r in listing}
    shown = cli("rules", "show", "jit-annotate")
    assert shown.exit_code == 0 and shown.stdout.startswith("# MIG306 jit-annotate")
    assert cli("rules", "show", "MIG999").exit_code == 2


def test_a_reader_that_stops_early_gets_no_internal_error(tmp_path: Path) -> None:
    """`migrate scan | head -1`: the closed pipe ends the run quietly."""
    (tmp_path / "many.py").write_text("import torch\n" + "torch.jit.script(m)\n" * 200)
    process = subprocess.Popen(
        [sys.executable, "-m", "migrate", "scan", str(tmp_path), "--no-cache"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        bufsize=0,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # before the report is written, as `| tail -0` or a quick `head` does
    error = process.stderr.read().decode()
    assert process.wait() in (0, 1) and "internal error" not in error, error


def _scan_in_a_process(root: Path, *args: str, **kwargs) -> subprocess.CompletedProcess:  # type: ignore[no-untyped-def]
    """A scan in its own process, with a memory cap and a deadline: what read without bound
    fails on its own instead of taking the machine or the test run with it."""
    import resource

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))

    command = [sys.executable, "-m", "migrate", "scan", str(root), "--format", "json", *args]
    return subprocess.run(
        command, capture_output=True, text=True, cwd=root, timeout=120, preexec_fn=cap, **kwargs
    )


def test_only_regular_files_are_read(tmp_path: Path) -> None:
    """A FIFO named *.py hung the scan; a link to /dev/zero (st_size 0) read until memory ran out."""
    import os

    root = write(tmp_path / "hostile", {"ok.py": "import torch\ntorch.jit.script(m)\n"})
    os.mkfifo(root / "fifo.py")
    (root / "zero.py").symlink_to("/dev/zero")
    (root / "inside.py").symlink_to(root / "fifo.py")
    done = _scan_in_a_process(root, "--no-cache")
    assert done.returncode == 2, done.stderr
    report = json.loads(done.stdout)
    assert [f["path"] for f in report["findings"]] == ["ok.py"]
    errors = {e["path"]: e["message"] for e in report["errors"]}
    assert errors["fifo.py"] == "not a regular file (a FIFO): not read"
    assert errors["zero.py"].startswith("symbolic link to /dev/zero, outside the scanned folder")
    assert "Traceback" not in done.stderr and len(done.stderr.splitlines()) == 2


def test_a_link_to_a_missing_file_names_where_it_points(tmp_path: Path) -> None:
    """icefall ships links to a developer's machine (`-> /exp/ahussein/...`): the line said only
    "cannot read: No such file or directory", as if the file named were missing."""
    root = write(tmp_path / "repo", {"ok.py": "import torch\ntorch.jit.script(m)\n"})
    (root / "gone.py").symlink_to("/exp/someone/tmp/gone.py")
    done = _scan_in_a_process(root, "--no-cache")
    assert done.returncode == 2, done.stderr
    report = json.loads(done.stdout)
    assert [f["path"] for f in report["findings"]] == ["ok.py"]
    assert report["errors"] == [
        {
            "path": "gone.py",
            "message": "cannot read: symbolic link to /exp/someone/tmp/gone.py, which does not exist",
        }
    ]


def test_the_size_limit_counts_bytes_read(tmp_path: Path) -> None:
    """/proc files say st_size 0: the limit applies to the bytes read, not to what stat says."""
    from rewrites.files import read_regular

    (tmp_path / "ok.py").write_bytes(b"x = 1\n")
    assert read_regular(tmp_path / "ok.py", 6) == (b"x = 1\n", "")
    assert read_regular(tmp_path / "ok.py", 5)[0] is None
    assert Path("/proc/self/status").stat().st_size == 0
    data, problem = read_regular(Path("/proc/self/status"), 16)
    assert data is None
    assert problem == "skipped: more than the 1.52588e-05 MiB limit (max-file-size-mb in [tool.migrate])"


@pytest.mark.skipif(not shutil.which("setpriv"), reason="needs setpriv to drop the override capabilities")
def test_an_unreadable_folder_is_one_line_and_the_scan_goes_on(tmp_path: Path) -> None:
    """chmod 000 on a folder: its one line, and the other files' findings (the virtualenv probe
    raised first). Root reads through chmod, so as root the scan runs without the capabilities
    that let it (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH), as any other user would."""
    root = write(
        tmp_path / "tree", {"ok.py": "import torch\ntorch.jit.script(m)\n", "locked/x.py": "x = 1\n"}
    )
    command = [sys.executable, "-m", "migrate", "scan", str(root), "--no-cache", "--format", "json"]
    done = run_locked(command, root, root / "locked", 0)
    assert done.returncode == 2, done.stderr
    report = json.loads(done.stdout)
    assert [f["path"] for f in report["findings"]] == ["ok.py"]
    assert report["errors"] == [{"path": "locked", "message": "cannot list folder: Permission denied"}]
    assert "internal error" not in done.stderr


def test_a_report_onto_a_device_or_a_link_to_one_writes_into_it(cli, project: Path, tmp_path: Path) -> None:
    """`-o /dev/null` replaced the system's /dev/null with a regular file (as root)."""
    import os
    import stat

    node = tmp_path / "null"
    try:
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("cannot make a device node here")
    (tmp_path / "link").symlink_to(node)
    for target in (node, tmp_path / "link"):
        assert cli("scan", str(project), "-o", str(target), "--no-cache").exit_code == 1
    assert stat.S_ISCHR(node.lstat().st_mode)
    assert (tmp_path / "link").is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "null", "project"]


def test_a_committed_cache_is_not_believed(cli, project: Path, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A pull request can add a cache that says "nothing here" for every file: only entries
    signed with the key outside the project (in the user's cache folder) are read."""
    from rewrites.cache import content_digest

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    findings = cli("scan", ".", "--format", "json", cwd=project).json()["findings"]
    assert findings
    [cached] = (project / ".migrate_cache").glob("scan-*.json")
    forged = {content_digest(p.read_bytes()): {} for p in project.rglob("*.py")}
    for text in (json.dumps(forged), "0" * 64 + "\n" + json.dumps(forged)):
        cached.write_text(text)
        again = cli("scan", ".", "--format", "json", cwd=project).json()
        assert again["findings"] == findings and again["cache_hits"] == 0
    assert cli("scan", ".", "--format", "json", cwd=project).json()["cache_hits"] == 5


def test_the_cache_follows_no_link(cli, project: Path, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (project / ".migrate_cache").symlink_to(elsewhere)
    assert cli("scan", ".", cwd=project).exit_code == 1
    assert list(elsewhere.iterdir()) == []
    (project / ".migrate_cache").unlink()
    (project / ".migrate_cache").mkdir()
    (project / ".migrate_cache" / ".gitignore").symlink_to(elsewhere / "created")
    assert cli("scan", ".", cwd=project).exit_code == 1
    assert list(elsewhere.iterdir()) == []
    assert len(list((project / ".migrate_cache").glob("scan-*.json"))) == 1


def test_a_cache_file_that_is_a_fifo_or_dev_zero_is_ignored(project: Path, tmp_path: Path) -> None:
    import os

    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "user-cache")}
    first = _scan_in_a_process(project, env=env)
    [cached] = (project / ".migrate_cache").glob("scan-*.json")
    cached.unlink()
    cached.symlink_to("/dev/zero")
    done = _scan_in_a_process(project, env=env)
    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout)["findings"] == json.loads(first.stdout)["findings"]
    cached.unlink()
    os.mkfifo(cached)
    done = _scan_in_a_process(project, env=env)
    assert done.returncode == 1, done.stderr


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ('respect-gitignore = "false"', "respect-gitignore must be true or false, not 'false'"),
        ('ignore = [""]', "ignore holds an empty rule selector"),
        ('select = ["MIG1", " "]', "select holds an empty rule selector"),
        ('max-file-size-mb = "ten"', "max-file-size-mb must be a positive number, not 'ten'"),
        ("max-file-size-mb = nan", "max-file-size-mb must be a positive number, not nan"),
        ("max-file-size-mb = inf", "max-file-size-mb must be a positive number, not inf"),
        ("max-file-size-mb = -1", "max-file-size-mb must be a positive number, not -1"),
        ("max-file-size-mb = true", "max-file-size-mb must be a positive number, not True"),
        ("cache-dir = 5", "cache-dir must be a non-empty string, not 5"),
        ("legacy-python = []", "legacy-python must be a non-empty string, not []"),
        (
            'per-file-ignores = { "tests/*" = ["MIG40"], "x.py" = ["jit-scirpt"] }',
            "no rule matches 'jit-scirpt'",
        ),
        (
            'per-file-ignores = { "tests/*" = [""] }',
            "per-file-ignores.'tests/*' holds an empty rule selector",
        ),
    ],
)
def test_every_configuration_key_is_type_checked(cli, project: Path, setting: str, message: str) -> None:
    write(project, {"pyproject.toml": f"[tool.migrate]\n{setting}\n"})
    result = cli("scan", ".", "--no-cache", cwd=project)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("migrate: error: ")
    assert message in result.stderr and "internal error" not in result.stderr


def test_a_tool_table_that_is_not_a_table_is_one_line(cli, project: Path) -> None:
    write(project, {"pyproject.toml": "[tool]\nmigrate = 5\n"})
    result = cli("scan", ".", "--no-cache", "--config", "pyproject.toml", cwd=project)
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert "[tool.migrate] must be a table" in result.stderr
    write(project, {"pyproject.toml": "tool = 5\n"})
    assert cli("scan", ".", "--no-cache", cwd=project).exit_code == 1  # not ours: no configuration


def test_per_file_ignores_match_from_the_configuration_folder(cli, project: Path) -> None:
    """`scan scripts`, and the pre-commit hook (which names files), ignore what `scan .` ignores."""
    write(
        project,
        {
            "pyproject.toml": '[tool.migrate]\nper-file-ignores = { "scripts/*" = ["mig1", "optimize-for-mobile"] }\n'
        },
    )
    expected = {("export_mobile.py", "MIG202"), ("check_model.py", "MIG204")}
    for args in (["scripts"], ["scripts/export_mobile.py", "scripts/check_model.py"]):
        report = cli("scan", *args, "--format", "json", "--no-cache", cwd=project).json()
        assert {(Path(f["path"]).name, f["code"]) for f in report["findings"]} == expected
    whole = cli("scan", ".", "--format", "json", "--no-cache", cwd=project).json()
    assert {
        (Path(f["path"]).name, f["code"]) for f in whole["findings"] if "scripts" in f["path"]
    } == expected
    applied = cli("apply", "scripts", "--format", "json", cwd=project).json()
    assert "MIG201" not in {f["code"] for f in applied["fixed"] + applied["findings"]}
    write(project, {"pyproject.toml": '[tool.migrate]\nper-file-ignores = { "check_model.py" = ["MIG2"] }\n'})
    named = cli("scan", ".", "--format", "json", "--no-cache", cwd=project).json()  # a name, at any depth
    assert ("check_model.py", "MIG204") not in {(Path(f["path"]).name, f["code"]) for f in named["findings"]}


def test_rule_codes_complete_in_the_shell() -> None:
    """`migrate rules show MIG1<TAB>` offers the codes (click's bash completion protocol)."""
    from click.testing import CliRunner

    from migrate.cli import main

    result = CliRunner().invoke(
        main,
        [],
        prog_name="migrate",
        complete_var="_MIGRATE_COMPLETE",
        env={
            "_MIGRATE_COMPLETE": "bash_complete",
            "COMP_WORDS": "migrate rules show MIG10",
            "COMP_CWORD": "3",
        },
    )
    offered = [line.split(",", 1)[1] for line in result.output.splitlines()]
    assert "MIG101" in offered and all(code.startswith("MIG10") for code in offered), result.output


def test_every_option_has_help() -> None:
    from migrate.cli import main

    for command in main.commands.values():  # type: ignore[attr-defined]
        for param in command.params:
            if param.param_type_name == "option" and not getattr(param, "hidden", False):
                assert getattr(param, "help", None), f"migrate {command.name} {param.opts[0]} has no help"


def test_a_configuration_that_is_not_a_regular_file_is_one_line(project: Path, tmp_path: Path) -> None:
    """`--config` naming a FIFO hung every command; a link to a regular file is still read."""
    import os

    os.mkfifo(tmp_path / "fifo.toml")
    done = _scan_in_a_process(project, "--no-cache", "--config", str(tmp_path / "fifo.toml"))
    assert done.returncode == 2
    assert done.stderr == (
        f"migrate: error: {tmp_path / 'fifo.toml'}: cannot read configuration: "
        "not a regular file (a FIFO): not read\n"
    )
    (tmp_path / "real.toml").write_text('[tool.migrate]\nselect = ["MIG1"]\n', encoding="utf-8")
    (tmp_path / "link.toml").symlink_to(tmp_path / "real.toml")
    linked = _scan_in_a_process(project, "--no-cache", "--config", str(tmp_path / "link.toml"))
    assert linked.returncode == 1, linked.stderr
    assert {f["code"][:4] for f in json.loads(linked.stdout)["findings"]} == {"MIG1"}
