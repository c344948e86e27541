"""A small transformer sentence encoder, TorchScript-era."""
from typing import List, Tuple

import torch
import torch.nn as nn
from torch import Tensor


class Pooler(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.proj = nn.Linear(dim, dim)

    def forward(self, hidden: Tensor) -> Tensor:
        return torch.tanh(self.proj(hidden.mean(dim=1)))


class TextEncoder(nn.Module):
    def __init__(self, vocab: int = 1000, dim: int = 64, heads: int = 4, layers: int = 2):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        layer = nn.TransformerEncoderLayer(dim, heads, dim_feedforward=2 * dim, batch_first=True, dropout=0.0)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.sentence = Pooler(dim)
        self.topic = Pooler(dim)

    def forward(self, tokens: Tensor, length: Tensor) -> List[Tensor]:
        hidden = self.encoder(self.embed(tokens))
        if length.min() < 1:  # an empty message: pool over the first token rather than nothing
            length = length.clamp(min=1)
        # Drop the padding the app adds to a fixed 32-token buffer before pooling.
        n = length.max().item()
        hidden = hidden[:, :n]
        # The two heads are independent: run them in parallel on device.
        topic_future = torch.jit.fork(self.topic, hidden)
        sentence = self.sentence(hidden)
        topic = torch.jit.wait(topic_future)
        return [sentence, topic]


def make_model(seed: int = 0) -> TextEncoder:
    torch.manual_seed(seed)
    return TextEncoder().eval()


def example_inputs() -> Tuple[Tensor, Tensor]:
    generator = torch.Generator().manual_seed(1)
    return torch.randint(0, 1000, (1, 32), generator=generator), torch.tensor([24])
