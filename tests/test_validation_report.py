"""Validation renderers against reviewed golden files: reports built by hand with fixed numbers
(no model runs), rendered to the console, JSON and the pull-request Markdown.

Regenerate with ``pytest tests/test_validation_report.py --update-golden`` and review the diff.
"""

from __future__ import annotations

import pytest

from migrate.reports.validation import render_console, render_json, render_markdown
from validators.model import (
    Comparison,
    Latency,
    OutputComparison,
    RuntimeResult,
    ValidationReport,
)
from validators.profile import OperatorProfile, OperatorTime
from validators.remarks import (
    KINDS,
    DidNotRun,
    NoBaseline,
    NoLatencyBaseline,
    NoNativeRunner,
    NotOnTarget,
    OutputsDiffer,
    OverLatencyBudget,
    OverMemoryBudget,
    Text,
    describe,
    remark_from_dict,
    remark_to_dict,
)

ENVIRONMENT = {
    "cpu": "Test CPU @ 2.00GHz",
    "cores": 2,
    "threads": 1,
    "profile": "default",
    "python": "3.12.0",
    "versions": {"torch": "2.13.0", "executorch": "1.5.1"},
    "legacy_python": None,
    "targets": ["host"],
}


def latency(ms: float) -> Latency:
    return Latency(ms / 1000, ms * 1.2 / 1000, ms * 0.9 / 1000, ms * 1.05 / 1000, 30)


def output(
    name: str = "output_0", max_abs: float = 2e-6, passed: bool = True, **more: float
) -> OutputComparison:
    return OutputComparison(name, max_abs, max_abs / 10, max_abs / 2, 0.999999, passed=passed, **more)  # type: ignore[arg-type]


# A failed validation on the host: every kind of reason and note the verdict can hold.
FAILED = ValidationReport(
    reference="eager",
    runtimes=(
        RuntimeResult("eager", "eager", "models:make", None, 0.01, 0.02, latency(8.62), 50 * 2**20),
        RuntimeResult(
            "TorchScript .pt", "torchscript", "/m/model.pt", 3 * 2**20, 0.05, 0.01, latency(4.1), 40 * 2**20
        ),
        RuntimeResult(
            "PyTorch Mobile .ptl",
            "lite",
            "/m/model.ptl",
            2 * 2**20,
            error="the runtime crashed (killed by signal 11)",
        ),
        RuntimeResult(
            "ExecuTorch model.pte",
            "executorch",
            "/m/model.pte",
            900 * 1024,
            0.002,
            0.003,
            latency(1.76),
            12 * 2**20,
            6 * 2**20,
            details={
                "delegate_calls": 2,
                "backends": ["XnnpackBackend"],
                "kernels_outside_delegates": {"aten::_softmax.out": 1},
            },
        ),
        RuntimeResult(
            "ExecuTorch broken.pte",
            "executorch",
            "/m/broken.pte",
            100,
            error="load failed: <InvalidProgram> (error 0x23)",
        ),
        RuntimeResult("ExecuTorch other.pte", "executorch", "/m/other.pte", 800, 0.001, 0.001, latency(1.5)),
        RuntimeResult("TFLite", "tflite", "models:make", error="the converter failed: RuntimeError: boom"),
    ),
    comparisons=(
        Comparison("TorchScript .pt", (output(max_abs=0.25, passed=False),)),
        Comparison(
            "ExecuTorch model.pte",
            (
                output("output_0", 0.5, passed=False, top1_agreement=0.5, top5_agreement=1.0),
                output("output_1", 0.0, passed=False, nonfinite_mismatches=3, nan_count=2),
            ),
        ),
        Comparison("ExecuTorch other.pte", error="1 outputs, the reference has 2"),
    ),
    passed=False,
    reasons=(
        DidNotRun("ExecuTorch broken.pte", "load failed: <InvalidProgram> (error 0x23)"),
        OutputsDiffer("ExecuTorch model.pte", "eager", nonfinite=3, max_abs_error=0.5, atol=1e-4),
        OutputsDiffer("ExecuTorch other.pte", "eager", error="1 outputs, the reference has 2", atol=1e-4),
        OverLatencyBudget("ExecuTorch model.pte", "TFLite", 1.76 / 1.71, 1.0),
        OverMemoryBudget("ExecuTorch model.pte", 12 * 2**20, 10.0),
    ),
    inputs="3 seeded random samples (float32[1, 3, 32, 32])",
    tolerances={"atol": 1e-4, "rtol": 0.0, "atol[output_1]": 1e-2},
    budgets={"max_latency_ratio": 1.0, "max_memory_mb": 10.0},
    environment=ENVIRONMENT,
    command="migrate validate --model models:make --candidate `model.pte` --candidate broken.pte",
    notes=(
        NoBaseline("TFLite", "the converter failed: RuntimeError: boom"),
        OutputsDiffer("TorchScript .pt", "eager", max_abs_error=0.25, atol=1e-4),
    ),
)

# The reference itself did not run, and there was no latency to hold the budget against.
NO_REFERENCE = ValidationReport(
    reference="TorchScript .pt",
    runtimes=(
        RuntimeResult("TorchScript .pt", "torchscript", "/m/model.pt", 1000, error="not loaded: no bwrap"),
        RuntimeResult("ExecuTorch .pte", "executorch", "/m/model.pte", 900, 0.001, 0.002, latency(2.0)),
    ),
    comparisons=(),
    passed=False,
    reasons=(
        DidNotRun("TorchScript .pt", "not loaded: no bwrap", reference=True),
        NoLatencyBaseline("reference"),
    ),
    inputs="2 samples from inputs.npz",
    tolerances={"atol": 1e-4, "rtol": 1e-3},
    budgets={"max_latency_ratio": 2.0},
    environment={**ENVIRONMENT, "threads": 4},
)

