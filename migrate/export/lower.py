"""Lowering to ExecuTorch (XNNPACK or portable), and with ``--optimize`` several lowerings
measured against eager to keep the fastest that stays accurate."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from migrate.export.edge_copies import drop_data_free_copies
from migrate.export.inputs import Source
from migrate.export.options import ExportOptions
from migrate.export.recurrent import lower_recurrent
from validators.internals import tree_leaves


@dataclass(frozen=True)
class Lowering:
    """One way to lower: a backend, and whether recurrent layers get our step-by-step lowering."""

    backend: str
    recurrent: bool = True

    @property
    def label(self) -> str:
        if self.backend == "portable":
            return "portable"
        return "xnnpack" if self.recurrent else "xnnpack (ExecuTorch's own recurrent lowering)"


def lowering_candidates(options: ExportOptions) -> list[Lowering]:
    """The ways to lower: the one asked for, and with ``--optimize`` the others worth measuring."""
    first = Lowering(options.backend)
    if not options.optimize or options.backend != "xnnpack":
        return [first]
    others = [Lowering("xnnpack", recurrent=False)]
    if options.quantize == "none":  # portable kernels cannot run the quantize / dequantize ops
        others.append(Lowering("portable"))
    return [first, *others]


def lower(programs: dict[str, Any], how: Lowering, etrecord: bool) -> tuple[Any, Any, list[str]]:
    """(edge program manager, executorch program, notes) for one way of lowering."""
    from executorch.exir import to_edge_transform_and_lower

    notes: list[str] = []
    partitioner = []
    if how.backend == "xnnpack":
        from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner

        partitioner = [XnnpackPartitioner()]
        if how.recurrent:
            programs = dict(programs)
            for name in programs:
                programs[name], added = lower_recurrent(programs[name])
                notes.extend(n for n in added if n not in notes)
    passes = [drop_data_free_copies] if how.backend == "xnnpack" else None
    edge = to_edge_transform_and_lower(
        programs, transform_passes=passes, partitioner=partitioner, generate_etrecord=etrecord
    )
    return edge, edge.to_executorch(), notes


def fastest(
    lowered: Mapping[Lowering, tuple[Any, Any, list[str]]], source: Source
) -> tuple[Lowering, dict[str, Any]]:
    """Time every lowering's `forward` in the harness, check its outputs against eager, and pick
    the fastest whose error is within twice the first's (or 1e-4 of the outputs' scale); the
    first (default) lowering stays unless another is at least 5 % faster."""
    import tempfile

    import numpy as np
    import torch

    from validators.harness import HarnessOptions, Target, measure

    module, args = source.methods["forward"]
    with torch.no_grad():
        expected = [np.asarray(t.detach()) for t in tree_leaves(module(*args)) if isinstance(t, torch.Tensor)]
    sample = [np.asarray(a.detach()) for a in tree_leaves(args) if isinstance(a, torch.Tensor)]
    with tempfile.TemporaryDirectory(prefix="migrate-optimize-") as scratch:
        targets = []
        for index, (how, (_, program, _)) in enumerate(lowered.items()):
            path = Path(scratch) / f"candidate_{index}.pte"
            path.write_bytes(program.buffer)
            targets.append(Target(how.label, "executorch", str(path)))
        measured = measure(targets, [sample], HarnessOptions(threads=1, runs=20, rounds=3))
    scale = max((float(np.abs(e).max()) for e in expected if e.size), default=1.0) or 1.0
    tried = []
    for how, result in zip(lowered, measured.results, strict=True):
        outputs = measured.outputs.get(how.label, [[]])[0] if result.error is None else []
        error = None
        if outputs and len(outputs) == len(expected):
            error = max(
                float(np.abs(np.asarray(o, np.float64) - e).max())
                for o, e in zip(outputs, expected, strict=True)
            )
        p50 = None if result.latency is None else round(result.latency.p50 * 1000, 4)
        tried.append(_Tried(how.label, p50, error, result.error))
    bound = max(1e-4 * scale, 2 * (tried[0].max_abs_error or 0.0))
    usable = [
        (t.p50_ms, i)
        for i, t in enumerate(tried)
        if t.p50_ms is not None and t.max_abs_error is not None and t.max_abs_error <= bound
    ]
    index = min(usable)[1] if usable else 0
    first = tried[0].p50_ms
    if first is not None and 0 in (i for _, i in usable) and (tried[index].p50_ms or first) > 0.95 * first:
        index = 0  # within 5 % of the default is measurement noise on a shared machine: keep it
    tried[index] = replace(tried[index], chosen=True)
    return list(lowered)[index], {
        "measured": "forward, 1 thread, p50 of 60 runs",
        "error_bound": bound,
        "candidates": [asdict(t) for t in tried],
    }


@dataclass(frozen=True)
class _Tried:
    lowering: str
    p50_ms: float | None
    max_abs_error: float | None
    error: str | None
    chosen: bool = False
