"""`migrate validate` on real artifacts in real runtimes, each in its own worker process."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import weakref
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import (
    EXPORT_STREAMING_STEP,
    FIXTURES,
    NEEDS_EXPORT,
    assert_refused_without_bubblewrap,
    export_tiny_convs,
    validate_conv_args,
)
from validators.compare import compare_outputs
from validators.model import ValidationReport
from validators.remarks import NoBaseline, OutputsDiffer, describe, difference

torch = pytest.importorskip("torch", reason=NEEDS_EXPORT)
pytest.importorskip("executorch", reason=NEEDS_EXPORT)

MODELS = FIXTURES / "export_models"

LEGACY = """
import sys, torch
sys.path.insert(0, ".")
from tiny_models import make_conv, conv_inputs
traced = torch.jit.trace(make_conv(), conv_inputs())
torch.jit.save(traced, sys.argv[1] + "/conv.pt")
traced._save_for_lite_interpreter(sys.argv[1] + "/conv.ptl")
"""


def migrate(*args: str, cwd: Path = MODELS) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "migrate", *args], cwd=cwd, capture_output=True, text=True, timeout=900
    )


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The legacy .pt/.ptl (traced, as the app's pipeline made them), the .pte, a wrong .pte."""
    out = tmp_path_factory.mktemp("validate")
    subprocess.run(
        [sys.executable, "-c", LEGACY, str(out)], cwd=MODELS, check=True, capture_output=True, timeout=300
    )
    return export_tiny_convs(out)


def validate_conv(candidate: Path, *options: str, report: Path) -> subprocess.CompletedProcess[str]:
    """`migrate validate` of the tiny conv net on a candidate, with its JSON report."""
    return migrate(*validate_conv_args(candidate, *options, "--report-json", str(report)))


def report_options(folder: Path) -> tuple[str, ...]:
    return ("--report-json", str(folder / "report.json"), "--report-md", str(folder / "report.md"))


def read_report(folder: Path) -> ValidationReport:
    return ValidationReport.from_dict(json.loads((folder / "report.json").read_text()))


@pytest.fixture(scope="session")
def validated(artifacts: Path) -> tuple[subprocess.CompletedProcess[str], dict, str]:
    done = migrate(
        "validate",
        "--model",
        "tiny_models:make_conv",
        "--reference",
        str(artifacts / "conv.ptl"),
        "--candidate",
        str(artifacts / "conv.pte"),
        "--candidate",
        str(artifacts / "conv.pt"),
        "--artifacts",
        str(artifacts),
        "--runs",
        "12",
        "--report-json",
        str(artifacts / "report.json"),
        "--report-md",
        str(artifacts / "report.md"),
    )
    return done, json.loads((artifacts / "report.json").read_text()), (artifacts / "report.md").read_text()


def test_old_new_and_tflite_side_by_side_pass(validated: tuple) -> None:
    done, report, _ = validated
    assert done.returncode == 0, done.stdout + done.stderr
    assert report["passed"] and report["reasons"] == []
    kinds = {r["label"]: r["kind"] for r in report["runtimes"]}
    assert kinds == {
        "eager": "eager",
        "PyTorch Mobile .ptl": "lite",
        "ExecuTorch .pte": "executorch",
        "TorchScript .pt": "torchscript",
        "TFLite": "tflite",
    }
    for runtime in report["runtimes"]:
        assert runtime["error"] is None
        latency = runtime["latency"]
        assert latency["runs"] >= 12 and latency["min"] <= latency["p50"] <= latency["p90"]
        assert runtime["load_seconds"] > 0 and runtime["first_run_seconds"] > 0
        assert runtime["peak_memory_bytes"] is not None