# A pass on three targets (host, native, an emulated arm64), with what could not run on one of
# them, a comparison that could not be made, and operator profiles.
TARGETS = ValidationReport(
    reference="eager [host]",
    runtimes=(
        RuntimeResult("eager [host]", "eager", "models:make", None, 0.01, 0.02, latency(3.0), 30 * 2**20),
        RuntimeResult(
            "ExecuTorch .pte [host]", "executorch", "/m/model.pte", 5000, 0.001, 0.001, latency(1.0), 2**20
        ),
        RuntimeResult("TFLite [host]", "tflite", "/m/model.tflite", 6000, 0.001, 0.001, latency(0.9), 2**20),
        RuntimeResult(
            "ExecuTorch .pte [native]",
            "executorch",
            "/m/model.pte",
            5000,
            0.0005,
            0.0007,
            latency(0.8),
            512 * 1024,
            target="native",
        ),
        RuntimeResult(
            "ExecuTorch .pte [arm64:cortex-a76]",
            "executorch",
            "/m/model.pte",
            5000,
            target="arm64:cortex-a76",
        ),
    ),
    comparisons=(
        Comparison("ExecuTorch .pte [host]", (output(), output("output_1", 1e-7))),
        Comparison("TFLite [host]", (output(max_abs=3e-5),)),
        Comparison("ExecuTorch .pte [native]", (output(),)),
        Comparison("ExecuTorch .pte [arm64:cortex-a76]", (output(max_abs=4e-6), output("output_1", 1e-7))),
    ),
    passed=True,
    inputs="3 seeded random samples (float32[1, 8])",
    tolerances={"atol": 1e-4, "rtol": 0.0},
    environment={**ENVIRONMENT, "targets": ["host", "native", "arm64:cortex-a76"]},
    command="migrate validate --model models:make --candidate model.pte --target host,native,arm64",
    notes=(
        NotOnTarget("TFLite [host]", "arm64:cortex-a76", "no LiteRT runner for arm64 (the build failed)"),
        NoNativeRunner("native"),
    ),
    profiles=(
        OperatorProfile(
            "ExecuTorch .pte [host]",
            "executorch",
            20,
            0.95,
            (OperatorTime("XNNPACK Convolution", 2, 0.5, 0.53), OperatorTime("aten::add", 1, None, None)),
            note="delegated operators are timed by their delegate",
        ),
        OperatorProfile("TFLite [host]", "tflite", error="the profiler is not available"),
    ),
)

REPORTS = {"failed": FAILED, "no-reference": NO_REFERENCE, "targets": TARGETS}


@pytest.mark.parametrize("name", REPORTS)
def test_golden_validation_markdown(name: str, golden) -> None:  # type: ignore[no-untyped-def]
    golden(f"validation-{name}.markdown", render_markdown(REPORTS[name]))


@pytest.mark.parametrize("name", REPORTS)
def test_golden_validation_console(name: str, golden) -> None:  # type: ignore[no-untyped-def]
    golden(f"validation-{name}.console", render_console(REPORTS[name]))


@pytest.mark.parametrize("name", REPORTS)
def test_golden_validation_json(name: str, golden) -> None:  # type: ignore[no-untyped-def]
    golden(f"validation-{name}.json", render_json(REPORTS[name]))


@pytest.mark.parametrize("name", REPORTS)
def test_a_report_reads_back_from_its_json(name: str) -> None:
    report = REPORTS[name]
    assert ValidationReport.from_dict(report.to_dict()) == report


def test_a_row_that_did_not_run_is_listed_unless_a_remark_is_about_it() -> None:
    """Another runtime's error that names the shipped artifact does not explain why that
    artifact did not run (the wording used to decide it)."""
    report = ValidationReport(
        reference="eager",
        runtimes=(
            RuntimeResult("eager", "eager", "m:f"),
            RuntimeResult("TorchScript .pt", "torchscript", "/m/model.pt", error="the runtime crashed"),
            RuntimeResult(
                "ExecuTorch .pte", "executorch", "/m/model.pte", error="not a TorchScript .pt file"
            ),
        ),
        comparisons=(),
        passed=False,
        reasons=(DidNotRun("ExecuTorch .pte", "not a TorchScript .pt file"),),
    )
    attention = render_markdown(report).split("### Needs attention")[1].split("###")[0]
    assert "TorchScript .pt did not run: the runtime crashed" in attention
    assert attention.count("ExecuTorch .pte did not run") == 1


def test_a_report_written_before_remarks_had_kinds_reads_as_its_sentences() -> None:
    data = FAILED.to_dict()
    del data["structured_reasons"], data["structured_notes"]
    old = ValidationReport.from_dict(data)
    assert all(isinstance(r, Text) for r in (*old.reasons, *old.notes))
    assert [describe(r) for r in old.reasons] == data["reasons"]
    assert render_console(old) == render_console(FAILED)


def test_every_kind_reads_back_from_its_json() -> None:
    remarks = (*FAILED.reasons, *FAILED.notes, *NO_REFERENCE.reasons, *TARGETS.notes, Text("said"))
    assert {type(r) for r in remarks} == set(KINDS.values())
    assert tuple(remark_from_dict(remark_to_dict(r)) for r in remarks) == remarks
