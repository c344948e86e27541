"""`migrate validate`: the legacy artifact, the new `.pte` and a TFLite baseline, side by side.

Builds the list of runtimes, the inputs, and the TFLite baseline when one is to be converted;
``validators.harness`` runs and measures; ``validators.compare`` judges numerics; this module
decides the verdict and returns a ``ValidationReport``.
"""

from __future__ import annotations

import os
import platform
import shlex
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from migrate.artifacts import check_regular, load_arrays
from migrate.errors import MissingExtraError, UsageError, first_line, require
from migrate.output import write_bytes_atomic
from migrate.sandboxed import ARCHIVES, require_sandbox
from migrate.validate.baseline import BaselineProblem
from migrate.validate.targets import expand as expand_targets
from migrate.validate.targets import parse as parse_targets
from validators.compare import compare_outputs
from validators.harness import HarnessOptions, Target, load_specs, measure
from validators.inputs import seeded_samples
from validators.model import Comparison, RuntimeResult, TensorSpec, ValidationReport
from validators.profile import PROFILED_KINDS, OperatorProfile, profile
from validators.remarks import (
    DidNotRun,
    NoBaseline,
    NoLatencyBaseline,
    OutputsDiffer,
    OverLatencyBudget,
    OverMemoryBudget,
    Remark,
)
from validators.runners import kind_for
from validators.versions import installed_version

MAX_SYNTHESISED = 2**30  # bytes of random input per sample
_LABELS = {
    "eager": "eager",
    "torchscript": "TorchScript .pt",
    "lite": "PyTorch Mobile .ptl",
    "executorch": "ExecuTorch .pte",
    "tflite": "TFLite",
}


@dataclass(frozen=True)
class ValidateOptions:
    model: str | None = None
    reference: str | None = None
    candidates: tuple[str, ...] = ()
    tflite: Path | None = None
    tflite_from: Path | None = None
    no_tflite: bool = False
    inputs: Path | None = None
    samples: int = 3
    atol: float = 1e-4
    atol_per_output: Mapping[str, float] = field(default_factory=dict)  # e.g. {"output_1": 1e-2}
    rtol: float = 0.0
    method: str = "forward"  # which entry point of a multi-method program to validate
    tflite_layout: str = "nchw"  # "nhwc": the TFLite baseline takes NHWC (a declared adapter)
    max_latency_ratio: float | None = None
    latency_baseline: str = "reference"  # or "tflite"
    max_memory_mb: float | None = None
    legacy_python: str | None = None
    artifacts: Path | None = None  # where a converted TFLite baseline is written
    targets: tuple[str, ...] = ("host",)  # host, native, arm64[:CPU] (migrate/validate/targets.py)
    profile_ops: bool = False  # the most expensive operators of each runtime that can tell
    harness: HarnessOptions = field(default_factory=HarnessOptions)


