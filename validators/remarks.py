"""Why a validation failed, and what a reviewer should know besides: one kind per case, with
the values it is about. Renderers decide from the kind and the fields (which row a remark is
about, whether a row's difference is only a note), and ``describe`` is the one place a remark
becomes a sentence: the console, the Markdown and the JSON's ``reasons`` / ``notes`` strings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, ClassVar


@dataclass(frozen=True)
class DidNotRun:
    """A runtime that did not load or run. The reference's is a reason of its own: nothing
    could be compared."""

    kind: ClassVar[str] = "did_not_run"
    runtime: str
    error: str
    reference: bool = False


@dataclass(frozen=True)
class OutputsDiffer:
    """A runtime's outputs against the reference's: the comparison could not be made
    (``error``), NaN / Inf sit elsewhere (``nonfinite`` positions), or an output is off by more
    than the tolerance (``max_abs_error``, the worst over every output)."""

    kind: ClassVar[str] = "outputs_differ"
    runtime: str
    reference: str
    error: str | None = None
    nonfinite: int = 0
    max_abs_error: float | None = None
    atol: float = 0.0
    rtol: float = 0.0


@dataclass(frozen=True)
class NoLatencyBaseline:
    """``--max-latency-ratio`` with no latency to hold it against (``baseline``: reference or tflite)."""

    kind: ClassVar[str] = "no_latency_baseline"
    baseline: str


@dataclass(frozen=True)
class OverLatencyBudget:
    kind: ClassVar[str] = "over_latency_budget"
    runtime: str
    baseline: str  # the row its p50 is held against
    ratio: float
    budget: float


@dataclass(frozen=True)
class OverMemoryBudget:
    kind: ClassVar[str] = "over_memory_budget"
    runtime: str
    peak_memory_bytes: int
    budget_mb: float


@dataclass(frozen=True)
class NoBaseline:
    """The TFLite baseline could not be converted; ``runtime`` is the row that stands for it."""

    kind: ClassVar[str] = "no_baseline"
    runtime: str
    problem: str


@dataclass(frozen=True)
class NoNativeRunner:
    """A native ``target`` where no artifact has a runner (only .pte and .tflite do)."""

    kind: ClassVar[str] = "no_native_runner"
    target: str


@dataclass(frozen=True)
class NotOnTarget:
    """A runtime that could not be set up on a native ``target`` (its runner did not build)."""

    kind: ClassVar[str] = "not_on_target"
    runtime: str
    target: str
    error: str


@dataclass(frozen=True)
class Text:
    """A sentence with no kind: what a report written before remarks had kinds holds."""

    kind: ClassVar[str] = "text"
    text: str


Remark = (
    DidNotRun
    | OutputsDiffer
    | NoLatencyBaseline
    | OverLatencyBudget
    | OverMemoryBudget
    | NoBaseline
    | NoNativeRunner
    | NotOnTarget
    | Text
)
KINDS: dict[str, type[Remark]] = {
    cls.kind: cls
    for cls in (
        DidNotRun,
        OutputsDiffer,
        NoLatencyBaseline,
        OverLatencyBudget,
        OverMemoryBudget,
        NoBaseline,
        NoNativeRunner,
        NotOnTarget,
        Text,
    )
}


def describe(remark: Remark) -> str:
    """The remark as one sentence of plain text."""
    match remark:
        case DidNotRun(runtime, error, reference=True):
            return f"the reference ({runtime}) did not run: {error}"
        case DidNotRun(runtime, error):
            return f"{runtime} did not run: {error}"
        case OutputsDiffer():
            return f"{remark.runtime} outputs differ from {remark.reference}: {difference(remark)}"
        case NoLatencyBaseline(baseline):
            return f"no {baseline} latency to hold --max-latency-ratio against"
        case OverLatencyBudget(runtime, baseline, ratio, budget):
            return f"{runtime} p50 is {ratio:.2f}x {baseline}'s, over the {budget:g}x budget"
        case OverMemoryBudget(runtime, peak, budget_mb):
            return f"{runtime} peak memory {peak / 2**20:.1f} MiB is over the {budget_mb:g} MiB budget"
        case NoBaseline(_, problem):
            return f"no TFLite baseline: {problem}"
        case NoNativeRunner(target):
            return f"nothing ran on {target}: only .pte and .tflite files have native runners"
        case NotOnTarget(runtime, target, error):
            return f"{runtime} on {target}: {error}"
        case Text(text):
            return text
    raise TypeError(f"not a validation remark: {remark!r}")


def difference(remark: OutputsDiffer) -> str:
    """How the outputs differ, without whose."""
    if remark.error is not None:
        return remark.error
    parts = []
    if remark.nonfinite:
        parts.append(f"NaN or Inf at {remark.nonfinite} position(s) where the reference holds another value")
    if remark.max_abs_error is not None:
        parts.append(
            f"max abs error {remark.max_abs_error:.3g} > atol {remark.atol:g} + rtol {remark.rtol:g} x scale"
        )
    return "; ".join(parts)


def about(remark: Remark) -> str | None:
    """The runtime row the remark is about, if it is about one."""
    match remark:
        case (
            DidNotRun()
            | OutputsDiffer()
            | OverLatencyBudget()
            | OverMemoryBudget()
            | NoBaseline()
            | NotOnTarget()
        ):
            return remark.runtime
    return None


def remark_to_dict(remark: Remark) -> dict[str, Any]:
    return {"kind": remark.kind, **asdict(remark)}


def remark_from_dict(data: Mapping[str, Any]) -> Remark:
    fields = dict(data)
    kind = fields.pop("kind", None)
    if kind not in KINDS:
        raise ValueError(f"unknown kind of validation remark {kind!r}")
    return KINDS[kind](**fields)
