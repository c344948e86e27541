"""PT2E quantization (``--quantize int8-dynamic / int8-static``) with the XNNPACK quantizer."""

from __future__ import annotations

from typing import Any

from migrate.errors import UsageError
from migrate.export.capture import dynamic_shapes
from migrate.export.inputs import Source, npz_examples
from migrate.export.options import ExportOptions
from validators.inputs import SEED


def quantize(program: Any, source: Source, method: str, options: ExportOptions) -> Any:
    """One method's program quantized (int8, per channel) and exported again."""
    import torch
    from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (
        XNNPACKQuantizer,
        get_symmetric_quantization_config,
    )
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    _, args = source.methods[method]
    dynamic = options.quantize == "int8-dynamic"
    config = get_symmetric_quantization_config(is_per_channel=True, is_dynamic=dynamic)
    prepared = prepare_pt2e(program.module(), XNNPACKQuantizer().set_global(config))
    for sample in _calibration_samples(args, options) if not dynamic else [args]:
        prepared(*sample)
    quantized = convert_pt2e(prepared)
    shapes = dynamic_shapes(args, source.input_names[method], options.dynamic if method == "forward" else ())
    return torch.export.export(quantized, args, dynamic_shapes=shapes, strict=False)


def _calibration_samples(args: tuple[Any, ...], options: ExportOptions) -> list[tuple[Any, ...]]:
    import torch

    if options.calibration is None:
        generator = torch.Generator().manual_seed(SEED + 1)
        return [tuple(torch.randn(a.shape, generator=generator).to(a.dtype) for a in args) for _ in range(8)]
    arrays = npz_examples(options.calibration)
    if (
        len(arrays) != len(args)
        or any(a.dim() == 0 or a.shape[1:] != e.shape for a, e in zip(arrays, args, strict=False))
        or len({a.shape[0] for a in arrays}) != 1
    ):
        raise UsageError(
            f"{options.calibration}: expected one array per input, shaped (samples, *example shape): "
            + ", ".join(str(tuple(e.shape)) for e in args)
        )
    return [tuple(a[i] for a in arrays) for i in range(arrays[0].shape[0])]
