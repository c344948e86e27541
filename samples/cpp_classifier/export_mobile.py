"""Produce the model.pt that main.cpp loads with torch::jit::load (TorchScript, traced)."""
import sys

import torch

from model import example_inputs, make_model


def main() -> None:
    out = sys.argv[1] if len(sys.argv) > 1 else "model.pt"
    traced = torch.jit.trace(make_model(), example_inputs())
    torch.jit.save(traced, out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
