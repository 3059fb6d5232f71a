"""Minibatch discrimination (Salimans et al. 2016, "Improved Techniques for Training GANs",
Sec. 3.2): a layer of D that lets each sample's output depend on how close the other samples of
its batch are, so that D can tell a batch of near-copies (a collapsed G) from a batch of varied
real images."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class MinibatchDiscrimination(nn.Module):
    """f(x_i) in R^A -> [f(x_i), o(x_i)] with o(x_i) in R^B (Salimans et al. 2016, Sec. 3.2):
    M_i = f(x_i) T (T in R^{A x B x C}, rows M_{i,b} in R^C), c_b(x_i, x_j) =
    exp(-||M_{i,b} - M_{j,b}||_1) and o(x_i)_b = sum_{j != i} c_b(x_i, x_j) + bias_b.

    The self term j = i is left out and each kernel has a bias starting at -1, as the authors'
    code (openai/improved-gan, ``nn.MinibatchLayer``) does; T is drawn from N(0, 0.05^2) as there,
    without that code's data-dependent weight-norm initialisation. A batch of one gets o = bias.
    D must see real and generated images in separate batches (the game does)."""

    def __init__(self, in_features: int, kernels: int = 100, dims: int = 5) -> None:
        super().__init__()
        self.kernels, self.dims = int(kernels), int(dims)
        self.T = nn.Parameter(torch.randn(int(in_features), self.kernels * self.dims) * 0.05)
        self.bias = nn.Parameter(torch.full((self.kernels,), -1.0))

    @property
    def out_features(self) -> int:
        return self.T.shape[0] + self.kernels

    def forward(self, f: Tensor) -> Tensor:
        m = (f @ self.T).view(f.shape[0], self.kernels, self.dims)
        l1 = (m.unsqueeze(0) - m.unsqueeze(1)).abs().sum(dim=3)  # (n, n, B)
        close = torch.exp(-l1)
        o = close.sum(dim=1) - torch.ones_like(close[0])  # the j = i term is exp(0) = 1
        return torch.cat([f, o + self.bias], dim=1)

    def extra_repr(self) -> str:
        return f"in_features={self.T.shape[0]}, kernels={self.kernels}, dims={self.dims}"
