"""Keyword spotter with a streaming API, written for TorchScript / PyTorch Mobile."""
from typing import List, Optional, Tuple

import torch
import torch.nn as nn
from torch import Tensor

KEYWORDS = ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go", "unknown", "silence"]


class KeywordSpotter(nn.Module):
    n_mels: torch.jit.Final[int]
    hidden: torch.jit.Final[int]

    def __init__(self, n_mels: int = 40, hidden: int = 48, n_keywords: int = len(KEYWORDS)):
        super().__init__()
        self.n_mels = n_mels
        self.hidden = hidden
        self.frontend = nn.Sequential(nn.Linear(n_mels, hidden), nn.ReLU())
        self.gru = nn.GRU(hidden, hidden, batch_first=True)
        self.classifier = nn.Linear(hidden, n_keywords)

    def forward(self, frames: Tensor, state: Optional[Tensor] = None) -> Tensor:
        features = self.frontend(frames)
        if state is None:
            state = torch.zeros(1, frames.shape[0], self.hidden)
        outputs, _ = self.gru(features, state)
        return self.classifier(outputs[:, -1])

    @torch.jit.export
    def init_state(self, batch: int) -> Tensor:
        return torch.zeros(1, batch, self.hidden)

    @torch.jit.export
    def stream(self, frames: Tensor, state: Tensor) -> Tuple[Tensor, Tensor]:
        """One block of frames: logits for the block and the state to pass to the next one."""
        features = self.frontend(frames)
        outputs, new_state = self.gru(features, state)
        scores = torch.jit.annotate(List[Tensor], [])
        scores.append(self.classifier(outputs[:, -1]))
        return scores[0], new_state


def make_model(seed: int = 0) -> KeywordSpotter:
    torch.manual_seed(seed)
    return KeywordSpotter().eval()


def example_inputs() -> Tuple[Tensor]:
    generator = torch.Generator().manual_seed(1)
    return (torch.randn(1, 16, 40, generator=generator),)