def validate(
    options: ValidateOptions, progress: Callable[[str], None] = lambda message: None
) -> ValidationReport:
    if options.reference is None and options.model is None:
        raise UsageError("give --reference (the artifact the app ships today) or --model pkg.module:factory")
    if not options.candidates:
        raise UsageError("give at least one --candidate (the new .pte)")
    archives = [
        a for a in (options.reference, *options.candidates) if a and Path(a).suffix.lower() in ARCHIVES
    ]
    if archives and options.harness.sandbox:
        require_sandbox(archives[0])
    platforms = parse_targets(options.targets)
    host_targets, baseline_problem = _targets(options, progress)
    targets, target_notes = expand_targets(host_targets, platforms, progress)
    reference_label = targets[0].label
    candidates = _candidate_labels(options, targets)
    progress("reading input specs")
    samples, described = _inputs(options, host_targets)
    progress(f"running {len(targets)} runtimes, each in its own process")
    measured = measure(targets, samples, options.harness)
    results = [_with_details(r) for r in measured.results]
    by_label = {r.label: r for r in results}
    comparisons = []
    reasons: list[Remark] = []
    notes: list[Remark] = list(target_notes)
    if baseline_problem is not None:
        results.append(RuntimeResult("TFLite", "tflite", options.model or "", error=baseline_problem))
        notes.append(NoBaseline("TFLite", baseline_problem))
    reference = by_label[reference_label]
    if reference.error is not None:
        reasons.append(DidNotRun(reference.label, reference.error, reference=True))
    for target in targets[1:]:
        result = by_label[target.label]
        if result.error is not None:
            if target.label in candidates:
                reasons.append(DidNotRun(target.label, result.error))
            continue
        if reference.error is None:
            comparison = compare_outputs(
                target.label,
                measured.outputs[reference_label],
                measured.outputs[target.label],
                options.atol,
                options.rtol,
                options.atol_per_output,
            )
            comparisons.append(comparison)
            if not comparison.passed:
                difference = _difference(comparison, reference_label, options)
                if target.label in candidates:
                    reasons.append(difference)
                else:  # the shipped artifact or the baseline: evidence, not the migration's verdict
                    notes.append(difference)
    reasons += _budget_failures(options, targets, by_label)
    profiles: list[OperatorProfile] = []
    if options.profile_ops:
        for target in targets:
            if target.kind in PROFILED_KINDS and by_label[target.label].error is None:
                progress(f"profiling the operators of {target.label}")
                profiles.append(
                    profile(
                        target.label,
                        target.kind,
                        target.artifact,
                        samples[0],
                        options.harness.runs,
                        options.harness.threads,
                        method=options.method,
                        command=target.command if target.timed else (),  # native: LiteRT's C profiler
                        layout=target.layout,
                    )
                )
    return ValidationReport(
        reference=reference_label,
        runtimes=tuple(results),
        comparisons=tuple(comparisons),
        passed=not reasons,
        reasons=tuple(reasons),
        inputs=described,
        tolerances={
            "atol": options.atol,
            "rtol": options.rtol,
            **{f"atol[{name}]": value for name, value in options.atol_per_output.items()},
        },
        budgets={
            k: v
            for k, v in {
                "max_latency_ratio": options.max_latency_ratio,
                "max_memory_mb": options.max_memory_mb,
            }.items()
            if v is not None
        },
        environment=_environment(options),
        command="migrate " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:] else "",
        notes=tuple(notes),
        profiles=tuple(profiles),
    )


def _targets(options: ValidateOptions, progress: Callable[[str], None]) -> tuple[list[Target], str | None]:
    """The reference first (eager when there is a model, else the shipped artifact), then the
    shipped artifact, the candidates, and the TFLite baseline; and why there is no baseline
    when converting one failed."""
    artifacts: list[str] = []
    if options.model is not None:
        artifacts.append(options.model)
    if options.reference is not None:
        artifacts.append(options.reference)
    artifacts += list(options.candidates)
    tflite, baseline_problem = _tflite_baseline(options, progress)
    if tflite is not None:
        artifacts.append(str(tflite))
    targets, seen = [], set()
    kinds = []
    for artifact in artifacts:
        if ":" not in artifact:
            check_regular(Path(artifact))
        try:
            kinds.append(kind_for(artifact))
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    for artifact, kind in zip(artifacts, kinds, strict=True):
        label = _LABELS[kind]
        if kinds.count(kind) > 1 and ":" not in artifact:  # two of a kind: told apart by file name
            runtime = label.rsplit(" ", 1)[0] if label.split()[-1].startswith(".") else label
            label = f"{runtime} {Path(artifact).name}"
        while label in seen:
            label += "'"
        seen.add(label)
        python = (
            options.legacy_python
            if options.legacy_python and kind in {"torchscript", "lite"}
            else sys.executable
        )
        layout = options.tflite_layout if kind == "tflite" else "nchw"
        path = os.path.abspath(artifact) if ":" not in artifact else artifact
        targets.append(Target(label, kind, path, python, options.method, layout))
    return targets, baseline_problem


def _candidate_labels(options: ValidateOptions, targets: Sequence[Target]) -> set[str]:
    paths = {os.path.abspath(c) for c in options.candidates}
    return {t.label for t in targets if t.artifact in paths}


