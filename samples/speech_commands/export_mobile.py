"""Build keyword_spotter.ptl for the app (PyTorch Mobile, lite interpreter)."""
import sys

import torch
import torch.nn as nn

from model import make_model


def main(out: str) -> None:
    model = make_model()
    # Dynamic int8 on the linear layers: smaller and faster on phones.
    quantized = torch.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)
    scripted = torch.jit.script(quantized)
    scripted._save_for_lite_interpreter(out)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "keyword_spotter.ptl")
