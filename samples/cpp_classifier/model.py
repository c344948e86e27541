"""A small image classifier for the desktop C++ sample: plain torch, seeded weights."""

import torch
import torch.nn as nn

SIZE = 224


class TinyClassifier(nn.Module):
    def __init__(self, classes: int = 10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, stride=4, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1)
        )
        self.head = nn.Linear(8, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.flatten(self.features(x), 1))


def make_model() -> nn.Module:
    torch.manual_seed(0)
    return TinyClassifier().eval()


def pixels() -> torch.Tensor:
    """The image main.cpp feeds the model: pixel i of the flat buffer is (i % 255) / 255."""
    return (torch.arange(3 * SIZE * SIZE) % 255).float().div(255).reshape(1, 3, SIZE, SIZE)


def example_inputs() -> tuple[torch.Tensor]:
    return (pixels(),)
