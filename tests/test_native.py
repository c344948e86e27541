"""`migrate validate --target`: the C++ runners, built for real (host and arm64), on real `.pte`s.

Builds and sample exports are cached by content hash (``.migrate_cache``), so a second session
only runs them. The arm64 rows run under qemu-aarch64, as `make demo` shows them.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from migrate import api
from migrate.errors import UsageError
from migrate.validate import ValidateOptions, validate
from tests.conftest import (
    FIXTURES,
    NEEDS_EXPORT,
    export_tiny_convs,
    load_script,
    run_migrate,
    validate_conv_args,
)
from validators.harness import HarnessOptions
from validators.native.build import ARM64_CPUS, NativeBuild, Platform, build, missing_tools

pytest.importorskip("torch", reason=NEEDS_EXPORT)
pytest.importorskip("executorch", reason=NEEDS_EXPORT)

ROOT = Path(__file__).resolve().parent.parent
demo = load_script("demo")
MODELS = FIXTURES / "export_models"
CACHE = ROOT / ".migrate_cache"
os.environ.setdefault("MIGRATE_NATIVE_CACHE", str(CACHE / "native"))  # one cache, whatever the cwd
QUICK = HarnessOptions(warmup=1, runs=2, rounds=1, timeout=300)
NATIVE_TARGETS = ("native", "arm64:cortex-a53", "arm64:cortex-a76")
# The runners run the same program on the same kernels' contracts; what differs is the kernels
# (AVX vs NEON, other accumulation orders): float outputs agreed to ~3e-8 here, int8 ones to
# ~1e-6. The bound is the repository's default tolerance.
ATOL = 1e-4


def migrate(*args: str, cwd: Path = MODELS) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "migrate", *args], cwd=cwd, capture_output=True, text=True, timeout=1800
    )


@pytest.fixture(scope="session")
def builds() -> dict[str, NativeBuild]:
    problems = {arch: missing_tools(arch) for arch in ("host", "arm64")}
    assert not any(problems.values()), f"install {problems} (`make native-tools` does it as root)"
    return {arch: build(arch) for arch in ("host", "arm64")}


@pytest.fixture(scope="session")
def conv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny conv net as a .pte, and the same network with other weights."""
    return export_tiny_convs(tmp_path_factory.mktemp("native"))


@pytest.fixture(scope="session")
def sample_ptes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path | None]]:
    """Every model sample migrated (`apply --unsafe-fixes`) and exported as `make demo` does it,
    sharing the demo's content-hash cache; with the inputs the demo validates it on, if any."""
    out = tmp_path_factory.mktemp("samples")
    found = {}
    for name, recipe in demo.RECIPES.items():
        if not recipe.legacy_script:
            continue  # app code, no model
        work = out / name / "project"
        shutil.copytree(ROOT / "samples" / name, work, ignore=shutil.ignore_patterns("__pycache__"))
        api.write_changes(api.apply([work], unsafe=True), allow_dirty=True)
        data = demo._sample_data(out / name, recipe)
        args = [*recipe.export]
        if "int8-static" in recipe.export:
            args += ["--calibration", str(data["calibration"].resolve())]
        pte = out / name / f"{name}.pte"
        cwd = Path.cwd()
        try:
            os.chdir(ROOT)  # the demo's cache is relative to the repository
            problem = demo._export(work, pte, args, CACHE / "demo")
        finally:
            os.chdir(cwd)
        assert problem is None, f"{name}: {problem}"
        found[name] = (pte, data.get("inputs"))
    return found


def test_both_runners_build_for_both_targets_and_a_second_build_is_the_cached_one(
    builds: dict[str, NativeBuild],
) -> None:
    for arch, built in builds.items():
        assert sorted(built.runners) == ["executorch", "tflite"], built.problems
        assert all(path.is_file() and os.access(path, os.X_OK) for path in built.runners.values())
        assert build(arch).directory == built.directory
        # built in a private folder and renamed into place: nothing half-built is left beside it
        assert not list(built.directory.parent.glob(f".{arch}-*"))
    machine = {
        arch: subprocess.run(
            ["file", "-L", str(b.runners["executorch"])], capture_output=True, text=True
        ).stdout
        for arch, b in builds.items()
    }
    assert "x86-64" in machine["host"] and "aarch64" in machine["arm64"]


