"""Exponential moving average of a network's weights."""

from __future__ import annotations

import itertools
from typing import Any

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
    (Karras et al. 2018; Yazici et al. 2019). A ``torch.optim.swa_utils.AveragedModel`` (its
    copy of the network and its ``n_averaged`` counter, so checkpoints keep their keys) with
    buffers averaged too (BatchNorm running statistics); the copy is frozen and saved in the
    module's state_dict, so checkpoints carry it."""

    def __init__(
        self, network: nn.Module, decay: float = 0.999, warmup: int = 10, start: int = 0
    ) -> None:
        if not 0.0 < float(decay) < 1.0:
            raise ConfigError(f"ema.decay={decay} must be in (0, 1)")
        self.decay = float(decay)
        self.warmup = int(warmup)
        self.start = int(start)

        self._updates: int | None = 0
        super().__init__(network, use_buffers=True)
        self.module.requires_grad_(False)
        self.module.eval()

    @torch.no_grad()
    def update(self, network: nn.Module, iteration: int) -> None:
        """Fold the current network into the average after iteration ``iteration``: one
        ``torch._foreach_lerp`` per device and dtype over every floating parameter and buffer
        (integer buffers and spectral norm's power-iteration vectors are copied), with no host
        synchronisation (``AveragedModel``'s own update reads its counter on the host twice per
        call, a stall per iteration on a GPU). The first update, and every update before
        ``start``, copies."""
        if self._updates is None:  # once per process, and after a checkpoint is loaded
            self._updates = int(self.n_averaged)
        # before ``start`` the average is a copy (BigGAN-PyTorch's --ema_start)
        started = iteration >= self.start and self._updates > 0
        beta = ema_decay(self.decay, self.warmup, iteration - self.start) if started else 0.0
        Group = tuple[torch.device, torch.dtype, bool]
        groups: dict[Group, tuple[list[Tensor], list[Tensor]]] = {}
        ours = itertools.chain(self.module.named_parameters(), self.module.named_buffers())
        theirs = itertools.chain(network.parameters(), network.buffers())
        for (name, avg), new in zip(ours, theirs, strict=True):
            key = (avg.device, avg.dtype, not _power_iteration_vector(name))
            averaged, current = groups.setdefault(key, ([], []))
            averaged.append(avg.detach())
            current.append(new.detach().to(avg.device))
        for (_, dtype, average), (averaged, current) in groups.items():
            if average and dtype.is_floating_point and beta > 0:
                # lerp(new, avg, beta), as before this was foreach: the same bits
                current = torch._foreach_lerp(current, averaged, beta)
            torch._foreach_copy_(averaged, current)
        self.n_averaged += 1
        self._updates += 1

    def _load_from_state_dict(self, *args: Any, **kwargs: Any) -> None:
        super()._load_from_state_dict(*args, **kwargs)
        self._updates = None

    def train(self, mode: bool = True) -> NetworkEMA:
        super().train(mode)
        self.module.eval()
        return self


def _power_iteration_vector(name: str) -> bool:
    """Whether buffer ``name`` is one of spectral norm's singular-vector estimates u, v
    (``torch.nn.utils.parametrizations.spectral_norm``). They are copied from the network, as
    StudioGAN's EMA copies every buffer: an average of unit vectors is shorter than 1, and in
    eval mode sigma = u^T W v is read from them without a power iteration, so averaged vectors
    underestimate sigma and inflate every normalised weight (a SAGAN's averaged G at 3,000
    iterations had vectors of norm 0.36 and drew saturated fragments: the class asked for 13 %
    of the time against its raw G's 49 %)."""
    return ".parametrizations." in f".{name}" and name.rsplit(".", 1)[-1] in ("_u", "_v")
