"""What a `.pte` holds, read from the program itself: methods, tensors, delegation, memory.

`migrate export` writes it beside the `.pte` as ``<name>.manifest.json``; `migrate inspect`
reads the same facts back from any `.pte` (without the export-time extras: input names,
delegated node counts, timings).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from migrate.errors import UsageError, require
from validators.runners.executorch import SCALAR_TYPES

MANIFEST_VERSION = 1


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: tuple[int, ...]
    dtype: str
    dynamic: tuple[tuple[int, int, int], ...] = ()  # (dim, min, max)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "shape": list(self.shape),
            "dtype": self.dtype,
            "dynamic": {str(d): [low, high] for d, low, high in self.dynamic},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TensorInfo:
        dynamic = tuple((int(d), int(r[0]), int(r[1])) for d, r in data.get("dynamic", {}).items())
        return cls(data["name"], tuple(data["shape"]), data["dtype"], dynamic)


@dataclass(frozen=True)
class Delegation:
    subgraphs: int
    delegated_nodes: int | None = None  # from the graph at export time; None when read from a .pte
    non_delegated_nodes: int | None = None
    non_delegated_ops: tuple[tuple[str, int], ...] = ()  # op name, calls outside any delegate

    def to_dict(self) -> dict[str, Any]:
        return {
            "delegated_subgraphs": self.subgraphs,
            "delegated_nodes": self.delegated_nodes,
            "non_delegated_nodes": self.non_delegated_nodes,
            "non_delegated_ops": dict(self.non_delegated_ops),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Delegation:
        return cls(
            data["delegated_subgraphs"],
            data.get("delegated_nodes"),
            data.get("non_delegated_nodes"),
            tuple(sorted(data.get("non_delegated_ops", {}).items())),
        )


@dataclass(frozen=True)
class MethodInfo:
    name: str
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    planned_arena_bytes: int
    delegation: Delegation
    backends: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "inputs": [t.to_dict() for t in self.inputs],
            "outputs": [t.to_dict() for t in self.outputs],
            "planned_arena_bytes": self.planned_arena_bytes,
            "backends": list(self.backends),
            "delegation": self.delegation.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MethodInfo:
        return cls(
            data["name"],
            tuple(TensorInfo.from_dict(t) for t in data["inputs"]),
            tuple(TensorInfo.from_dict(t) for t in data["outputs"]),
            data["planned_arena_bytes"],
            Delegation.from_dict(data["delegation"]),
            tuple(data.get("backends", ())),
        )


@dataclass(frozen=True)
class Manifest:
    source: str
    output: str
    file_size: int
    methods: tuple[MethodInfo, ...]
    export_seconds: float | None = None
    lowering_seconds: float | None = None
    versions: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    # `migrate export --optimize`: each lowering tried, its p50 and error against eager, the choice
    optimize: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": MANIFEST_VERSION,
            "source": self.source,
            "output": self.output,
            "file_size": self.file_size,
            "methods": [m.to_dict() for m in self.methods],
            "export_seconds": self.export_seconds,
            "lowering_seconds": self.lowering_seconds,
            "versions": dict(self.versions),
            "options": dict(self.options),
            "notes": list(self.notes),
            "optimize": dict(self.optimize),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Manifest:
        if data.get("version") != MANIFEST_VERSION:
            raise ValueError(f"unsupported manifest version {data.get('version')!r}")
        return cls(
            data["source"],
            data["output"],
            data["file_size"],
            tuple(MethodInfo.from_dict(m) for m in data["methods"]),
            data.get("export_seconds"),
            data.get("lowering_seconds"),
            dict(data.get("versions", {})),
            dict(data.get("options", {})),
            tuple(data.get("notes", ())),
            dict(data.get("optimize", {})),
        )


def describe_program(
    program: Any, input_names: Mapping[str, Sequence[str]] | None = None
) -> tuple[MethodInfo, ...]:
    """Per method of an ExecuTorch ``Program`` (the flatbuffer schema object): its tensors,
    delegate calls, kernels run outside delegates, and the planned memory arena."""
    methods = []
    for plan in program.execution_plan:
        names = list((input_names or {}).get(plan.name, ()))
        inputs = tuple(
            _tensor(plan, index, names[i] if i < len(names) else f"input_{i}")
            for i, index in enumerate(plan.inputs)
        )
        outputs = tuple(_tensor(plan, index, f"output_{i}") for i, index in enumerate(plan.outputs))
        calls: dict[str, int] = {}
        delegate_calls = 0
        for chain in plan.chains:
            for instruction in chain.instructions:
                kind = type(instruction.instr_args).__name__
                if kind == "DelegateCall":
                    delegate_calls += 1
                elif kind == "KernelCall":
                    operator = plan.operators[instruction.instr_args.op_index]
                    calls[operator.name] = calls.get(operator.name, 0) + 1
        sizes = list(plan.non_const_buffer_sizes)
        methods.append(
            MethodInfo(
                name=plan.name,
                inputs=inputs,
                outputs=outputs,
                planned_arena_bytes=sum(sizes[1:]),  # index 0 is reserved
                delegation=Delegation(
                    subgraphs=delegate_calls, non_delegated_ops=tuple(sorted(calls.items()))
                ),
                backends=tuple(sorted({d.id for d in plan.delegates})),
            )
        )
    return tuple(methods)


def _tensor(plan: Any, index: int, name: str) -> TensorInfo:
    value = plan.values[index].val
    if type(value).__name__ != "Tensor":
        return TensorInfo(name, (), type(value).__name__.lower())
    return TensorInfo(
        name,
        tuple(int(s) for s in value.sizes),
        SCALAR_TYPES.get(int(value.scalar_type), str(value.scalar_type)),
    )


def inspect_pte(path: Path) -> Manifest:
    """The facts of any ``.pte``, read from the file alone (the runtime does not load it)."""
    require("executorch", "export")
    from migrate.artifacts import read_regular

    data = read_regular(path)  # a FIFO or /dev/zero is refused, not read forever
    from migrate.quiet import quiet_torch
    from validators.internals import pte_deserializer

    with quiet_torch():
        deserialize_pte_binary = pte_deserializer()  # outside the try: a missing one is no bad file
    try:
        with quiet_torch():
            program = deserialize_pte_binary(data).program
            methods = describe_program(program)
    except Exception as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UsageError(f"{path}: not a readable ExecuTorch program ({detail[:160]})") from None
    manifest = path.with_name(path.stem + ".manifest.json")
    names: dict[str, list[str]] = {}
    if manifest.is_file():  # the export's own manifest knows the input names
        try:
            saved = Manifest.from_dict(json.loads(manifest.read_text()))
            names = {m.name: [t.name for t in m.inputs] for m in saved.methods}
        except (ValueError, KeyError, TypeError):
            names = {}
    if names:
        methods = describe_program(program, names)
    return Manifest(source=str(path), output=path.name, file_size=len(data), methods=methods)
