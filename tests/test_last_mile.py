"""The Python side's last mile (issue 13): example inputs found where the project keeps them,
`@torch.jit.export` methods the project calls exported into the same `.pte`, and export
scripts that run as written after `migrate apply --fix --unsafe-fixes`.

The streaming fixture is a keyword spotter as an app team writes it for PyTorch Mobile:
`forward` for a clip, `init_state()` and `step(frame, state)` for streaming, and an export
script that scripts it, calls all three as sanity checks and saves a `.ptl`.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from rewrites.project import EXAMPLE_FUNCTIONS, EXAMPLE_WORDS, CallSite, constant_arguments, index_project
from tests.conftest import FIXTURES, migrate_apply_all, needs_export, run_command, run_migrate, run_python

REPO = Path(__file__).resolve().parent.parent

COMPARE_WITH_EAGER = """
import json, sys, torch
sys.path.insert(0, ".")
from executorch.runtime import Runtime
from model import make_model
model = make_model()
program = Runtime.get().load_program(sys.argv[1])
clip, frame = torch.randn(1, 10, 20), torch.randn(1, 1, 20)  # the shapes the script exported
state = program.load_method("init_state").execute([])[0]
scores, new_state = program.load_method("step").execute([frame, state])
eager_scores, eager_state = model.step(frame, model.init_state())
print(json.dumps({
    "methods": sorted(program.method_names),
    "forward": float((program.load_method("forward").execute([clip])[0] - model(clip)).abs().max()),
    "init_state": float((state - model.init_state()).abs().max()),
    "step": max(float((scores - eager_scores).abs().max()), float((new_state - eager_state).abs().max())),
}))
"""


def _apply(project: Path) -> dict:
    done = migrate_apply_all(project)
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def streaming(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    project = Path(shutil.copytree(FIXTURES / "streaming_export", tmp_path_factory.mktemp("stream") / "p"))
    return project, _apply(project)


@needs_export
def test_a_streaming_export_script_runs_as_written_and_its_pte_methods_match_eager(
    streaming: tuple[Path, dict],
) -> None:
    project, report = streaming
    assert report["findings"] == []
    fixed = sorted(f["code"] for f in report["fixed"])
    assert fixed == ["MIG101", "MIG202", "MIG303", "MIG303"]
    script = (project / "export_mobile.py").read_text()
    assert "torch.jit" not in script and "scripted" not in script  # no name holding something else
    ran = run_command([sys.executable, "export_mobile.py", "spotter.ptl"], project)
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert "step scores torch.Size([1, 4])" in ran.stdout  # the sanity checks still ran
    assert sorted(p.name for p in project.glob("spotter.*")) == ["spotter.pte"]
    compared = run_python(COMPARE_WITH_EAGER, "spotter.pte", cwd=project)
    assert compared.returncode == 0, compared.stderr[-3000:]
    result = json.loads(compared.stdout.strip().splitlines()[-1])
    assert result["methods"] == ["forward", "init_state", "step"]
    assert result["forward"] < 1e-5 and result["init_state"] == 0.0 and result["step"] < 1e-5


@pytest.mark.parametrize("sample", ["image_classifier", "speech_commands"])
def test_the_model_samples_need_no_hand_edits_after_apply(sample: str, tmp_path: Path) -> None:
    project = Path(shutil.copytree(REPO / "samples" / sample, tmp_path / sample))
    report = _apply(project)
    assert report["findings"] == []
    script = (project / "export_mobile.py").read_text()
    assert "from model import example_inputs, make_model" in script
    assert "EXAMPLE_INPUTS_NEEDED_BY_TORCH_EXPORT" not in script
    if sample == "speech_commands":
        model = (project / "model.py").read_text()
        assert "@torch.jit.export" not in model and "def init_state(self, batch: int = 1)" in model
        assert '"stream": torch.export.export(MethodAsForward(model, "stream"), (frames, state))' in script
        assert 'constant_methods={"init_state": model.init_state(1)}' in script


def test_the_project_index_finds_example_inputs_traces_and_method_calls() -> None:
    index = index_project(
        [
            ("pkg/model.py", "import torch\n\ndef get_example_inputs():\n    return (torch.rand(1),)\n"),
            (
                "pkg/nets.py",
                "class Net:\n    @torch.jit.export\n    def step(self, x, n: int):\n        return x\n",
            ),
            (
                "bench.py",
                "m = make_net()\nts = torch.jit.trace(m, torch.rand(2, 8))\nts.step(torch.ones(1), 3)\n",
            ),
            (
                "app/test_app.py",
                "assert net.step(frame(1), 3) is not None\nself.step(x, 9)\noptimizer.step()\n",
            ),
            ("notes.txt", "def example_inputs():\n"),
        ]
    )
    assert index.example_for("model") == index.example_for("pkg.model") == ("get_example_inputs", True)
    assert index.example_for("notes") is None
    assert index.traced_example("make_net") == "torch.rand(2, 8)"
    assert index.calls_of("step") == (
        CallSite("bench.py", 3, "torch.ones(1), 3"),
        CallSite("app/test_app.py", 1, "frame(1), 3"),
    )
    assert constant_arguments([CallSite("a.py", 1, "1"), CallSite("b.py", 2, "1")]) == "1"
    assert constant_arguments([CallSite("a.py", 1, "1"), CallSite("b.py", 2, "2")]) is None
    assert constant_arguments([CallSite("a.py", 1, "x")]) is None


@pytest.mark.parametrize("name", EXAMPLE_FUNCTIONS)
def test_the_project_index_finds_each_example_function_past_its_screen(name: str) -> None:
    assert any(word in name for word in EXAMPLE_WORDS)  # the screen lets its files through
    index = index_project([("nets.py", f"import torch\n\ndef {name}():\n    return (torch.rand(1),)\n")])
    assert index.example_for("nets") == (name, True)
    index = index_project([("nets.py", f"import torch\n\n{name} = (torch.rand(1),)\n")])
    assert index.example_for("nets") == (name, False)


def test_the_scripts_own_calls_come_before_the_projects_example_inputs(streaming: tuple[Path, dict]) -> None:
    project, _ = streaming  # model.py also defines get_example_inputs()
    script = (project / "export_mobile.py").read_text()
    assert '"forward": torch.export.export(model.eval(), (clip,))' in script
    assert "get_example_inputs" not in script


@needs_export
def test_migrate_export_finds_a_methods_inputs_the_way_the_fixes_do(tmp_path: Path) -> None:
    project = Path(shutil.copytree(FIXTURES / "streaming_export", tmp_path / "p"))
    done = run_migrate("export", "model:make_model", "--method", "init_state", "-o", "s.pte", cwd=project)
    assert done.returncode == 0, done.stderr[-2000:]
    check = (
        "import sys, torch; sys.path.insert(0, '.'); from executorch.runtime import Runtime; "
        "from model import make_model; p = Runtime.get().load_program('s.pte'); "
        "print(sorted(p.method_names), float((p.load_method('init_state').execute([])[0] "
        "- make_model().init_state()).abs().max()))"
    )
    ran = run_python(check, cwd=project, timeout=None)
    assert ran.stdout.split()[-3:] == ["['forward',", "'init_state']", "0.0"], ran.stderr[-2000:]
    # `step(frame, state)` called with a frame the script reads itself: nothing to rebuild, so ask
    script = project / "export_mobile.py"
    script.write_text(script.read_text().replace("torch.randn(1, 1, 20)", "next_frame()"))
    refused = run_migrate("export", "model:make_model", "--method", "step", "-o", "t.pte", cwd=project)
    assert refused.returncode == 2
    assert "no example inputs for method(s) step (not all parameters have defaults" in refused.stderr
    assert f"no call of them in {project}" in refused.stderr


@needs_export
def test_migrate_export_rebuilds_a_tensor_methods_inputs_from_the_projects_call(tmp_path: Path) -> None:
    # export_mobile.py calls `scripted.step(frame, state)` with `frame = torch.randn(1, 1, 20)` and
    # `state = scripted.init_state()`: rebuilt without running the script, then checked on the .pte
    project = Path(shutil.copytree(FIXTURES / "streaming_export", tmp_path / "p"))
    done = run_migrate("export", "model:make_model", "--method", "step", "-o", "s.pte", cwd=project)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "step's example inputs were rebuilt from its call at export_mobile.py:16" in done.stdout
    check = (
        "import sys, torch; sys.path.insert(0, '.'); from executorch.runtime import Runtime; "
        "from model import make_model; m = make_model(); p = Runtime.get().load_program('s.pte'); "
        "f = torch.randn(1, 1, 20); s = torch.randn(1, 1, 16); "
        "got = p.load_method('step').execute([f, s]); want = m.step(f, s); "
        "print(sorted(p.method_names), max(float((g - w).abs().max()) for g, w in zip(got, want)))"
    )
    ran = run_python(check, cwd=project, timeout=None)
    names, error = ran.stdout.rsplit(" ", 1)
    assert names.split("\n")[-1] == "['forward', 'step']", ran.stderr[-2000:]
    assert float(error) < 1e-5


SECTIONED = '''"""Export the net."""
import sys

import torch

from nets import make_net


def main(out):
    scripted = torch.jit.script(make_net())
    scripted._save_for_lite_interpreter(out)
'''


def test_new_imports_go_into_the_files_isort_sections(tmp_path: Path) -> None:
    from rewrites.python_checker import fix_text
    from rewrites.registry import all_rules

    project = index_project([("export.py", SECTIONED), ("nets.py", "def example_inputs():\n    return ()\n")])
    text, _, _ = fix_text(SECTIONED, all_rules(), unsafe=True, project=project)
    assert text.startswith('"""Export the net."""\nimport os\nimport pathlib\nimport sys\n\nimport torch\n')
    (tmp_path / "export.py").write_text(text)
    (tmp_path / "nets.py").write_text("")
    ruff = run_command(
        [str(Path(sys.executable).parent / "ruff"), "check", "--isolated", "--select", "I", "export.py"],
        tmp_path,
        timeout=None,
    )
    assert ruff.returncode == 0, ruff.stdout
    unsectioned = "import torch\nimport sys\n" + SECTIONED.split("\n\n\n", 1)[1]
    assert fix_text(unsectioned, all_rules(), unsafe=True)[0].startswith(
        "import torch\nimport sys\nimport os\n"
    )


@needs_export
def test_a_methods_call_is_rebuilt_only_from_what_is_safe_to_run(tmp_path: Path) -> None:
    import types

    import torch

    from migrate.export.method_inputs import inputs_from_calls
    from rewrites.project import CallSite

    class Net(torch.nn.Module):
        def init_state(self, batch: int) -> torch.Tensor:
            return torch.zeros(1, batch, 3)

    module = types.SimpleNamespace(example_inputs=lambda: (torch.ones(2, 5),))
    (tmp_path / "run.py").write_text(
        "def main(net):\n"
        "    frame = example_inputs()[0]\n"
        "    state = net.init_state(2)\n"
        "    a, b = net.step(frame, state)\n"  # line 4: rebuilt
        "    net.step(read_frame(), state)\n"  # line 5: a function of the script
        "    net.step(frame, net.train(False))\n"  # line 6: nn.Module's own method
    )
    net = Net().eval()

    def rebuilt(line: int) -> object:
        return inputs_from_calls(tmp_path, [CallSite("run.py", line, "")], "step", net, module)

    found = rebuilt(4)
    assert found is not None and found[1] == "run.py:4"
    assert [tuple(t.shape) for t in found[0]] == [(2, 5), (1, 2, 3)]
    assert rebuilt(5) is None and rebuilt(6) is None
    assert not net.training
