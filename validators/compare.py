"""Numerics of a candidate's outputs against the reference's, kept apart from running them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from validators.model import Comparison, OutputComparison

Samples = Sequence[Sequence[np.ndarray]]  # per input sample, the flattened outputs


def compare_outputs(
    label: str,
    reference: Samples,
    candidate: Samples,
    atol: float,
    rtol: float,
    atol_per_output: Mapping[str, float] | None = None,
) -> Comparison:
    """Per output, over every sample: errors, cosine, and top-k agreement for classifier-shaped
    outputs (2-D, at least 5 classes: top-1 = same argmax, top-5 = the reference's argmax is
    among the candidate's five largest)."""
    if len(reference) != len(candidate):
        return Comparison(label, error=f"{len(candidate)} samples ran, the reference has {len(reference)}")
    if any(len(r) != len(c) for r, c in zip(reference, candidate, strict=True)):
        return Comparison(label, error=f"{len(candidate[0])} outputs, the reference has {len(reference[0])}")
    outputs = []
    for index in range(len(reference[0])):
        ref = [np.asarray(sample[index]) for sample in reference]
        got = [np.asarray(sample[index]) for sample in candidate]
        if any(r.shape != g.shape for r, g in zip(ref, got, strict=True)):
            return Comparison(
                label, error=f"output {index} is shaped {got[0].shape}, the reference {ref[0].shape}"
            )
        name = f"output_{index}"
        outputs.append(_compare(name, ref, got, (atol_per_output or {}).get(name, atol), rtol))
    return Comparison(label, tuple(outputs))


def _compare(
    name: str, ref: list[np.ndarray], got: list[np.ndarray], atol: float, rtol: float
) -> OutputComparison:
    a = np.concatenate([r.astype(np.float64).ravel() for r in ref])
    b = np.concatenate([g.astype(np.float64).ravel() for g in got])
    # NaN and +-Inf must sit where the reference's do, position by position: errors over the
    # positions finite on both sides say nothing about the others
    finite = np.isfinite(a) & np.isfinite(b)
    same = (np.isnan(a) & np.isnan(b)) | (np.isinf(a) & (a == b))
    mismatches = int(np.count_nonzero(~finite & ~same))
    nans = int(np.count_nonzero(np.isnan(b) & ~np.isnan(a)))
    diff = np.abs(a[finite] - b[finite]) if finite.any() else np.zeros(1)
    scale = float(np.abs(a[finite]).max()) if finite.any() else 0.0
    max_abs = float(diff.max()) if diff.size else 0.0
    norm = float(np.linalg.norm(a[finite]) * np.linalg.norm(b[finite])) if finite.any() else 0.0
    cosine = float(np.dot(a[finite], b[finite]) / norm) if norm > 0 else (1.0 if max_abs == 0 else 0.0)
    top1 = top5 = None
    if ref[0].ndim == 2 and ref[0].shape[1] >= 5:
        r_rows = np.concatenate(ref)
        g_rows = np.concatenate(got)
        best = r_rows.argmax(axis=1)
        top1 = float((g_rows.argmax(axis=1) == best).mean())
        five = np.argsort(-g_rows, axis=1)[:, :5]
        top5 = float(np.mean([best[i] in five[i] for i in range(len(best))]))
    passed = mismatches == 0 and max_abs <= atol + rtol * scale
    return OutputComparison(
        name=name,
        max_abs_error=max_abs,
        mean_abs_error=float(diff.mean()) if diff.size else 0.0,
        max_rel_error=max_abs / scale if scale > 0 else max_abs,
        cosine=cosine,
        top1_agreement=top1,
        top5_agreement=top5,
        nan_count=nans,
        nonfinite_mismatches=mismatches,
        passed=passed,
    )