def test_report_numbers_agree_with_an_independent_measurement(validated: tuple, artifacts: Path) -> None:
    """Same seeded inputs, run here directly: the max errors and sizes must be the report's."""
    from executorch.runtime import Runtime

    from migrate.manifest import inspect_pte

    _, report, _ = validated
    rng = np.random.default_rng(0)
    samples = [rng.standard_normal((1, 3, 16, 16)).astype(np.float32) for _ in range(3)]
    sys.path.insert(0, str(MODELS))
    from tiny_models import make_conv

    model = make_conv()
    method = Runtime.get().load_program(artifacts / "conv.pte").load_method("forward")
    with torch.no_grad():
        errors = [
            float((method.execute([torch.from_numpy(s)])[0] - model(torch.from_numpy(s))).abs().max())
            for s in samples
        ]
    comparison = next(c for c in report["comparisons"] if c["label"] == "ExecuTorch .pte")
    assert comparison["outputs"][0]["max_abs_error"] == pytest.approx(max(errors), abs=1e-12)
    pte = next(r for r in report["runtimes"] if r["label"] == "ExecuTorch .pte")
    assert pte["size_bytes"] == (artifacts / "conv.pte").stat().st_size
    assert pte["planned_arena_bytes"] == inspect_pte(artifacts / "conv.pte").methods[0].planned_arena_bytes


def test_json_report_round_trips(validated: tuple) -> None:
    _, report, _ = validated
    assert ValidationReport.from_dict(report).to_dict() == report


def test_markdown_leads_with_the_verdict(validated: tuple) -> None:
    _, _, markdown = validated
    lines = markdown.splitlines()
    assert lines[0] == "## executorch-migrate validation"
    assert lines[2].startswith("✅ **PASS**")
    assert "```mermaid" in lines and "xychart-beta" in lines
    assert lines.index("```mermaid") > lines.index(
        "| Runtime | p50 | p90 | Load | First run | Peak memory | Planned arena | Size | Max abs error | Status |"
    )


def test_a_pte_with_other_weights_fails_with_its_errors(artifacts: Path) -> None:
    """Two .pte candidates, named by their files: the one with other weights fails the verdict."""
    done = validate_conv(
        artifacts / "conv.pte",
        *("--candidate", str(artifacts / "wrong.pte"), "--runs", "3"),
        report=artifacts / "wrong.json",
    )
    assert done.returncode == 1, done.stderr
    report = json.loads((artifacts / "wrong.json").read_text())
    assert not report["passed"]
    right, wrong = report["comparisons"]
    assert right["passed"] and right["outputs"][0]["max_abs_error"] < 1e-5
    assert wrong["passed"] is False and wrong["outputs"][0]["max_abs_error"] > 1e-2
    assert report["reasons"] == [report["reasons"][0]]
    assert report["reasons"][0].startswith("ExecuTorch wrong.pte outputs differ from eager: max abs error")
    (structured,) = report["structured_reasons"]
    assert structured["kind"] == "outputs_differ" and structured["runtime"] == "ExecuTorch wrong.pte"
    assert structured["max_abs_error"] == wrong["outputs"][0]["max_abs_error"] and structured["atol"] == 1e-4
    assert "ExecuTorch conv.pte " in done.stdout


def test_budgets_fail_the_verdict(artifacts: Path) -> None:
    done = migrate(
        "validate",
        "--reference",
        str(artifacts / "conv.pte"),
        "--candidate",
        str(artifacts / "conv.pte"),
        "--no-tflite",
        "--runs",
        "3",
        "--max-latency-ratio",
        "0.000001",
        "--max-memory-mb",
        "0.000001",
        "--report-json",
        str(artifacts / "budget.json"),
    )
    assert done.returncode == 1
    report = json.loads((artifacts / "budget.json").read_text())
    reasons = report["reasons"]
    assert any("over the 1e-06x budget" in r for r in reasons) and any("MiB budget" in r for r in reasons)
    kinds = {r["kind"]: r for r in report["structured_reasons"]}
    assert kinds["over_latency_budget"]["budget"] == 1e-6 and kinds["over_latency_budget"]["ratio"] > 1e-6
    assert kinds["over_memory_budget"]["budget_mb"] == 1e-6


