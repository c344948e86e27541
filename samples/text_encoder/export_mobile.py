"""Build text_encoder.pt for the app's native code (torch::jit::load)."""
import sys

import torch

from model import example_inputs, make_model


def main(out: str) -> None:
    model = make_model()
    tokens, length = example_inputs()
    traced = torch.jit.trace(model, (tokens, length), check_trace=False)
    torch.jit.save(traced, out)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "text_encoder.pt")
