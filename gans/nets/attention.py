"""SAGAN's self-attention block (Zhang et al. 2019, "Self-Attention Generative Adversarial
Networks", Sec. 3), in the form of their reference code and BigGAN-PyTorch."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gans.errors import ConfigError


class SelfAttention(nn.Module):
    """y = x + gamma * o(sum_j softmax_j(f(x_i)^T g(x_j)) h(x_j)), Eq. 1-3.

    Query f and key g are 1x1 convolutions to C/8 channels, the value h to C/2, the output o back
    to C; keys and values are 2x2 max-pooled (a quarter of the positions: the reference code's
    memory saving). gamma starts at 0, so at initialisation the block is the identity and the
    network leans on local convolutions first (Sec. 3). Any even height and width.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        if int(channels) < 8 or int(channels) % 8:
            raise ConfigError(
                f"self-attention needs a multiple of 8 channels (C/8 queries), got {channels}"
            )
        c = int(channels)
        self.query = nn.Conv2d(c, c // 8, 1, bias=False)
        self.key = nn.Conv2d(c, c // 8, 1, bias=False)
        self.value = nn.Conv2d(c, c // 2, 1, bias=False)
        self.out = nn.Conv2d(c // 2, c, 1, bias=False)
        self.gamma = nn.Parameter(torch.zeros(()))

    def forward(self, x: Tensor) -> Tensor:
        b, c, h, w = x.shape
        query = self.query(x).flatten(2)  # (B, C/8, HW)
        key = F.max_pool2d(self.key(x), 2).flatten(2)  # (B, C/8, HW/4)
        value = F.max_pool2d(self.value(x), 2).flatten(2)  # (B, C/2, HW/4)
        attention = torch.softmax(query.transpose(1, 2) @ key, dim=-1)  # (B, HW, HW/4)
        attended = (value @ attention.transpose(1, 2)).view(b, c // 2, h, w)
        return x + self.gamma * self.out(attended)
