"""Exponential moving average of a network's weights."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.optim.swa_utils import AveragedModel

from gans.errors import ConfigError


def ema_decay(decay: float, warmup: int, num_updates: int) -> float:
    """decay_t = min(decay, (1 + t) / (warmup + t)): early averages forget the random init fast
    (TensorFlow's ExponentialMovingAverage with num_updates; warmup = 10 there)."""
    if warmup <= 0:
        return decay
    return min(decay, (1.0 + num_updates) / (warmup + num_updates))


class NetworkEMA(AveragedModel):
    """theta_ema <- decay_t * theta_ema + (1 - decay_t) * theta after every iteration
    (Karras et al. 2018; Yazici et al. 2019). Built on ``torch.optim.swa_utils.AveragedModel``
    with ``use_buffers=True``, so BatchNorm running statistics are averaged too; its copy is frozen
    and saved in the module's state_dict, so checkpoints carry it."""

    def __init__(
        self, network: nn.Module, decay: float = 0.999, warmup: int = 10, start: int = 0
    ) -> None:
        if not 0.0 < float(decay) < 1.0:
            raise ConfigError(f"ema.decay={decay} must be in (0, 1)")
        self.decay = float(decay)
        self.warmup = int(warmup)
        self.start = int(start)

        self._beta = self.decay

        def average(avg: Tensor, new: Tensor, num_averaged: Tensor) -> Tensor:
            return torch.lerp(new, avg, self._beta) if avg.is_floating_point() else new

        super().__init__(network, avg_fn=average, use_buffers=True)
        self.module.requires_grad_(False)
        self.module.eval()

    def update(self, network: nn.Module, iteration: int) -> None:
        """Fold the current network into the average after iteration ``iteration``."""
        # before ``start`` the average is a copy (BigGAN-PyTorch's --ema_start)
        started = iteration >= self.start
        self._beta = ema_decay(self.decay, self.warmup, iteration - self.start) if started else 0.0
        self.update_parameters(network)

    def train(self, mode: bool = True) -> NetworkEMA:
        super().train(mode)
        self.module.eval()
        return self
