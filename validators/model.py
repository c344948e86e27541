"""Results of a validation as frozen dataclasses that round-trip through JSON."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from validators.profile import OperatorProfile
from validators.remarks import Remark, Text, describe, remark_from_dict, remark_to_dict

REPORT_VERSION = 1


@dataclass(frozen=True)
class TensorSpec:
    name: str
    shape: tuple[int, ...]
    dtype: str  # numpy dtype name

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "shape": list(self.shape), "dtype": self.dtype}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TensorSpec:
        return cls(data["name"], tuple(data["shape"]), data["dtype"])


@dataclass(frozen=True)
class Latency:
    """Seconds per inference over ``runs`` timed runs."""

    p50: float
    p90: float
    min: float
    mean: float
    runs: int

    @classmethod
    def of(cls, samples: Sequence[float]) -> Latency:
        ordered = sorted(samples)

        def quantile(q: float) -> float:
            position = q * (len(ordered) - 1)
            low = int(position)
            high = min(low + 1, len(ordered) - 1)
            return ordered[low] + (ordered[high] - ordered[low]) * (position - low)

        return cls(quantile(0.5), quantile(0.9), ordered[0], sum(ordered) / len(ordered), len(ordered))

    def to_dict(self) -> dict[str, Any]:
        return {"p50": self.p50, "p90": self.p90, "min": self.min, "mean": self.mean, "runs": self.runs}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Latency:
        return cls(data["p50"], data["p90"], data["min"], data["mean"], data["runs"])


@dataclass(frozen=True)
class RuntimeResult:
    """One artifact in one runtime: how it loaded, ran and used memory, or why it could not."""

    label: str
    kind: str
    artifact: str
    size_bytes: int | None = None
    load_seconds: float | None = None
    first_run_seconds: float | None = None
    latency: Latency | None = None
    peak_memory_bytes: int | None = None  # VmHWM of the worker minus a worker that only imported the runtime
    planned_arena_bytes: int | None = None
    error: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    target: str = "host"  # where it ran: host (Python bindings), native (C++ runner), arm64:CPU (emulated)

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "target": self.target,
            "kind": self.kind,
            "artifact": self.artifact,
            "size_bytes": self.size_bytes,
            "load_seconds": self.load_seconds,
            "first_run_seconds": self.first_run_seconds,
            "latency": None if self.latency is None else self.latency.to_dict(),
            "peak_memory_bytes": self.peak_memory_bytes,
            "planned_arena_bytes": self.planned_arena_bytes,
            "error": self.error,
            "details": dict(self.details),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RuntimeResult:
        latency = data.get("latency")
        return cls(
            data["label"],
            data["kind"],
            data["artifact"],
            data.get("size_bytes"),
            data.get("load_seconds"),
            data.get("first_run_seconds"),
            None if latency is None else Latency.from_dict(latency),
            data.get("peak_memory_bytes"),
            data.get("planned_arena_bytes"),
            data.get("error"),
            dict(data.get("details", {})),
            data.get("target", "host"),
        )


@dataclass(frozen=True)
class OutputComparison:
    """One output of a candidate against the reference, over every input sample."""

    name: str
    max_abs_error: float
    mean_abs_error: float
    max_rel_error: float  # max_abs_error / max |reference|
    cosine: float
    top1_agreement: float | None = None
    top5_agreement: float | None = None
    nan_count: int = 0  # NaN in the candidate where the reference has none
    nonfinite_mismatches: int = 0  # positions where NaN / +Inf / -Inf differ from the reference's
    passed: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OutputComparison:
        return cls(**data)


@dataclass(frozen=True)
class Comparison:
    label: str
    outputs: tuple[OutputComparison, ...] = ()
    error: str | None = None

    @property
    def passed(self) -> bool:
        return self.error is None and all(o.passed for o in self.outputs)

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "outputs": [o.to_dict() for o in self.outputs],
            "error": self.error,
            "passed": self.passed,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Comparison:
        return cls(
            data["label"], tuple(OutputComparison.from_dict(o) for o in data["outputs"]), data.get("error")
        )


@dataclass(frozen=True)
class ValidationReport:
    reference: str
    runtimes: tuple[RuntimeResult, ...]
    comparisons: tuple[Comparison, ...]
    passed: bool
    reasons: tuple[Remark, ...] = ()  # why it failed
    inputs: str = ""
    tolerances: Mapping[str, float] = field(default_factory=dict)
    budgets: Mapping[str, float] = field(default_factory=dict)
    environment: Mapping[str, Any] = field(default_factory=dict)
    command: str = ""
    # what a reviewer should know that does not fail the verdict: the legacy artifact or the
    # baseline disagreeing with the reference, a baseline that could not be built
    notes: tuple[Remark, ...] = ()
    profiles: tuple[OperatorProfile, ...] = ()  # --profile-ops: where each runtime's time goes

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": REPORT_VERSION,
            "reference": self.reference,
            "passed": self.passed,
            "reasons": [describe(r) for r in self.reasons],
            "notes": [describe(n) for n in self.notes],
            "structured_reasons": [remark_to_dict(r) for r in self.reasons],
            "structured_notes": [remark_to_dict(n) for n in self.notes],
            "runtimes": [r.to_dict() for r in self.runtimes],
            "comparisons": [c.to_dict() for c in self.comparisons],
            "inputs": self.inputs,
            "tolerances": dict(self.tolerances),
            "budgets": dict(self.budgets),
            "environment": dict(self.environment),
            "command": self.command,
            "profiles": [p.to_dict() for p in self.profiles],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ValidationReport:
        if data.get("version") != REPORT_VERSION:
            raise ValueError(f"unsupported validation report version {data.get('version')!r}")
        return cls(
            data["reference"],
            tuple(RuntimeResult.from_dict(r) for r in data["runtimes"]),
            tuple(Comparison.from_dict(c) for c in data["comparisons"]),
            data["passed"],
            _remarks(data, "reasons"),
            data.get("inputs", ""),
            dict(data.get("tolerances", {})),
            dict(data.get("budgets", {})),
            dict(data.get("environment", {})),
            data.get("command", ""),
            _remarks(data, "notes"),
            tuple(OperatorProfile.from_dict(p) for p in data.get("profiles", ())),
        )

    def runtime(self, label: str) -> RuntimeResult | None:
        return next((r for r in self.runtimes if r.label == label), None)


def _remarks(data: Mapping[str, Any], key: str) -> tuple[Remark, ...]:
    """The remarks with their kinds, or the sentences of a report written before they had
    kinds (which are only text then)."""
    texts = data.get(key, ())
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            shown = repr(text) if len(repr(text)) <= 40 else repr(text)[:37] + "..."
            raise ValueError(f"{key}[{index}]: expected str, got {type(text).__name__} {shown}")
    structured = data.get(f"structured_{key}")
    if structured is None:
        return tuple(Text(text) for text in texts)
    return tuple(remark_from_dict(item) for item in structured)
