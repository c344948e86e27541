"""The composite Action's own scripts, run as the runner runs them (bash -eo pipefail, a fake
`GITHUB_*` environment, GitHub's REST API on loopback): the failure paths still produce the
report, the job summary and the outputs. Then shellcheck on every script and actionlint on the
example workflow and on the Action's steps as a workflow job."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from github_render import render
from test_pr_report import FakeGitHub

from migrate.reports.combined import MARKER

ROOT = Path(__file__).resolve().parent.parent
ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.S)
ACTIONLINT = shutil.which("actionlint", path=str(Path(sys.executable).parent)) or shutil.which("actionlint")


class Context:
    """What the expressions of action.yml read: inputs, github, runner, steps."""

    def __init__(self, inputs: dict[str, str], github: dict[str, str], runner_temp: Path) -> None:
        self.values: dict[str, str] = {f"inputs.{k}": v for k, v in inputs.items()}
        self.values |= {f"github.{k}": v for k, v in github.items()}
        self.values["runner.temp"] = str(runner_temp)

    def get(self, name: str) -> str:
        return self.values.get(name, "")

    def evaluate(self, expression: str) -> Any:
        """GitHub's expression syntax as far as action.yml uses it (paths, literals, ==, !=,
        &&, ||, !, always())."""
        python = re.sub(r"'([^']*)'", lambda m: repr(m.group(1)), expression)
        python = re.sub(
            r"\b(?:inputs|github|runner|steps)(?:\.[\w-]+)+",
            lambda m: f"_get({m.group(0)!r})",
            python,
        )
        python = python.replace("&&", " and ").replace("||", " or ").replace("always()", "True")
        python = re.sub(r"!(?!=)", " not ", python)
        return eval(python, {"_get": self.get})  # our own action.yml, not outside input

    def substitute(self, text: str) -> str:
        return EXPRESSION.sub(lambda m: str(self.evaluate(m.group(1))), text)


def run_action(
    workspace: Path, tmp_path: Path, inputs: dict[str, str], api: str, pr: str = "7"
) -> tuple[Context, list[tuple[str, str]], dict[str, Path]]:
    """Every step of the composite, in order, with its `if:`; `uses:` steps are recorded."""
    temp, bin_dir = tmp_path / "runner_temp", tmp_path / "bin"
    temp.mkdir()
    bin_dir.mkdir()
    shim = bin_dir / "migrate"  # the console script `pip install` would put on PATH
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m migrate "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
    files = {name: tmp_path / name for name in ("output", "summary")}
    for path in files.values():
        path.write_text("")
    defaults = {name: str(spec.get("default", "")) for name, spec in ACTION["inputs"].items()}
    context = Context(
        {**defaults, **inputs, "github-token": "t0ken"},
        {"action_path": str(ROOT), "event.pull_request.number": pr},
        temp,
    )
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "HOME": str(tmp_path),
        "RUNNER_TEMP": str(temp),
        "GITHUB_REPOSITORY": "acme/ml_models",
        "GITHUB_API_URL": api,
        "GITHUB_STEP_SUMMARY": str(files["summary"]),
        "MIGRATE_CACHE_DIR": str(tmp_path / "cache"),
    }
    ran: list[tuple[str, str]] = []
    for step in ACTION["runs"]["steps"]:
        name = step.get("name") or step["uses"]
        condition = step.get("if", "success()")
        condition = EXPRESSION.sub(lambda m: m.group(1), str(condition))
        failed_before = any(outcome == "failure" for _, outcome in ran)
        if "always()" not in condition and failed_before:
            outcome = "skipped"
        elif not context.evaluate(condition.replace("success()", "True")):
            outcome = "skipped"
        elif "uses" in step:
            outcome = "success"
        elif "pip install" in step.get("run", ""):  # never install here: the shim stands in
            (temp / "migrate").mkdir(exist_ok=True)
            outcome = "success"
        else:
            files["output"].write_text("")
            step_env = {k: context.substitute(str(v)) for k, v in step.get("env", {}).items()}
            cwd = workspace / context.substitute(step.get("working-directory", "."))
            done = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
                cwd=cwd,
                env={**env, **step_env, "GITHUB_OUTPUT": str(files["output"])},
                capture_output=True,
                text=True,
                timeout=300,
            )
            outcome = "success" if done.returncode == 0 else "failure"
            (tmp_path / f"{name}.log").write_text(done.stdout + done.stderr)
            for line in files["output"].read_text().splitlines():
                key, _, value = line.partition("=")
                context.values[f"steps.{step['id']}.outputs.{key}"] = value
        if "id" in step:
            context.values[f"steps.{step['id']}.outcome"] = outcome
        ran.append((name, outcome))
    return context, ran, files


@pytest.fixture
def github() -> Iterator[str]:
    FakeGitHub.comments, FakeGitHub.requests, FakeGitHub.login = [], [], None
    FakeGitHub.fail_with = None
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeGitHub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A repository with a finding and a file the scanner cannot parse."""
    root = tmp_path / "workspace"
    root.mkdir()
    (root / "model.py").write_text("import torch\nm = torch.jit.script(torch.nn.Linear(2, 2))\n")
    (root / "broken.py").write_text("import torch\nm = torch.jit.script(x\n")
    return root


