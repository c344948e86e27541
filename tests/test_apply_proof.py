"""The bar for `apply`: a scriptable model library and its mobile export script, migrated with
`migrate apply --fix`, export with `torch.export` and compute what the original computed.

Each step runs in its own interpreter, so the original and the rewritten package (same name)
never share a process.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, NEEDS_EXPORT

pytest.importorskip("torch", reason=NEEDS_EXPORT)
pytest.importorskip("executorch", reason=NEEDS_EXPORT)

ORIGINAL = """
import json, sys, torch
from speechkit import make_model
from speechkit.models import example_inputs
model, args = make_model(), example_inputs()
torch.save(model(*args), sys.argv[1])
try:
    torch.export.export(model, args)
    print(json.dumps({"exported": True}))
except Exception as exc:
    print(json.dumps({"exported": False, "error": type(exc).__name__}))
"""

MIGRATED = """
import json, sys, torch
from speechkit import make_model
from speechkit.models import example_inputs
model, args = make_model(), example_inputs()
expected = torch.load(sys.argv[1], weights_only=True)
exported = torch.export.export(model, args)
eager = model(*args)
via_export = exported.module()(*args)
print(json.dumps({
    "eager_max_error": float((eager - expected).abs().max()),
    "export_max_error": float((via_export - expected).abs().max()),
}))
"""

RUN_PTE = """
import json, sys, torch
from executorch.runtime import Runtime
from speechkit.models import example_inputs
expected = torch.load(sys.argv[1], weights_only=True)
method = Runtime.get().load_program(sys.argv[2]).load_method("forward")
out = method.execute(list(example_inputs()))[0]
print(json.dumps({"pte_max_error": float((out - expected).abs().max())}))
"""


def run(code: str, cwd: Path, *args: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=cwd, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:
    project = Path(shutil.copytree(FIXTURES / "scriptable_lib", tmp_path_factory.mktemp("proof") / "lib"))
    reference = project.parent / "reference.pt"
    before = run(ORIGINAL, project, str(reference))
    return project, reference, before


def migrate(project: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "migrate", "apply", ".", "--fix", *flags],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_safe_fixes_make_the_library_exportable_with_the_same_outputs(
    migrated: tuple[Path, Path, dict],
) -> None:
    project, reference, before = migrated
    assert before == {"exported": False, "error": "AttributeError"}, "the original must fail to export"
    done = migrate(project)
    assert done.returncode == 1, done.stderr  # the export script's unsafe fixes are left
    after = run(MIGRATED, project, str(reference))
    assert after["eager_max_error"] <= 1e-5
    assert after["export_max_error"] <= 1e-5
    models = (project / "speechkit/models.py").read_text()
    assert (
        "torch.jit" not in models and "# Two independent poolings: run them in parallel on device." in models
    )


def test_unsafe_fixes_turn_the_export_script_into_a_working_pte_pipeline(
    migrated: tuple[Path, Path, dict],
) -> None:
    project, reference, _ = migrated
    done = migrate(project, "--unsafe-fixes")
    assert done.returncode == 0, done.stdout + done.stderr  # nothing left to migrate
    out = project / "app_assets"
    out.mkdir()
    subprocess.run(
        [sys.executable, "export_mobile.py", str(out / "keyword_spotter.ptl")],
        cwd=project,
        check=True,
        capture_output=True,
        timeout=600,
    )
    assert sorted(p.name for p in out.iterdir()) == ["keyword_spotter.pte"]
    result = run(RUN_PTE, project, str(reference), str(out / "keyword_spotter.pte"))
    assert result["pte_max_error"] <= 1e-4


QUANTIZED_CHECK = """
import json, sys, torch
sys.path.insert(0, ".")
from executorch.runtime import Runtime
import export_quantized as script
torch.manual_seed(0)
float_model = script.TinyNet().eval()
x = torch.rand(1, 3, 32, 32)
program = Runtime.get().load_program(sys.argv[1])
out = program.load_method("forward").execute([x])[0]
reference = float_model(x)
cosine = torch.nn.functional.cosine_similarity(out.flatten(), reference.flatten(), dim=0)
print(json.dumps({"cosine": float(cosine)}))
"""


def test_eager_static_quantization_becomes_a_pt2e_quantized_pte(tmp_path: Path) -> None:
    project = Path(shutil.copytree(FIXTURES / "quantized_export", tmp_path / "quantized"))
    done = migrate(project, "--unsafe-fixes")
    assert done.returncode == 0, done.stdout + done.stderr
    script = (project / "export_quantized.py").read_text()
    assert "prepare_pt2e(" in script and "convert_pt2e(" in script and "QuantStub" not in script
    assert "# Calibrate on a few batches." in script  # the calibration loop is kept as it was
    subprocess.run(
        [sys.executable, "export_quantized.py", "tiny.ptl"],
        cwd=project,
        check=True,
        capture_output=True,
        timeout=600,
    )
    result = run(QUANTIZED_CHECK, project, str(project / "tiny.pte"))
    assert result["cosine"] > 0.99