def test_a_half_built_folder_is_never_reused(builds: dict[str, NativeBuild]) -> None:
    """A build folder without its record (a build killed by hand, a copy cut short) is rebuilt."""
    folder = builds["host"].directory
    (folder / "build.json").unlink()
    (folder / "pte_runner").write_bytes(b"")
    rebuilt = build("host")
    assert rebuilt.directory == folder and (folder / "build.json").is_file()
    assert (folder / "pte_runner").stat().st_size > 0


@pytest.mark.parametrize(
    "sample", ["image_classifier", "speech_commands", "text_encoder", "legacy_quantized"]
)
def test_every_sample_pte_gives_the_python_runtimes_outputs_on_native_and_arm64(
    sample: str, sample_ptes: dict[str, tuple[Path, Path | None]], builds: dict[str, NativeBuild]
) -> None:
    pte, inputs = sample_ptes[sample]
    report = validate(
        ValidateOptions(
            reference=str(pte),  # the .pte in the Python runtime on the host
            candidates=(str(pte),),
            no_tflite=True,
            inputs=inputs,
            samples=2,
            atol=ATOL,
            targets=NATIVE_TARGETS,
            harness=QUICK,
        )
    )
    rows = {r.target: r for r in report.runtimes if r.target != "host"}
    assert sorted(rows) == sorted(NATIVE_TARGETS)
    assert all(r.error is None for r in rows.values()), [r.error for r in rows.values()]
    assert report.passed, report.reasons
    compared = {c.label for c in report.comparisons}
    assert {r.label for r in rows.values()} <= compared
    assert rows["native"].latency is not None and rows["native"].peak_memory_bytes is not None
    for cpu in ("cortex-a53", "cortex-a76"):  # emulated: numerics only
        assert rows[f"arm64:{cpu}"].latency is None and rows[f"arm64:{cpu}"].peak_memory_bytes is None