def test_an_unparsable_file_and_a_refused_comment_still_give_the_report(
    workspace: Path, tmp_path: Path, github: str
) -> None:
    FakeGitHub.fail_with = 403  # a fork's token may not comment
    context, ran, files = run_action(workspace, tmp_path, {}, github)
    outcomes = dict(ran)
    assert outcomes["Scan"] == "success", (tmp_path / "Scan.log").read_text()
    assert outcomes["Report"] == "success", (tmp_path / "Report.log").read_text()
    assert outcomes["Upload SARIF"] == "success" and outcomes["Keep the reports"] == "success"
    assert outcomes["Verdict"] == "failure"  # the check fails on the verdict, after everything ran
    report = Path(context.get("steps.report.outputs.report")).read_text(encoding="utf-8")
    assert context.get("steps.report.outputs.verdict") == "needs-work"
    assert report.startswith(MARKER) and "could not scan broken.py" in report
    summary = render(files["summary"].read_text(encoding="utf-8")).text
    assert "could not scan broken.py" in summary
    assert "The pull-request comment was not posted" in summary and "HTTP 403" in summary
    assert "the pull-request comment was not posted" in (tmp_path / "Report.log").read_text()


def test_a_scan_that_cannot_run_is_a_line_in_the_report(workspace: Path, tmp_path: Path, github: str) -> None:
    context, ran, files = run_action(workspace, tmp_path, {"paths": "no/such/folder"}, github)
    assert dict(ran)["Report"] == "success", (tmp_path / "Report.log").read_text()
    assert context.get("steps.report.outputs.verdict") == "needs-work"
    assert "the scan did not run (exit 2)" in render(files["summary"].read_text(encoding="utf-8")).text
    (comment,) = FakeGitHub.comments  # posted, with the failure in it
    assert comment["body"].startswith(MARKER) and "the scan did not run" in comment["body"]


def test_more_findings_than_github_annotates_are_pointed_to_the_report(
    workspace: Path, tmp_path: Path, github: str
) -> None:
    (workspace / "broken.py").unlink()
    (workspace / "many.py").write_text(
        "import torch\n" + "".join(f"m{i} = torch.jit.script(torch.nn.Linear(2, 2))\n" for i in range(12))
    )
    context, _, files = run_action(workspace, tmp_path, {"comment": "false"}, github)
    assert context.get("steps.scan.outputs.annotations") == "13"
    assert "GitHub shows only 10 warning annotations per step" in (tmp_path / "Scan.log").read_text()
    assert "GitHub shows 10 annotations per step" in files["summary"].read_text(encoding="utf-8")
    assert FakeGitHub.requests == []


def _scripts() -> list[tuple[str, str]]:
    return [(step["name"], step["run"]) for step in ACTION["runs"]["steps"] if "run" in step]


@pytest.mark.parametrize(("name", "script"), _scripts(), ids=[name for name, _ in _scripts()])
def test_shellcheck_passes_every_script_of_the_action(name: str, script: str) -> None:
    checked = subprocess.run(
        ["shellcheck", "--shell=bash", "--severity=style", "-"],
        input=EXPRESSION.sub("placeholder", script),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stdout


@pytest.mark.skipif(ACTIONLINT is None, reason="actionlint is not installed (the dev extra has it)")
def test_actionlint_passes_the_example_workflow_and_the_action_as_a_job(tmp_path: Path) -> None:
    as_workflow = {
        "name": "the action's steps as a job",
        "on": {"workflow_call": {"inputs": {name: {"type": "string", "required": False}
                                            for name in ACTION["inputs"]}}},
        "jobs": {"action": {"runs-on": "ubuntu-latest", "steps": ACTION["runs"]["steps"]}},
    }  # fmt: skip
    job = tmp_path / "action-as-job.yml"
    job.write_text(yaml.safe_dump(as_workflow, sort_keys=False))
    for workflow in (ROOT / "examples" / "github-workflow.yml", job):
        linted = subprocess.run(
            [str(ACTIONLINT), "-shellcheck", shutil.which("shellcheck") or "", str(workflow)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert linted.returncode == 0, linted.stdout + linted.stderr
