"""Seeded random inputs, drawn one way for the whole tool.

`migrate export --input-shape` and `migrate validate` without ``--inputs`` both draw here, so the
example a program is exported with is the first sample it is validated on.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

SEED = 0


def seeded_samples(
    specs: Sequence[tuple[Sequence[int], str]], count: int, seed: int = SEED
) -> list[list[np.ndarray]]:
    """``count`` samples, each one array per ``(shape, dtype)`` in ``specs``, from one generator."""
    generator = np.random.default_rng(seed)
    return [[random_array(shape, dtype, generator) for shape, dtype in specs] for _ in range(count)]


def random_array(shape: Sequence[int], dtype: str, generator: np.random.Generator) -> np.ndarray:
    """Floats from N(0, 1), booleans 0 / 1, integers 0..9. ``bfloat16``, which numpy has no dtype
    for, comes as float32 for the caller to cast."""
    if dtype == "bfloat16":
        return generator.standard_normal(tuple(shape)).astype(np.float32)
    kind = np.dtype(dtype)
    if kind.kind == "f":
        return generator.standard_normal(tuple(shape)).astype(kind)
    if kind.kind == "b":
        return generator.integers(0, 2, tuple(shape)).astype(bool)
    return generator.integers(0, 10, tuple(shape)).astype(kind)