def test_a_runtime_that_crashes_is_a_row_and_the_others_report(artifacts: Path, tmp_path: Path) -> None:
    crashing = tmp_path / "crashing-python"
    crashing.write_text("#!/bin/sh\nkill -SEGV $$\n")
    crashing.chmod(0o755)
    done = validate_conv(
        artifacts / "conv.pte",
        *("--reference", str(artifacts / "conv.pt"), "--runs", "3", "--legacy-python", str(crashing)),
        report=tmp_path / "crash.json",
    )
    report = json.loads((tmp_path / "crash.json").read_text())
    legacy = next(r for r in report["runtimes"] if r["kind"] == "torchscript")
    assert legacy["error"].startswith("the runtime crashed (killed by signal 11)")
    pte = next(r for r in report["runtimes"] if r["kind"] == "executorch")
    assert pte["error"] is None and pte["latency"] is not None
    assert (
        done.returncode == 0
    )  # the reference artifact is not a candidate: it needs attention, not a failure


@pytest.mark.parametrize(
    ("factory", "problem"),
    [
        ("hostile_models:make_crashing", "the conversion crashed (killed by signal 11)"),
        ("hostile_models:make_hanging", "the conversion timed out after 60 s"),
    ],
)
def test_a_model_that_crashes_or_hangs_while_traced_is_the_baselines_row(
    factory: str, problem: str, artifacts: Path, tmp_path: Path
) -> None:
    """The litert-torch conversion traces the model: in its own process, under --timeout."""
    done = migrate(
        "validate",
        "--model",
        factory,
        "--candidate",
        str(artifacts / "conv.pte"),
        "--runs",
        "2",
        "--timeout",
        "60",
        "--artifacts",
        str(tmp_path),
        "--report-json",
        str(tmp_path / "r.json"),
    )
    report = json.loads((tmp_path / "r.json").read_text())
    tflite = next(r for r in report["runtimes"] if r["kind"] == "tflite")
    assert tflite["error"].startswith(problem), tflite
    assert all(r["error"] is None for r in report["runtimes"] if r["kind"] != "tflite")
    assert report["passed"] and done.returncode == 0, done.stderr
    assert any(note.startswith(f"no TFLite baseline: {problem}") for note in report["notes"])


def test_hostile_archives_are_loaded_in_a_sandbox(tmp_path: Path) -> None:
    target = tmp_path / "written-by-the-archive"
    script = (
        "import sys; from hostile_models import write_hostile_archive; write_hostile_archive(*sys.argv[1:])"
    )
    for name in ("old.pt", "new.pt"):
        subprocess.run(
            [sys.executable, "-c", script, str(tmp_path / name), str(target)],
            cwd=MODELS,
            check=True,
            capture_output=True,
            timeout=300,
        )
    inputs = tmp_path / "x.npz"
    np.savez(inputs, x=np.ones((2, 1, 4), dtype=np.float32))
    done = migrate(
        "validate",
        "--reference",
        str(tmp_path / "old.pt"),
        "--candidate",
        str(tmp_path / "new.pt"),
        "--inputs",
        str(inputs),
        "--runs",
        "2",
        "--report-json",
        str(tmp_path / "r.json"),
    )
    assert not target.exists()
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert [r["error"] for r in report["runtimes"]] == [None, None] and report["passed"]


def test_without_bubblewrap_validate_refuses_an_archive_with_the_way_out(tmp_path: Path) -> None:
    archive = tmp_path / "shipped.pt"
    archive.write_bytes(b"never loaded")
    assert_refused_without_bubblewrap(
        tmp_path, archive, "validate", "--reference", str(archive), "--candidate", str(archive)
    )


def test_inputs_are_required_when_nothing_declares_them(artifacts: Path) -> None:
    done = migrate(
        "validate",
        "--reference",
        str(artifacts / "conv.pt"),
        "--candidate",
        str(artifacts / "conv.ptl"),
        "--no-tflite",
    )
    assert done.returncode == 2
    assert (
        done.stderr.strip()
        .splitlines()[-1]
        .startswith("migrate: error: no artifact declares its input shapes")
    )


def test_mismatched_inputs_are_rows_with_reasons(artifacts: Path, tmp_path: Path) -> None:
    inputs = tmp_path / "wrong-shape.npz"
    np.savez(inputs, x=np.zeros((2, 1, 3, 8, 8), dtype=np.float32))
    done = validate_conv(
        artifacts / "conv.pte", "--inputs", str(inputs), "--runs", "2", report=tmp_path / "r.json"
    )
    assert done.returncode == 1
    report = json.loads((tmp_path / "r.json").read_text())
    pte = next(r for r in report["runtimes"] if r["kind"] == "executorch")
    assert pte["error"] and "did not run" in report["reasons"][0]


