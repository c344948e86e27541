"""A TorchScript value and its uses are rewritten together or not at all (issue 19).

The detection-export fixture is shaped as ultralytics/yolov5 writes its export: a trace saved
with `_extra_files` through `optimize_for_mobile(...)._save_for_lite_interpreter` in one branch
and `.save` in the other, a trace for Core ML and one for TensorBoard's graph.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import libcst as cst
import pytest

from rewrites.model import FixSafety
from rewrites.python_checker import PythonRule, fix_text, lint_text
from rewrites.registry import all_rules
from rewrites.rules._export import as_args, export_call
from tests.conftest import FIXTURES, migrate_apply_all, needs_export, run_python

RUN_BOTH_BRANCHES = """
import json, sys, pathlib, torch
sys.path.insert(0, ".")
from executorch.runtime import Runtime
from export import export_torchscript
from models import TinyDetector
torch.manual_seed(0)
model, im = TinyDetector().eval(), torch.rand(1, 3, 32, 32)
results = {}
for optimize in (True, False):
    folder = pathlib.Path(sys.argv[1]) / f"optimize_{optimize}"
    folder.mkdir()
    returned, _ = export_torchscript(model, im, folder / "yolov5n.pt", optimize)
    program = Runtime.get().load_program(str(folder / "yolov5n.pte"))
    out = program.load_method("forward").execute([im])[0]
    results[str(optimize)] = {
        "files": sorted(p.name for p in folder.iterdir()),
        "returned": str(returned),
        "max_error": float((out - model(im)).abs().max()),
        "config": json.loads(program.load_method("config.txt").execute([])[0]),
    }
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    project = Path(shutil.copytree(FIXTURES / "detection_export", tmp_path_factory.mktemp("chains") / "det"))
    return project, migrate_apply_all(project)