def test_a_pte_with_other_weights_fails_on_arm64(
    conv: Path, builds: dict[str, NativeBuild], tmp_path: Path
) -> None:
    report_json = tmp_path / "report.json"
    done = migrate(
        *validate_conv_args(
            conv / "wrong.pte", "--target", "arm64", "--runs", "2", "--report-json", str(report_json)
        )
    )
    assert done.returncode == 1, done.stderr
    report = json.loads(report_json.read_text())
    assert [(r["label"], r["target"]) for r in report["runtimes"]] == [
        ("eager [host]", "host"),
        ("ExecuTorch .pte [arm64:cortex-a76]", "arm64:cortex-a76"),
    ]
    assert not report["passed"]
    assert report["reasons"][0].startswith(
        "ExecuTorch .pte [arm64:cortex-a76] outputs differ from eager [host]"
    )
    # the right weights pass on the same target
    done = migrate(
        "validate", "--model", "tiny_models:make_conv", "--candidate", str(conv / "conv.pte"),
        "--no-tflite", "--target", "arm64", "--target", "native", "--runs", "2",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_pte_that_crashes_the_native_runtime_is_a_row_with_the_signal(
    conv: Path, builds: dict[str, NativeBuild], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The program's root table points its vtable 2 GB away: ExecuTorch's loader (minimal
    verification, as apps run it) reads there and dies by SIGSEGV."""
    data = bytearray((conv / "conv.pte").read_bytes())
    root = struct.unpack_from("<I", data, 0)[0]
    struct.pack_into("<i", data, root, -0x7FF00000)
    bad = tmp_path / "bad.pte"
    bad.write_bytes(bytes(data))
    monkeypatch.chdir(MODELS)
    report = validate(
        ValidateOptions(
            model="tiny_models:make_conv",
            candidates=(str(bad),),
            no_tflite=True,
            inputs=_conv_inputs(tmp_path),
            targets=("native", "arm64:cortex-a53"),
            harness=QUICK,
        )
    )
    rows = {r.target: r for r in report.runtimes}
    assert rows["host"].error is None  # the eager reference ran
    for target in ("native", "arm64:cortex-a53"):
        error = rows[target].error or ""
        assert "killed by signal 11" in error, error
    assert not report.passed and len(report.reasons) == 2


def test_a_runner_that_does_not_answer_in_time_is_a_row_with_the_timeout(
    conv: Path, builds: dict[str, NativeBuild], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(MODELS)
    report = validate(
        ValidateOptions(
            model="tiny_models:make_conv",
            candidates=(str(conv / "conv.pte"),),
            no_tflite=True,
            inputs=_conv_inputs(tmp_path),
            targets=("arm64:cortex-a53",),
            harness=HarnessOptions(warmup=0, runs=1, rounds=1, timeout=0.001),
        )
    )
    row = next(r for r in report.runtimes if r.target == "arm64:cortex-a53")
    assert row.error is not None and row.error.startswith("timed out after"), row.error


def test_target_names(tmp_path: Path) -> None:
    assert Platform.parse("arm64") == Platform("arm64:cortex-a76", "arm64", "cortex-a76")
    assert Platform.parse("arm64:cortex-a53").cpu == "cortex-a53"
    done = migrate(
        "validate", "--model", "tiny_models:make_conv", "--candidate", "x.pte", "--target", "arm64:m1"
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"migrate: error: --target arm64:m1: unknown arm64 CPU 'm1'; known: {', '.join(ARM64_CPUS)}"
    ]
    with pytest.raises(UsageError, match="expected host, native or arm64"):
        validate(ValidateOptions(model="tiny_models:make_conv", candidates=("x.pte",), targets=("phone",)))


def test_a_missing_toolchain_is_one_line_naming_it(conv: Path) -> None:
    """With PATH holding only the Python interpreter, cmake and the cross compiler are missing."""
    bare = Path(sys.executable).parent
    env = {**os.environ, "PATH": str(bare)}
    done = run_migrate(
        *validate_conv_args(conv / "conv.pte", "--target", "arm64:cortex-a53"), cwd=MODELS, env=env
    )
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if not line.startswith("migrate: ") or "error" in line]
    assert len(lines) == 1 and "cmake, g++-aarch64-linux-gnu, qemu-user" in lines[0], done.stderr


def _conv_inputs(tmp_path: Path) -> Path:
    path = tmp_path / "inputs.npz"
    np.savez(path, x=np.random.default_rng(0).standard_normal((2, 1, 3, 16, 16)).astype(np.float32))
    return path


def test_no_registry_for_the_aarch64_download_is_one_line(conv: Path, tmp_path: Path) -> None:
    """A fresh cache and a package index that refuses connections: exit 2, one line, nothing
    half-downloaded left in the cache."""
    cache = tmp_path / "cache"
    env = {
        **os.environ,
        "MIGRATE_NATIVE_CACHE": str(cache),
        "PIP_INDEX_URL": "http://127.0.0.1:9/simple",
        "PIP_RETRIES": "0",
        "PIP_TIMEOUT": "2",
    }
    env.pop("PIP_EXTRA_INDEX_URL", None)
    env.pop("PIP_FIND_LINKS", None)
    done = run_migrate(*validate_conv_args(conv / "conv.pte", "--target", "arm64"), cwd=MODELS, env=env)
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if line.startswith("migrate: error:")]
    assert len(errors) == 1, done.stderr
    assert "could not download the aarch64 wheel of executorch==" in errors[0]
    assert [p.name for p in (cache / "wheels").iterdir()] == []


def test_a_latency_budget_holds_each_target_against_the_baseline_on_the_same_target(
    conv: Path, builds: dict[str, NativeBuild], tmp_path: Path
) -> None:
    report_json = tmp_path / "report.json"
    done = migrate(
        "validate", "--model", "tiny_models:make_conv", "--candidate", str(conv / "conv.pte"),
        "--target", "host", "--target", "native", "--runs", "3", "--latency-baseline", "tflite",
        "--max-latency-ratio", "0.0001", "--artifacts", str(tmp_path), "--report-json", str(report_json),
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    reasons = sorted(json.loads(report_json.read_text())["reasons"])  # candidates come in no set order
    assert [r.split(" p50 is ")[0] for r in reasons] == ["ExecuTorch .pte [host]", "ExecuTorch .pte [native]"]
    assert "x TFLite [host]'s" in reasons[0] and "x TFLite [native]'s" in reasons[1], reasons


def test_the_report_groups_rows_and_numerics_by_target_and_says_why_emulated_rows_have_no_latency() -> None:
    from migrate.reports.validation import EMULATED, render_console, render_markdown
    from validators.model import Comparison, Latency, OutputComparison, RuntimeResult, ValidationReport

    latency = Latency(0.001, 0.002, 0.001, 0.001, 3)
    rows = [
        RuntimeResult("eager [host]", "eager", "m:f", latency=latency, target="host"),
        RuntimeResult("ExecuTorch .pte [host]", "executorch", "m.pte", latency=latency, target="host"),
        RuntimeResult("ExecuTorch .pte [native]", "executorch", "m.pte", latency=latency, target="native"),
        RuntimeResult("ExecuTorch .pte [arm64:cortex-a53]", "executorch", "m.pte", target="arm64:cortex-a53"),
    ]
    output = OutputComparison("output_0", 1e-7, 1e-8, 1e-6, 1.0)
    report = ValidationReport(
        "eager [host]", tuple(rows), tuple(Comparison(r.label, (output,)) for r in rows[1:]), True
    )
    assert ValidationReport.from_dict(json.loads(json.dumps(report.to_dict()))) == report
    assert [r["target"] for r in report.to_dict()["runtimes"]] == [
        "host",
        "host",
        "native",
        "arm64:cortex-a53",
    ]
    markdown = render_markdown(report)
    headings = [line for line in markdown.splitlines() if line.startswith("#### ")]
    emulated = "#### arm64:cortex\\-a53 (emulated by qemu\\-aarch64: numerics only; emulated time and memory say nothing about a phone)"
    assert headings == ["#### host", "#### native", emulated] * 2  # results, then numerics per output
    assert render_console(report).splitlines()[-1] == f"arm64:cortex-a53: {EMULATED}"


def test_a_tflite_declaring_int32_ids_takes_the_int64_ids_the_harness_gives(tmp_path: Path) -> None:
    """litert-torch converts int64 token ids to int32 inputs; the native runner converts what it
    is given as the Python runner does (the demo's text encoder had no native TFLite row)."""
    folder = FIXTURES / "token_models"
    pte, report = tmp_path / "bag.pte", tmp_path / "report.json"
    exported = migrate("export", "token_bag:make_bag", "-o", str(pte), cwd=folder)
    assert exported.returncode == 0, exported.stderr
    done = migrate(
        "validate", "--model", "token_bag:make_bag", "--candidate", str(pte), "--target", "native",
        "--runs", "2", "--artifacts", str(tmp_path), "--report-json", str(report), cwd=folder,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    rows = {(r["kind"], r["target"]): r for r in json.loads(report.read_text())["runtimes"]}
    native_tflite = rows[("tflite", "native")]
    assert native_tflite.get("error") is None and native_tflite["latency"] is not None


def test_profile_ops_on_native_gives_litert_per_operator_times(tmp_path: Path) -> None:
    """--profile-ops on --target native: the .tflite's profile comes from LiteRT's C API profiler
    in the native runner (times per operator kind, XNNPACK's convolution among them), where the
    Python API gives only the list of operators; the operators of the host row stay a list."""
    folder = FIXTURES / "profile_models"
    pte, report_json, report_md = tmp_path / "wide.pte", tmp_path / "report.json", tmp_path / "report.md"
    exported = migrate("export", "wide_conv:make_model", "-o", str(pte), cwd=folder)
    assert exported.returncode == 0, exported.stderr
    done = migrate(
        "validate", "--model", "wide_conv:make_model", "--candidate", str(pte), "--target", "host",
        "--target", "native", "--runs", "5", "--profile-ops", "--artifacts", str(tmp_path),
        "--report-json", str(report_json), "--report-md", str(report_md), cwd=folder,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    profiles = {p["label"]: p for p in json.loads(report_json.read_text())["profiles"]}
    native, host = profiles["TFLite [native]"], profiles["TFLite [host]"]
    assert native["error"] is None and native["runs"] == 5, native
    assert native["total_ms"] is not None and native["total_ms"] > 0
    assert "no per-operator times" not in (native["note"] or "")
    operators = native["operators"]
    assert 0 < len(operators) <= 10
    assert all(op["ms"] is not None and op["share"] is not None for op in operators)
    conv = [op for op in operators if op["name"].startswith("XNNPACK Convolution")]
    assert len(conv) == 1 and conv[0]["calls"] == 1 and conv[0]["ms"] > 0 and conv[0]["share"] > 0
    assert [op["ms"] for op in operators] == sorted((op["ms"] for op in operators), reverse=True)
    assert sum(op["share"] for op in operators) <= 1.05
    assert native["delegated_nodes"] >= 1
    # the host row (the Python Interpreter): operators by count, no times, and says why
    assert "no per-operator times" in host["note"] and "--target native" in host["note"]
    assert any(op["name"] == "CONV_2D" and op["ms"] is None for op in host["operators"])
    markdown = report_md.read_text()
    assert "**TFLite \\[native\\]**, one run" in markdown and "XNNPACK Convolution" in markdown
