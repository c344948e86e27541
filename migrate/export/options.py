"""What `migrate export` is asked for: the options, and the `--dynamic` / `--input-shape` specs
parsed from their command-line text."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from migrate.errors import UsageError

_DTYPES = {"float32", "float16", "bfloat16", "float64", "int64", "int32", "int16", "int8", "uint8", "bool"}


class ExportError(UsageError):
    """The model could not be exported; the message says where and what to do."""


@dataclass(frozen=True)
class DynamicDim:
    """``--dynamic x:0=1..64``: input ``x`` (a name or a position), dimension 0, from 1 to 64."""

    input: str
    dim: int
    min: int
    max: int

    @classmethod
    def parse(cls, text: str) -> DynamicDim:
        match = re.fullmatch(r"([\w]+):(\d+)=(\d+)\.\.(\d+)", text.strip())
        if match is None:
            raise UsageError(
                f"--dynamic {text!r}: expected NAME:DIM=MIN..MAX, e.g. x:0=1..64 "
                "(ExecuTorch plans memory for the maximum, so it is required)"
            )
        name, dim, low, high = match.groups()
        if int(low) > int(high) or int(high) < 2:
            raise UsageError(f"--dynamic {text!r}: the range must satisfy MIN <= MAX and MAX >= 2")
        return cls(name, int(dim), int(low), int(high))


@dataclass(frozen=True)
class InputShape:
    """``--input-shape x=1x3x224x224:float32``: a seeded random example input."""

    name: str
    shape: tuple[int, ...]
    dtype: str

    @classmethod
    def parse(cls, text: str) -> InputShape:
        match = re.fullmatch(r"([\w]+)=(\d+(?:x\d+)*)(?::(\w+))?", text.strip())
        if match is None:
            raise UsageError(f"--input-shape {text!r}: expected NAME=1x3x224x224[:float32]")
        name, dims, dtype = match.groups()
        dtype = dtype or "float32"
        if dtype not in _DTYPES:
            raise UsageError(f"--input-shape {text!r}: dtype must be one of {', '.join(sorted(_DTYPES))}")
        return cls(name, tuple(int(d) for d in dims.split("x")), dtype)


@dataclass(frozen=True)
class ExportOptions:
    backend: str = "xnnpack"
    quantize: str = "none"
    dynamic: tuple[DynamicDim, ...] = ()
    methods: tuple[str, ...] = ()
    calibration: Path | None = None
    allow_random_calibration: bool = False
    etrecord: bool = False
    bundle: bool = False
    strict: bool = False
    optimize: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "quantize": self.quantize,
            "dynamic": [f"{d.input}:{d.dim}={d.min}..{d.max}" for d in self.dynamic],
            "methods": list(self.methods),
            "calibration": None if self.calibration is None else str(self.calibration),
            "allow_random_calibration": self.allow_random_calibration,
            "etrecord": self.etrecord,
            "bundle": self.bundle,
            "strict": self.strict,
            "optimize": self.optimize,
        }


def input_index(name: str, names: Sequence[str]) -> int:
    """The position of the input a ``--dynamic`` spec names (by name or by position)."""
    if name.isdigit() and int(name) < len(names):
        return int(name)
    if name in names:
        return names.index(name)
    raise UsageError(f"--dynamic {name!r}: the inputs are {', '.join(names)} (or give a position)")