@pytest.mark.parametrize(
    ("candidate", "passed", "nan"),
    [
        (np.array([[1.0, 2.0, 3.0, 4.0, 5.0]]), True, 0),
        (np.array([[1.0, 2.0, 3.0, 4.0, np.nan]]), False, 1),
        (np.array([[5.0, 2.0, 3.0, 4.0, 1.0]]), False, 0),
    ],
)
def test_compare_outputs(candidate: np.ndarray, passed: bool, nan: int) -> None:
    reference = np.array([[1.0, 2.0, 3.0, 4.0, 5.0]])
    comparison = compare_outputs("c", [[reference]], [[candidate]], atol=1e-6, rtol=0)
    (output,) = comparison.outputs
    assert output.passed is passed and output.nan_count == nan
    if not nan and not passed:
        assert output.top1_agreement == 0.0 and output.top5_agreement == 1.0 and output.max_abs_error == 4.0


NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize(
    ("reference", "candidate", "mismatches"),
    [
        ([1.0, 2.0, 3.0, 4.0], [1.0, INF, 3.0, 4.0], 1),  # +Inf where the reference is finite
        ([1.0, 2.0, 3.0, 4.0], [-INF, 2.0, 3.0, -INF], 2),
        ([1.0, NAN, 3.0, 4.0], [NAN, 2.0, 3.0, 4.0], 2),  # as many NaN, in another place
        ([1.0, INF, 3.0, 4.0], [1.0, -INF, 3.0, 4.0], 1),  # the other sign
        ([1.0, INF, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0], 1),  # finite where the reference is not
        ([1.0, INF, NAN, -INF], [1.0, INF, NAN, -INF], 0),  # the same non-finite values pass
    ],
)
def test_non_finite_values_must_match_position_by_position(
    reference: list[float], candidate: list[float], mismatches: int
) -> None:
    comparison = compare_outputs("c", [[np.array(reference)]], [[np.array(candidate)]], atol=1e-6, rtol=0)
    (output,) = comparison.outputs
    assert output.nonfinite_mismatches == mismatches
    assert output.passed is (mismatches == 0) and comparison.passed is (mismatches == 0)


def test_a_non_finite_mismatch_is_the_reason_with_its_count() -> None:
    from migrate.reports.validation import render_console, render_markdown
    from migrate.validate.pipeline import ValidateOptions, _difference
    from validators.model import RuntimeResult

    comparison = compare_outputs(
        "ExecuTorch .pte", [[np.ones((1, 8))]], [[np.array([[1, INF, 1, NAN, 1, 1, -INF, 1.0]])]], 1e-4, 0
    )
    reason = _difference(comparison, "eager", ValidateOptions())
    assert difference(reason) == "NaN or Inf at 3 position(s) where the reference holds another value"
    assert (reason.nonfinite, reason.max_abs_error) == (3, None)
    report = ValidationReport(
        reference="eager",
        runtimes=(
            RuntimeResult("eager", "eager", "m:f"),
            RuntimeResult("ExecuTorch .pte", "executorch", "m.pte"),
        ),
        comparisons=(comparison,),
        passed=False,
        reasons=(reason,),
    )
    row = next(line for line in render_console(report).splitlines() if line.startswith("ExecuTorch"))
    assert row.endswith("3 NaN/Inf differ")
    assert "0.00e+00 and 3 NaN/Inf differ" in render_markdown(report)
    assert ValidationReport.from_dict(report.to_dict()).comparisons[0].outputs[0].nonfinite_mismatches == 3


def test_compare_reports_shape_mismatch() -> None:
    comparison = compare_outputs("c", [[np.zeros((1, 5))]], [[np.zeros((1, 4))]], 1e-6, 0)
    assert not comparison.passed and "shaped (1, 4)" in (comparison.error or "")


