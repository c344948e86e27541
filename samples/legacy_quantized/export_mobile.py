"""Quantize (eager static) and build quantized_net.ptl for the app."""
import sys

import torch
from torch.ao.quantization import convert, fuse_modules, get_default_qconfig, prepare

from model import example_inputs, make_model


def calibration_batches(count: int = 16):
    generator = torch.Generator().manual_seed(7)
    for _ in range(count):
        yield torch.rand(1, 3, 64, 64, generator=generator)


def main(out: str) -> None:
    torch.backends.quantized.engine = "qnnpack"
    model = make_model()
    example = example_inputs()[0]
    model = fuse_modules(model, [["block1.0", "block1.1", "block1.2"], ["block2.0", "block2.1", "block2.2"]])
    model.qconfig = get_default_qconfig("qnnpack")
    prepared = prepare(model)
    for batch in calibration_batches():
        prepared(batch)
    quantized = convert(prepared)
    scripted = torch.jit.script(quantized)
    scripted._save_for_lite_interpreter(out)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "quantized_net.ptl")
