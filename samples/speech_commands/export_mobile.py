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
    # Call every entry point the app calls before shipping it.
    frames = torch.randn(1, 16, 40)
    print("clip scores", tuple(scripted(frames).shape))
    state = scripted.init_state(1)
    scores, state = scripted.stream(frames, state)
    print("stream scores", tuple(scores.shape), "state", tuple(state.shape))
    scripted._save_for_lite_interpreter(out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "keyword_spotter.ptl")