def test_constrained_profile_pins_one_core(artifacts: Path, tmp_path: Path) -> None:
    done = validate_conv(
        artifacts / "conv.pte", "--runs", "3", "--profile", "constrained", report=tmp_path / "c.json"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((tmp_path / "c.json").read_text())
    assert report["environment"]["profile"].startswith("constrained")
    assert all(r["error"] is None for r in report["runtimes"])
    assert os.cpu_count()


LEGACY_PYTHON = Path(__file__).resolve().parent.parent / ".venv-legacy" / "bin" / "python"

MOBILE = """
import sys, torch
from torch.utils.mobile_optimizer import optimize_for_mobile
sys.path.insert(0, ".")
from tiny_models import make_conv, conv_inputs
optimize_for_mobile(torch.jit.trace(make_conv(), conv_inputs()))._save_for_lite_interpreter(sys.argv[1])
"""


@pytest.fixture(scope="session")
def mobile_ptl(artifacts: Path) -> Path:
    """A real optimize_for_mobile .ptl, made by torch 2.12.1 in the legacy environment."""
    assert LEGACY_PYTHON.exists(), "run `make legacy-env` (make test builds it)"
    path = artifacts / "conv_mobile.ptl"
    subprocess.run(
        [str(LEGACY_PYTHON), "-c", MOBILE, str(path)],
        cwd=MODELS,
        check=True,
        capture_output=True,
        timeout=600,
    )
    return path


def test_an_optimize_for_mobile_ptl_needs_the_legacy_interpreter(
    mobile_ptl: Path, artifacts: Path, tmp_path: Path
) -> None:
    common = [
        "validate",
        "--model",
        "tiny_models:make_conv",
        "--reference",
        str(mobile_ptl),
        "--candidate",
        str(artifacts / "conv.pte"),
        "--no-tflite",
        "--runs",
        "3",
    ]
    without = migrate(*common, "--report-json", str(tmp_path / "without.json"))
    lite = next(
        r for r in json.loads((tmp_path / "without.json").read_text())["runtimes"] if r["kind"] == "lite"
    )
    assert (
        "prepacked:: XNNPACK ops from optimize_for_mobile" in lite["error"]
        and "--legacy-python" in lite["error"]
    )
    assert without.returncode == 0  # the .pte passes; the shipped artifact is reported as needing attention
    with_legacy = migrate(
        *common, "--legacy-python", str(LEGACY_PYTHON), "--report-json", str(tmp_path / "with.json")
    )
    assert with_legacy.returncode == 0, with_legacy.stdout + with_legacy.stderr
    report = json.loads((tmp_path / "with.json").read_text())
    lite = next(r for r in report["runtimes"] if r["kind"] == "lite")
    assert lite["error"] is None and lite["latency"] is not None
    comparison = next(c for c in report["comparisons"] if c["label"] == lite["label"])
    assert comparison["passed"] and comparison["outputs"][0]["max_abs_error"] < 1e-4


def test_export_explains_an_optimize_for_mobile_archive(mobile_ptl: Path, tmp_path: Path) -> None:
    done = migrate("export", str(mobile_ptl), "--input-shape", "x=1x3x16x16", "-o", str(tmp_path / "m.pte"))
    assert done.returncode == 2
    assert (
        "prepacked:: XNNPACK ops from optimize_for_mobile" in done.stderr
        and not (tmp_path / "m.pte").exists()
    )


def test_a_chosen_method_of_a_multi_method_program(artifacts: Path, tmp_path: Path) -> None:
    program = artifacts / "streaming.pte"
    done = migrate(*EXPORT_STREAMING_STEP, "-o", str(program))
    assert done.returncode == 0, done.stderr
    done = migrate(
        "validate",
        "--model",
        "tiny_models:make_streaming",
        "--candidate",
        str(program),
        "--method",
        "step",
        "--runs",
        "3",
        "--report-json",
        str(tmp_path / "step.json"),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((tmp_path / "step.json").read_text())
    assert [r["kind"] for r in report["runtimes"]] == ["eager", "executorch"]  # no TFLite: one signature
    assert len(report["comparisons"][0]["outputs"]) == 2  # logits and the new state


def test_per_output_tolerance(artifacts: Path, tmp_path: Path) -> None:
    done = validate_conv(
        artifacts / "wrong.pte",
        *("--runs", "2", "--atol", "1e-4", "--atol", "output_0=100"),
        report=tmp_path / "t.json",
    )
    assert done.returncode == 0, done.stdout
    assert json.loads((tmp_path / "t.json").read_text())["tolerances"] == {
        "atol": 1e-4,
        "rtol": 0.0,
        "atol[output_0]": 100.0,
    }


NHWC = """
import sys, litert_torch
sys.path.insert(0, ".")
from tiny_models import make_conv, conv_inputs
(image,) = conv_inputs()
model = litert_torch.to_channel_last_io(make_conv(), args=[0])
litert_torch.convert(model, (image.permute(0, 2, 3, 1),)).export(sys.argv[1])
"""


def test_an_nhwc_tflite_baseline_through_a_declared_adapter(artifacts: Path, tmp_path: Path) -> None:
    baseline = tmp_path / "nhwc.tflite"
    subprocess.run(
        [sys.executable, "-c", NHWC, str(baseline)], cwd=MODELS, check=True, capture_output=True, timeout=600
    )
    common = [
        "validate",
        "--model",
        "tiny_models:make_conv",
        "--candidate",
        str(artifacts / "conv.pte"),
        "--tflite",
        str(baseline),
        "--runs",
        "2",
    ]
    declared = migrate(*common, "--tflite-layout", "nhwc", "--report-json", str(tmp_path / "nhwc.json"))
    assert declared.returncode == 0, declared.stdout + declared.stderr
    tflite = next(
        c for c in json.loads((tmp_path / "nhwc.json").read_text())["comparisons"] if c["label"] == "TFLite"
    )
    assert tflite["passed"]
    undeclared = migrate(*common, "--report-json", str(tmp_path / "nchw.json"))
    row = next(
        r for r in json.loads((tmp_path / "nchw.json").read_text())["runtimes"] if r["kind"] == "tflite"
    )
    assert row["error"] is not None  # never a silent reshape: NCHW data does not fit an NHWC input
    assert undeclared.returncode == 0  # the baseline is not a candidate


def test_what_is_not_the_verdict_is_a_note(artifacts: Path, tmp_path: Path) -> None:
    """No TFLite baseline (the converter cannot take torch.cond) and a shipped artifact that
    disagrees with the source are told, but only the candidate decides the verdict."""
    pte = tmp_path / "branchy.pte"
    done = migrate(
        "export", "tiny_models:make_branchy", "--inputs", "tiny_models:conv_inputs", "-o", str(pte)
    )
    assert done.returncode == 0, done.stderr
    done = migrate(
        "validate",
        "--model",
        "tiny_models:make_branchy",
        "--reference",
        str(artifacts / "conv.pt"),
        "--candidate",
        str(pte),
        "--artifacts",
        str(tmp_path),
        "--runs",
        "5",
        *report_options(tmp_path),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report = read_report(tmp_path)
    assert report.passed and not report.reasons
    tflite = next(r for r in report.runtimes if r.kind == "tflite")
    assert tflite.error is not None and tflite.error.startswith("the converter failed")
    assert any(describe(n).startswith("no TFLite baseline: the converter failed") for n in report.notes)
    assert any(describe(n).startswith("TorchScript .pt outputs differ from eager") for n in report.notes)
    assert {type(n) for n in report.notes} == {NoBaseline, OutputsDiffer}
    differs = next(n for n in report.notes if isinstance(n, OutputsDiffer))
    assert (differs.runtime, differs.reference) == ("TorchScript .pt", "eager")
    markdown = (tmp_path / "report.md").read_text()
    assert "✅ **PASS**" in markdown and "### Notes (not the verdict)" in markdown
    assert "| differs (note) |" in markdown


def test_a_factory_without_example_inputs_gets_its_baseline_from_the_pte(tmp_path: Path) -> None:
    """A module with no example_inputs() (a real project's model file): the TFLite baseline is
    converted with the shapes the candidate .pte declares, and all three runtimes report."""
    (tmp_path / "noexamples.py").write_text(
        "import torch\n\n"
        "def make_model():\n"
        "    torch.manual_seed(0)\n"
        "    return torch.nn.Sequential(torch.nn.Linear(6, 4), torch.nn.ReLU()).eval()\n"
    )
    exported = migrate(
        "export", "noexamples:make_model", "--input-shape", "x=2x6", "-o", "m.pte", cwd=tmp_path
    )
    assert exported.returncode == 0, exported.stderr
    done = migrate(
        "validate", "--model", "noexamples:make_model", "--candidate", "m.pte", "--runs", "5",
        "--artifacts", str(tmp_path), "--report-json", "r.json", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    runtimes = {r["kind"]: r for r in json.loads((tmp_path / "r.json").read_text())["runtimes"]}
    assert runtimes["tflite"]["error"] is None and runtimes["tflite"]["latency"]["p50"] > 0
    assert list(tmp_path.glob("noexamples.make_model-*.tflite"))


def test_the_timed_call_runs_the_model_on_its_inputs(validated: tuple, artifacts: Path) -> None:
    """What latency times (Runner.call) computes what run() returns, for the .pte and the
    TFLite baseline: the inputs it set are the ones given, and the outputs are left in place."""
    from validators.runners.executorch import ExecuTorchRunner
    from validators.runners.tflite import TFLiteRunner

    x = np.random.default_rng(3).standard_normal((1, 3, 16, 16)).astype(np.float32)
    pte = ExecuTorchRunner()
    pte.load(str(artifacts / "conv.pte"), threads=1)
    expected = pte.run([x])[0]
    pte.run([np.zeros_like(x)])  # other inputs in between: call() must set its own
    given = x.copy()
    alive = weakref.ref(given)
    timed = pte.call([given])
    del given
    gc.collect()
    assert alive() is not None  # the method reads its inputs in place: the runner keeps them
    timed()
    timed()  # timed again and again: each call sets its inputs
    np.testing.assert_array_equal(pte.method._method.get_outputs()[0].numpy(), expected)

    (baseline,) = artifacts.glob("tiny_models.make_conv-*.tflite")
    lite = TFLiteRunner()
    lite.load(str(baseline), threads=1)
    expected = lite.run([x])[0]
    lite.run([np.zeros_like(x)])
    lite.call([x])()
    np.testing.assert_array_equal(lite.interpreter.get_tensor(lite.outputs[0]["index"]), expected)


def test_profile_ops_names_where_each_runtime_spends_its_time(artifacts: Path, tmp_path: Path) -> None:
    """--profile-ops on a real .pte (ETDump, XNNPACK's own operator events included) and a real
    .tflite (LiteRT's Python API lists its operators but gives no times): in JSON, and in the
    Markdown under the table."""
    done = migrate(
        "validate",
        "--model",
        "tiny_models:make_conv",
        "--candidate",
        str(artifacts / "conv.pte"),
        "--artifacts",
        str(artifacts),
        "--runs",
        "5",
        "--profile-ops",
        *report_options(tmp_path),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report = read_report(tmp_path)
    profiles = {p.kind: p for p in report.profiles}
    assert set(profiles) == {"executorch", "tflite"}
    pte = profiles["executorch"]
    assert pte.error is None and pte.total_ms is not None and pte.total_ms > 0
    assert 0 < len(pte.operators) <= 10
    assert any(op.name.startswith("XNNPACK Convolution") and op.calls >= 1 for op in pte.operators)
    assert all(op.ms is not None and op.share is not None for op in pte.operators)
    assert sum(op.share or 0 for op in pte.operators) <= 1.05
    tflite = profiles["tflite"]
    assert tflite.error is None and tflite.note is not None and "no per-operator times" in tflite.note
    assert any(op.name == "CONV_2D" and op.calls >= 1 and op.ms is None for op in tflite.operators)
    markdown = (tmp_path / "report.md").read_text()
    assert (
        markdown.index("### Results")
        < markdown.index("### Where the time goes")
        < markdown.index("Numerics per output")
    )
