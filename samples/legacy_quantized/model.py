"""A small CNN prepared for eager-mode static quantization."""
from typing import Tuple

import torch
import torch.nn as nn
from torch import Tensor
from torch.ao.quantization import DeQuantStub, QuantStub


class ConvBlock(nn.Sequential):
    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())


class QuantizableNet(nn.Module):
    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.quant = QuantStub()
        self.block1 = ConvBlock(3, 16, 2)
        self.block2 = ConvBlock(16, 32, 2)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(32, num_classes)
        self.dequant = DeQuantStub()

    def forward(self, x: Tensor) -> Tensor:
        x = self.quant(x)
        x = self.block2(self.block1(x))
        x = self.fc(torch.flatten(self.pool(x), 1))
        return self.dequant(x)


def make_model(seed: int = 0) -> QuantizableNet:
    torch.manual_seed(seed)
    return QuantizableNet().eval()


def example_inputs() -> Tuple[Tensor]:
    return (torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(1)),)