def _tflite_baseline(
    options: ValidateOptions, progress: Callable[[str], None]
) -> tuple[Path | None, str | None]:
    """The baseline's path, or why converting one failed: a baseline is evidence, so a model
    the converter cannot take is a row that did not run, not the end of the validation."""
    if options.no_tflite or options.method != "forward":  # a TFLite baseline has one signature
        return None, None
    if options.tflite is not None:
        return options.tflite, None
    if options.tflite_from is None and options.model is None:
        return None, None
    try:
        if options.tflite_from is not None:
            if not options.tflite_from.is_dir():  # a SavedModel is a folder; a .keras file is read
                check_regular(options.tflite_from)
            return _convert_saved_model(options.tflite_from, options, progress), None
        assert options.model is not None
        return _convert_with_litert(options.model, options, progress), None
    except MissingExtraError as exc:
        problem = str(exc)
    except UsageError:  # the model itself cannot be loaded: that is the user's to fix
        raise
    except BaselineProblem as exc:  # the conversion failed, crashed or hung in its process
        problem = str(exc)
    except Exception as exc:  # the converter's own failure, whatever its type
        problem = f"the converter failed: {type(exc).__name__}: {first_line(exc)}"
    progress(f"TFLite baseline: {problem}; going on without it")
    return None, problem


def _artifacts_dir(options: ValidateOptions) -> Path:
    directory = options.artifacts or Path(".migrate_cache") / "baselines"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _convert_with_litert(
    model: str, options: ValidateOptions, progress: Callable[[str], None]
) -> Path | None:
    """The default baseline, converted in a process of its own (``migrate.validate.baseline``)."""
    require("litert_torch", "tflite")
    from migrate.validate.baseline import convert_with_litert

    progress("converting the source model to TFLite with litert-torch, in its own process")
    path, reused = convert_with_litert(model, options.candidates, _artifacts_dir(options), options.harness)
    if reused:
        progress(f"reused the TFLite baseline {path} (same model source and inputs)")
    return path


def _convert_saved_model(
    saved_model: Path, options: ValidateOptions, progress: Callable[[str], None]
) -> Path:
    require("tensorflow", "tflite")
    from migrate.quiet import quiet_torch

    progress(f"converting {saved_model} with tf.lite.TFLiteConverter")
    with quiet_torch():
        import tensorflow as tf

        if saved_model.suffix in {".keras", ".h5"}:
            converter = tf.lite.TFLiteConverter.from_keras_model(tf.keras.models.load_model(saved_model))
        else:
            converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model))
        path = _artifacts_dir(options) / f"{saved_model.stem}.tflite"
        data = converter.convert()
        write_bytes_atomic(path, data)
    return path


def _inputs(options: ValidateOptions, targets: Sequence[Target]) -> tuple[list[list[np.ndarray]], str]:
    """Input samples: from --inputs (one (samples, *shape) array per input), else seeded random
    data shaped by whichever artifact declares its inputs."""
    if options.inputs is not None:
        arrays = [array for _, array in load_arrays(options.inputs)]
        counts = sorted({a.shape[0] if a.ndim else 0 for a in arrays})
        if not arrays or counts[0] == 0 or len(counts) > 1:
            raise UsageError(
                f"{options.inputs}: expected one (samples, *shape) array per input, all with the same "
                f"number of samples; found {len(arrays)} array(s) with "
                + (", ".join(str(a.shape) for a in arrays) or "no shapes")
            )
        count = counts[0]
        return [[a[i] for a in arrays] for i in range(count)], f"{count} samples from {options.inputs}"
    # Artifacts declare exactly what they take; a factory module's example_inputs() is the
    # fallback, and only describes forward.
    order = ["executorch", "tflite"] + (["eager"] if options.method == "forward" else [])
    ranked = sorted((t for t in targets if t.kind in order), key=lambda t: order.index(t.kind))
    specs = load_specs(ranked, options.harness)
    declared = next((specs[t.label] for t in ranked if specs.get(t.label)), None)
    if declared is None:
        raise UsageError(
            "no artifact declares its input shapes (.pt / .ptl do not): give --inputs file.npz, "
            "or a .pte or --model whose module has example_inputs()"
        )
    shapes = ", ".join(f"{s.dtype}{list(s.shape)}" for s in declared)
    if not _plausible(declared):  # read from the artifact: it can declare anything
        raise UsageError(
            f"the declared inputs ({shapes[:200]}) are not shapes to synthesise samples of "
            f"(negative, unknown or over {MAX_SYNTHESISED >> 20} MiB): give --inputs file.npz"
        )
    samples = seeded_samples([(spec.shape, spec.dtype) for spec in declared], options.samples)
    return samples, f"{options.samples} seeded random samples ({shapes})"


