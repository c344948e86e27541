"""What export writes beside the `.pte`: the manifest's export-side facts (delegated nodes,
dynamic ranges, versions) and the bundled program (``--bundle``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from migrate.export.inputs import Source
from migrate.export.options import DynamicDim, input_index
from migrate.manifest import TensorInfo
from validators.internals import tree_flatten
from validators.versions import installed_version


def manifest_path(output: Path) -> Path:
    """``<output stem>.manifest.json`` beside the ``.pte``."""
    return output.with_name(output.stem + ".manifest.json")


def with_dynamic_ranges(
    inputs: tuple[TensorInfo, ...], dynamic: Sequence[DynamicDim]
) -> tuple[TensorInfo, ...]:
    """The inputs as the program describes them, with the ``--dynamic`` ranges they were given."""
    names = [t.name for t in inputs]
    ranges: dict[int, list[tuple[int, int, int]]] = {}
    for spec in dynamic:
        ranges.setdefault(input_index(spec.input, names), []).append((spec.dim, spec.min, spec.max))
    return tuple(replace(t, dynamic=tuple(sorted(ranges.get(i, [])))) for i, t in enumerate(inputs))


def delegated_nodes(program: Any) -> tuple[int, int]:
    """Graph nodes inside and outside delegates (the program only knows the calls)."""
    from executorch.devtools.backend_debug import get_delegation_info

    info = get_delegation_info(program.graph_module)
    return info.num_delegated_nodes, info.num_non_delegated_nodes


def bundle(program: Any, source: Source) -> bytes:
    """A bundled program (``.bpte``): the program and, per method, its example and eager's outputs."""
    import torch
    from executorch.devtools import BundledProgram
    from executorch.devtools.bundled_program.config import MethodTestCase, MethodTestSuite
    from executorch.devtools.bundled_program.serialize import serialize_from_bundled_program_to_flatbuffer

    suites = []
    for name, (module, args) in source.methods.items():
        with torch.no_grad():
            expected, _ = tree_flatten(module(*args))
        suites.append(MethodTestSuite(name, [MethodTestCase(inputs=list(args), expected_outputs=expected)]))
    return bytes(serialize_from_bundled_program_to_flatbuffer(BundledProgram(program, suites)))


def versions() -> dict[str, str]:
    """The versions that made the program, for the manifest (an absent package is left out)."""
    found = {package: installed_version(package) for package in ("torch", "executorch", "torchao")}
    return {package: version for package, version in found.items() if version}
