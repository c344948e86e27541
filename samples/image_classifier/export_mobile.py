"""Produce the app's classifier.ptl (PyTorch Mobile, lite interpreter)."""
import argparse

import torch
from torch.utils.mobile_optimizer import optimize_for_mobile

from model import make_model


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="android/app/src/main/assets/classifier.ptl")
    args = parser.parse_args()

    model = make_model()
    scripted = torch.jit.script(model)
    optimized = optimize_for_mobile(scripted)
    optimized._save_for_lite_interpreter(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