def _plausible(declared: Sequence[TensorSpec]) -> bool:
    try:
        sizes = [int(np.prod(s.shape, dtype=np.float64)) * np.dtype(s.dtype).itemsize for s in declared]
    except (TypeError, ValueError, OverflowError):
        return False
    dims = [d for s in declared for d in s.shape]
    return all(isinstance(d, int) and d >= 0 for d in dims) and sum(sizes) <= MAX_SYNTHESISED


def _with_details(result: RuntimeResult) -> RuntimeResult:
    """For a .pte, the planned arena and delegation read from the program."""
    if result.kind != "executorch" or result.error is not None:
        return result
    try:
        from migrate.manifest import inspect_pte

        manifest = inspect_pte(Path(result.artifact))
    except UsageError:
        return result
    method = manifest.methods[0]
    details = {
        "delegate_calls": method.delegation.subgraphs,
        "backends": list(method.backends),
        "kernels_outside_delegates": dict(method.delegation.non_delegated_ops),
    }
    return replace(result, planned_arena_bytes=method.planned_arena_bytes, details=details)


def _difference(comparison: Comparison, reference: str, options: ValidateOptions) -> OutputsDiffer:
    differ = OutputsDiffer(comparison.label, reference, atol=options.atol, rtol=options.rtol)
    if comparison.error is not None:
        return replace(differ, error=comparison.error)
    nonfinite = sum(o.nonfinite_mismatches for o in comparison.outputs)
    worst = None
    if any(not o.passed and not o.nonfinite_mismatches for o in comparison.outputs) or not nonfinite:
        worst = max((o.max_abs_error for o in comparison.outputs), default=0.0)
    return replace(differ, nonfinite=nonfinite, max_abs_error=worst)


def _budget_failures(
    options: ValidateOptions, targets: Sequence[Target], results: dict[str, RuntimeResult]
) -> list[Remark]:
    failures: list[Remark] = []
    candidates = [results[label] for label in _candidate_labels(options, targets)]
    if options.max_latency_ratio is not None:
        kind = "tflite" if options.latency_baseline == "tflite" else None
        matching = [
            results[t.label]
            for t in targets
            if (t.kind == kind if kind else os.path.abspath(options.reference or "") == t.artifact)
        ]
        baseline = matching[0] if matching else None
        if baseline is None or baseline.latency is None:
            failures.append(NoLatencyBaseline(options.latency_baseline))
        else:
            for result in candidates:
                # held against the baseline on its own target (native .pte vs native .tflite) if it ran there
                baseline = next((b for b in matching if b.target == result.target and b.latency), matching[0])
                assert baseline.latency is not None
                if result.latency is not None:
                    ratio = result.latency.p50 / baseline.latency.p50
                    if ratio > options.max_latency_ratio:
                        failures.append(
                            OverLatencyBudget(result.label, baseline.label, ratio, options.max_latency_ratio)
                        )
    if options.max_memory_mb is not None:
        for result in candidates:
            if (
                result.peak_memory_bytes is not None
                and result.peak_memory_bytes > options.max_memory_mb * 2**20
            ):
                failures.append(
                    OverMemoryBudget(result.label, result.peak_memory_bytes, options.max_memory_mb)
                )
    return failures


def _environment(options: ValidateOptions) -> dict[str, object]:
    packages = ("torch", "executorch", "ai-edge-litert", "litert-torch")
    versions = {package: installed_version(package) for package in packages if installed_version(package)}
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), cpu)
    except OSError:
        pass
    profile = "constrained (1 core, memory cap)" if options.harness.constrained else "default"
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "threads": options.harness.threads,
        "profile": profile,
        "python": platform.python_version(),
        "versions": versions,
        "legacy_python": options.legacy_python,
        "targets": list(options.targets),
    }
