"""torch.export of each method: non-strict by default, with the ``--dynamic`` bounds; a
TorchScript archive goes through TS2EPConverter first."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from migrate.export.diagnosis import converter_failure, explain_export_failure
from migrate.export.inputs import Source
from migrate.export.options import DynamicDim, ExportError, ExportOptions, input_index
from validators.internals import ts2ep_converter


def export_method(
    module: Any, args: tuple[Any, ...], source: Source, name: str, options: ExportOptions
) -> Any:
    """The ExportedProgram of one method (``module`` is the method as a module's ``forward``)."""
    import torch

    dynamic = options.dynamic if name == "forward" else ()
    shapes = dynamic_shapes(args, source.input_names[name], dynamic)
    if isinstance(module, torch.jit.ScriptModule):
        return _convert_archive(module, args, shapes)
    try:
        return torch.export.export(module, args, dynamic_shapes=shapes, strict=options.strict)
    except Exception as exc:
        raise ExportError(explain_export_failure(module, args, shapes, exc, name)) from None


def _convert_archive(scripted: Any, args: tuple[Any, ...], shapes: tuple[Any, ...] | None) -> Any:
    import torch

    converter = ts2ep_converter()
    try:
        converted = converter(scripted, args).convert()
        # The converter leaves every dim unbounded (Dim.AUTO): re-export with the bounds given.
        return torch.export.export(converted.module(), args, dynamic_shapes=shapes, strict=False)
    except Exception as exc:
        raise ExportError(converter_failure(exc)) from None


def dynamic_shapes(
    args: tuple[Any, ...], names: Sequence[str], dynamic: Sequence[DynamicDim]
) -> tuple[Any, ...] | None:
    """torch.export's ``dynamic_shapes`` for ``--dynamic`` (None when every dim is static)."""
    from torch.export import Dim

    if not dynamic:
        return None
    shapes: list[dict[int, Any] | None] = [None] * len(args)
    for spec in dynamic:
        index = input_index(spec.input, names)
        entry = shapes[index] or {}
        entry[spec.dim] = Dim(f"{names[index]}_{spec.dim}", min=spec.min, max=spec.max)
        shapes[index] = entry
    return tuple(shapes)
