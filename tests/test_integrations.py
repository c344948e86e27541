"""The GitHub Action, the example workflow and the pre-commit hook: every input, step and
`migrate` option they reference exists, and the hook's command works as pre-commit runs it."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from migrate.cli import main

ROOT = Path(__file__).resolve().parent.parent
EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}")


def load(name: str) -> Any:
    return yaml.safe_load((ROOT / name).read_text(encoding="utf-8"))


ACTION = load("action.yml")
STEPS = ACTION["runs"]["steps"]


def strings(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [s for value in node.values() for s in strings(value)]
    if isinstance(node, list):
        return [s for value in node for s in strings(value)]
    return [node] if isinstance(node, str) else []


def options_of(command: str) -> set[str]:
    sub = main.commands[command]  # type: ignore[attr-defined]
    return {opt for p in sub.params if isinstance(p, click.Option) for opt in (*p.opts, *p.secondary_opts)}


def test_the_action_is_a_composite_with_described_inputs() -> None:
    assert ACTION["runs"]["using"] == "composite"
    for name, spec in ACTION["inputs"].items():
        assert spec.get("description"), name
        assert "default" in spec, f"{name}: an input without a default must be required"
    for step in STEPS:
        assert "uses" in step or step.get("shell") == "bash", step.get("name")
        if "uses" in step:
            assert re.fullmatch(r"[\w-]+/[\w/-]+@v\d+", step["uses"]), step["uses"]


def test_every_expression_names_a_real_input_step_or_output() -> None:
    inputs = set(ACTION["inputs"])
    ids: list[str] = []
    for step in STEPS:
        for text in strings(step):
            for expression in EXPRESSION.findall(text):
                for name in re.findall(r"inputs\.([\w-]+)", expression):
                    assert name in inputs, f"{step.get('name')}: unknown input {name}"
                for name in re.findall(r"steps\.([\w-]+)\.", expression):
                    assert name in ids, f"{step.get('name')}: step {name} is not defined before it"
        ids += [step["id"]] if "id" in step else []
        for name in re.findall(r"steps\.[\w-]+\.outputs\.([\w-]+)", " ".join(strings(step))):
            assert any(f"{name}=" in run for run in (s.get("run", "") for s in STEPS)), name
    for output in ACTION["outputs"].values():
        for name in re.findall(r"steps\.([\w-]+)\.", output["value"]):
            assert name in ids
    used = " ".join(strings(ACTION["runs"]))
    assert {name for name in inputs if f"inputs.{name}" not in used} == set(), "inputs nothing uses"


@pytest.mark.parametrize(
    "step", [s for s in STEPS if "migrate " in s.get("run", "")], ids=lambda s: s["name"]
)
def test_every_migrate_option_the_action_passes_exists(step: dict[str, Any]) -> None:
    script = EXPRESSION.sub("X", step["run"])
    commands = set(re.findall(r"\bmigrate (\w+)", script))
    assert commands <= set(main.commands), commands  # type: ignore[attr-defined]
    allowed = set().union(*(options_of(c) for c in commands))
    tokens = [
        t
        for line in script.splitlines()
        if not line.strip().startswith("#")
        for t in shlex.split(line, comments=True)
    ]
    passed = {
        t.strip("()")
        for t in tokens
        if re.fullmatch(r"\(?--?[a-z][\w-]*\)?", t) and t.strip("()") != "--quiet"
    }
    shell = {"-n", "-f", "-c", "-le", "-eq", "-gt", "-ge"}  # test, tail and grep flags
    unknown = {t for t in passed if t not in allowed and t not in shell}
    assert not unknown, f"{step['name']}: {unknown} are not options of migrate {commands}"


def test_the_example_workflow_uses_the_action_as_declared() -> None:
    workflow = load("examples/github-workflow.yml")
    (job,) = workflow["jobs"].values()
    uses = next(step for step in job["steps"] if "executorch-migrate" in step.get("uses", ""))
    assert set(uses["with"]) <= set(ACTION["inputs"]), set(uses["with"]) - set(ACTION["inputs"])
    for key, command in (("export-args", "export"), ("validate-args", "validate")):
        flags = [t for t in shlex.split(uses["with"].get(key, "")) if t.startswith("-")]
        assert set(flags) <= options_of(command), (key, flags)
    assert {"pull-requests", "security-events"} <= set(workflow["permissions"])


def hook_runner(hook: dict[str, Any], cwd: Path) -> Any:
    program, *entry = shlex.split(hook["entry"])
    assert program == "migrate"  # the console script pyproject.toml declares

    def run(*files: Path) -> subprocess.CompletedProcess[str]:  # pre-commit appends the file names
        command = [sys.executable, "-m", "migrate", *entry, *hook.get("args", []), *map(str, files)]
        return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120)

    return run


HOOKS = {hook["id"]: hook for hook in load(".pre-commit-hooks.yaml")}


def test_the_pre_commit_hook_runs_as_pre_commit_runs_it(tmp_path: Path) -> None:
    hook = HOOKS["migrate-scan"]
    assert {"id", "name", "entry", "language"} <= set(hook)
    legacy = tmp_path / "legacy.py"
    legacy.write_text("import torch\nscripted = torch.jit.script(torch.nn.Linear(2, 2))\n", encoding="utf-8")
    clean = tmp_path / "clean.py"
    clean.write_text(
        "import torch\nprogram = torch.export.export(torch.nn.Linear(2, 2), (torch.ones(1, 2),))\n"
    )
    hook_run = hook_runner(hook, tmp_path)
    found = hook_run(legacy, clean)
    assert found.returncode == 1 and "legacy.py:2:" in found.stdout and "MIG101" in found.stdout
    assert hook_run(clean).returncode == 0


def test_the_hooks_skip_what_the_configuration_excludes(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.migrate]\nextend-exclude = ["third_party"]\n')
    vendored = tmp_path / "third_party" / "lib" / "legacy.py"
    vendored.parent.mkdir(parents=True)
    vendored.write_text(
        "import torch\nscripted = torch.jit.script(torch.nn.Linear(2, 2))\n", encoding="utf-8"
    )
    gradle = tmp_path / "third_party" / "build.gradle"
    gradle.write_text("dependencies {\n    implementation 'org.pytorch:pytorch_android_lite:1.13.1'\n}\n")
    for hook_id, path in (("migrate-scan", vendored), ("migrate-scan-app", gradle)):
        hook = HOOKS[hook_id]
        assert "--force-exclude" in hook["args"]
        skipped = hook_runner(hook, tmp_path)(path.relative_to(tmp_path))
        assert skipped.returncode == 0 and "0 files scanned" in skipped.stdout, skipped.stdout
        plain = {**hook, "args": [a for a in hook["args"] if a != "--force-exclude"]}
        assert hook_runner(plain, tmp_path)(path.relative_to(tmp_path)).returncode == 1


def test_the_app_hook_takes_every_app_file_the_scanner_reads(tmp_path: Path) -> None:
    from rewrites.app_source import APP_NAMES, APP_SUFFIXES

    pattern = re.compile(HOOKS["migrate-scan-app"]["files"])
    for name in (*(f"app/src/x{suffix}" for suffix in APP_SUFFIXES), *(f"ios/{n}" for n in APP_NAMES)):
        assert pattern.search(name), name
    for name in ("model.py", "notes.md", "xPodfile.txt", "pyproject.toml"):
        assert not pattern.search(name), name
    gradle = tmp_path / "build.gradle"
    gradle.write_text("dependencies {\n    implementation 'org.pytorch:pytorch_android_lite:1.13.1'\n}\n")
    found = hook_runner(HOOKS["migrate-scan-app"], tmp_path)(gradle)
    assert found.returncode == 1 and "MIG601" in found.stdout