@needs_export
def test_a_trace_saved_in_two_branches_runs_in_both_and_keeps_its_metadata(
    migrated: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    project, done = migrated
    report = json.loads(done.stdout)
    fixed = sorted(f["code"] for f in report["fixed"] if f["path"] == "export.py")
    assert fixed == ["MIG103", "MIG107", "MIG201", "MIG202"]
    script = (project / "export.py").read_text()
    assert "torch.jit.trace(model, im, strict=False)\n    d = " not in script
    assert "optimize_for_mobile" not in script and ".save(str(f)" not in script
    assert 'f = file.with_suffix(".pte")' in script and "splitext" not in script
    ran = run_python(RUN_BOTH_BRANCHES, str(tmp_path), cwd=project)
    assert ran.returncode == 0, ran.stderr[-3000:]
    results = json.loads(ran.stdout.strip().splitlines()[-1])
    config = {"shape": [1, 3, 32, 32], "stride": 32, "names": {"0": "person", "1": "bicycle"}}
    for branch in ("True", "False"):
        assert results[branch]["files"] == ["yolov5n.pte"]
        # `f = file.with_suffix(".torchscript")` became ".pte": the path it returns is the file
        assert results[branch]["returned"] == str(tmp_path / f"optimize_{branch}" / "yolov5n.pte")
        assert results[branch]["max_error"] <= 1e-5
        assert results[branch]["config"] == config


def test_traces_for_core_ml_and_a_graph_view_are_left_alone_and_reported(
    migrated: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    project, done = migrated
    assert done.returncode == 1  # the notes are findings left
    report = json.loads(done.stdout)
    left = sorted((f["path"], f["line"], f["code"]) for f in report["findings"])
    lines = (project / "export.py").read_text().splitlines()
    coreml_trace = lines.index("    ts = torch.jit.trace(model, im, strict=False)") + 1
    assert left == [("export.py", coreml_trace, "MIG114"), ("utils/loggers.py", 8, "MIG114")]
    original = FIXTURES / "detection_export"
    assert (project / "utils/loggers.py").read_text() == (original / "utils/loggers.py").read_text()
    coreml = (original / "export.py").read_text().split("def export_coreml", 1)[1]
    assert (project / "export.py").read_text().endswith(coreml)


def test_a_note_is_silenced_by_an_ignore_comment() -> None:
    source = (
        "import torch\n"
        "def log_graph(tb, model, im):\n"
        "    tb.add_graph(torch.jit.trace(model, im), [])  # migrate: ignore[MIG114]\n"
    )
    assert lint_text(source, all_rules()) == ()
    assert fix_text(source, all_rules(), unsafe=True)[0] == source


PARTLY_FOLLOWED = (
    "import torch\n"
    "from torch.utils.mobile_optimizer import optimize_for_mobile\n"
    "def export(model, im, f, optimize):\n"
    "    ts = torch.jit.trace(model, im)\n"
    "    if optimize:\n"
    "        optimize_for_mobile(ts)._save_for_lite_interpreter(f)\n"
    "    else:\n"
    "        ts.save(f)\n"
    "    upload(ts)\n"
)


def test_a_chain_with_a_use_the_fix_cannot_follow_is_left_whole_and_fully_reported() -> None:
    before = lint_text(PARTLY_FOLLOWED, all_rules())
    assert sorted(f.code for f in before) == ["MIG103", "MIG107", "MIG201", "MIG202"]
    assert "not fixed: it goes on to `upload(ts)`" in next(f.message for f in before if f.code == "MIG103")
    text, fixed, remaining = fix_text(PARTLY_FOLLOWED, all_rules(), unsafe=True)
    assert text == PARTLY_FOLLOWED and fixed == ()
    assert remaining == before


class TraceAlone(PythonRule):
    """The fix as it was before chains: `torch.jit.trace` to `torch.export.export`, its uses
    left as they are."""

    code = "MIG990"
    name = "trace-alone"
    message = "trace"
    fix_title = "export"
    fix_safety = FixSafety.UNSAFE
    names = frozenset({"torch.jit.trace"})

    def visit_reference(self, node: cst.BaseExpression, qualified_name: str) -> None:
        call = self.ctx.parent()
        assert isinstance(call, cst.Call)
        exported = export_call(self, call.args[0].value, as_args(self, call.args[1].value))
        self.report(node, edit=self.edit({call: exported}))


@pytest.mark.parametrize(
    "use",
    [
        "ts.save(f)",
        "ts._save_for_lite_interpreter(f, _extra_files=extra)",
        "optimize_for_mobile(ts)",
        "torch.jit.save(ts, f)",
    ],
)
def test_apply_refuses_a_fix_that_leaves_a_name_used_as_torchscript(use: str) -> None:
    source = (
        "import torch\nfrom torch.utils.mobile_optimizer import optimize_for_mobile\n"
        f"def export(model, im, f, extra):\n    ts = torch.jit.trace(model, im)\n    {use}\n"
    )
    text, fixed, remaining = fix_text(source, [TraceAlone], unsafe=True)
    assert text == source and fixed == ()
    assert [f.code for f in remaining] == ["MIG990"]


def test_apply_keeps_the_fixes_that_leave_chains_whole() -> None:
    source = (
        "import torch\n"
        "def export(model, im, f):\n    ts = torch.jit.trace(model, im)\n    ts.save(f)\n"
        "def check(model, im):\n    traced = torch.jit.trace(model, im)\n"
    )
    text, fixed, _ = fix_text(source, [TraceAlone], unsafe=True)
    assert "    ts = torch.jit.trace(model, im)\n    ts.save(f)\n" in text
    assert "traced = torch.export.export(model.eval(), " in text
    assert [(f.code, f.line) for f in fixed] == [("MIG990", 6)]


RESCANNED = [
    PARTLY_FOLLOWED,
    "import torch\nm = torch.jit.load('a.pt')\nm._save_for_lite_interpreter('a.ptl')\n",
    "import torch\nscripted = torch.jit.script(model)\nprint(scripted.graph)\nscripted.save('m.pt')\n",
    "import torch\nfrom torch.utils.mobile_optimizer import optimize_for_mobile\n"
    "frozen = torch.jit.freeze(torch.jit.script(model.eval()))\n"
    "optimize_for_mobile(frozen, backend='vulkan')._save_for_lite_interpreter('m.ptl')\n",
    "import torch\nif script:\n    m = torch.jit.script(model)\nelse:\n    m = torch.jit.trace(model, x)\nm.save('m.pt')\n",
]


@pytest.mark.parametrize("source", RESCANNED)
def test_a_rescan_never_reports_fewer_findings_where_torchscript_is_left(source: str) -> None:
    before = lint_text(source, all_rules())
    text, fixed, remaining = fix_text(source, all_rules(), unsafe=True)
    assert text == source, "nothing here can be rewritten whole"
    assert fixed == () and lint_text(text, all_rules()) == remaining == before


class DropsParentheses(PythonRule):
    """The MIG310 fix as it was: `(a\n and not torch.jit.is_scripting())` became `a` without
    its parentheses, and a condition over several lines stopped parsing."""

    code = "MIG991"
    name = "drops-parentheses"
    message = "scripting"
    fix_title = "fold"
    fix_safety = FixSafety.SAFE
    names = frozenset({"torch.jit.is_scripting"})

    def visit_reference(self, node: cst.BaseExpression, qualified_name: str) -> None:
        test = next(n for n in self.ctx.ancestors() if isinstance(n, cst.BooleanOperation))
        self.report(node, edit=self.edit({test: test.left.with_changes(lpar=(), rpar=())}))


def test_a_fix_whose_text_does_not_parse_is_not_applied_and_the_others_are() -> None:
    source = (
        "import torch\n"
        "def f(x, a, b):\n    if (\n        a\n        and b\n        and not torch.jit.is_scripting()\n    ):\n"
        "        return x\n"
        "def g(x, a):\n    if (a and torch.jit.is_scripting()):\n        return x\n"
    )
    text, fixed, remaining = fix_text(source, [DropsParentheses])
    assert [f.line for f in fixed] == [10] and [f.line for f in remaining] == [6]
    assert "    if a:\n" in text and "and not torch.jit.is_scripting()" in text
    compile(text, "fixed.py", "exec")


SAVED_TO = (
    "import torch\n"
    "def export(model, im, file):\n"
    "{binding}"
    "    ts = torch.jit.trace(model, im)\n"
    "    ts._save_for_lite_interpreter(str(f))\n"
    "    return f\n"
)


@pytest.mark.parametrize(
    ("binding", "renamed"),
    [
        ('    f = file.with_suffix(".ptl")\n', True),
        ("    f = file.with_suffix('.torchscript')\n", True),
        ('    f = file.with_suffix(".onnx")\n', False),  # not a TorchScript file name
        ('    f = file.with_suffix(".ptl")\n    f = f.parent / f.name\n', False),  # bound twice
        ("    f = file\n", False),
    ],
)
def test_a_save_path_made_with_with_suffix_is_renamed_where_it_is_made(binding: str, renamed: bool) -> None:
    fixed, done, _ = fix_text(SAVED_TO.format(binding=binding), all_rules(), unsafe=True)
    assert done, fixed
    assert ("with_suffix('.pte')" in fixed or 'with_suffix(".pte")' in fixed) is renamed, fixed
    assert ("splitext" not in fixed) is renamed, fixed
    assert "return f\n" in fixed


@pytest.mark.parametrize(
    "save",
    [
        "    m._save_for_lite_interpreter(str(f))\n",
        "    torch.jit.save(m, f)\n",
        "    m._save_for_lite_interpreter(str(f))\n    torch.jit.save(m, str(f))\n",  # the second in a later round
    ],
)
def test_a_module_saved_as_it_is_given_is_written_where_f_is_renamed(save: str) -> None:
    """No chain here: the module is a parameter, and the save's own fix renames the suffix."""
    source = f"import torch\ndef export(m, file):\n    f = file.with_suffix('.ptl')\n{save}    return f\n"
    fixed, done, _ = fix_text(source, all_rules(), unsafe=True)
    assert done, fixed
    assert "f = file.with_suffix('.pte')" in fixed and "splitext" not in fixed, fixed
    assert fixed.count(".write_bytes(") == save.count("save"), fixed
