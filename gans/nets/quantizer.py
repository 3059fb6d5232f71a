"""The vector quantizer of VQ-VAE and VQGAN (van den Oord et al. 2017, Eq. 3; Esser et al. 2021,
Eq. 4): each encoder output vector is replaced by its nearest codebook entry, gradients pass
straight through to the encoder."""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor, nn

from gans.errors import ConfigError


class Quantized(NamedTuple):
    """What :class:`VectorQuantizer` returns for encoder outputs z_e."""

    z_q: Tensor  #: z_e + sg[e - z_e]: the codes' values forward, the identity backward
    indices: Tensor  #: (N, h, w) code of each position
    codebook: Tensor  #: ||sg[z_e] - e||^2 (0 with EMA updates: the codebook is not learned by SGD)
    commitment: Tensor  #: beta * ||z_e - sg[e]||^2


def code_statistics(indices: Tensor, num_codes: int) -> dict[str, Tensor]:
    """``usage``: the fraction of the codebook that ``indices`` use; ``perplexity``:
    exp(-sum_k p_k log p_k) of the codes' frequencies p (num_codes when all are equally used)."""
    counts = torch.bincount(indices.flatten(), minlength=num_codes).float()
    p = counts / counts.sum().clamp_min(1)
    entropy = -(p * torch.log(p.clamp_min(1e-12))).sum()
    return {"usage": (counts > 0).float().mean(), "perplexity": entropy.exp()}


class VectorQuantizer(nn.Module):
    """z_e (N, dim, h, w) -> :class:`Quantized`.

    Args:
        num_codes, dim: the codebook's size K and vector dimension D.
        beta: the commitment weight, on ||z_e - sg[e]||^2 (van den Oord et al. 2017, Eq. 3:
            beta = 0.25). taming-transformers' legacy ``VectorQuantizer`` puts beta on the
            codebook term instead (its ``legacy=True`` default; see its quantize.py); we follow
            the paper.
        ema: update the codebook by exponential moving averages of the assigned encoder outputs
            (van den Oord et al. 2017, Appendix A.1) instead of by the codebook loss.
        decay: the EMA decay (0.99 in the paper's appendix).
        restart_below: a code whose usage average (decay as above) falls below this many
            assignments per batch is moved onto a random encoder output of the batch (dead-code
            restart, as in Dhariwal et al. 2020); 0: never.
    """

    def __init__(
        self,
        num_codes: int = 512,
        dim: int = 64,
        beta: float = 0.25,
        ema: bool = False,
        decay: float = 0.99,
        restart_below: float = 0.0,
    ) -> None:
        super().__init__()
        if int(num_codes) < 2 or int(dim) < 1:
            raise ConfigError(f"model.quantizer: num_codes={num_codes} >= 2, dim={dim} >= 1")
        self.num_codes, self.dim = int(num_codes), int(dim)
        self.beta, self.ema, self.decay = float(beta), bool(ema), float(decay)
        self.restart_below = float(restart_below)
        self.embedding = nn.Embedding(self.num_codes, self.dim)
        nn.init.uniform_(self.embedding.weight, -1 / self.num_codes, 1 / self.num_codes)
        if self.ema:
            self.embedding.weight.requires_grad_(False)
        self.register_buffer("cluster_size", torch.zeros(self.num_codes))
        self.register_buffer("embed_sum", self.embedding.weight.detach().clone())
        self.register_buffer("usage_average", torch.ones(self.num_codes))

    def nearest(self, flat: Tensor) -> Tensor:
        """The index of each row's nearest code: argmin ||z||^2 - 2 z.e + ||e||^2."""
        codes = self.embedding.weight
        distances = (
            flat.pow(2).sum(1, keepdim=True) - 2 * flat @ codes.t() + codes.pow(2).sum(1)[None]
        )
        return distances.argmin(1)

    def lookup(self, indices: Tensor) -> Tensor:
        """Codes (N, h, w) -> their vectors (N, dim, h, w)."""
        return self.embedding(indices).permute(0, 3, 1, 2)

    def forward(self, z: Tensor) -> Quantized:
        if z.shape[1] != self.dim:
            raise ConfigError(
                f"model.quantizer.dim={self.dim} but the encoder outputs {z.shape[1]} channels "
                "(model.encoder.z_channels): they must be equal"
            )
        n, _, h, w = z.shape
        flat = z.permute(0, 2, 3, 1).reshape(-1, self.dim)
        indices = self.nearest(flat.detach())
        e = self.embedding(indices)
        if self.training and (self.ema or self.restart_below > 0):
            self.update(flat.detach(), indices)
        commitment = self.beta * F.mse_loss(flat, e.detach())
        codebook = F.mse_loss(flat.detach(), e) if not self.ema else flat.new_zeros(())
        z_q = flat + (e - flat).detach()
        return Quantized(
            z_q.reshape(n, h, w, self.dim).permute(0, 3, 1, 2),
            indices.reshape(n, h, w),
            codebook,
            commitment,
        )

    @torch.no_grad()
    def update(self, flat: Tensor, indices: Tensor) -> None:
        """EMA codebook update and dead-code restarts from one batch (summed over ranks)."""
        onehot = F.one_hot(indices, self.num_codes).type_as(flat)
        counts, sums = onehot.sum(0), onehot.t() @ flat
        if dist.is_available() and dist.is_initialized():
            dist.all_reduce(counts)
            dist.all_reduce(sums)
        self.usage_average.mul_(self.decay).add_(counts, alpha=1 - self.decay)
        if self.ema:
            self.cluster_size.mul_(self.decay).add_(counts, alpha=1 - self.decay)
            self.embed_sum.mul_(self.decay).add_(sums, alpha=1 - self.decay)
            total = self.cluster_size.sum()
            smoothed = (self.cluster_size + 1e-5) / (total + self.num_codes * 1e-5) * total
            self.embedding.weight.copy_(self.embed_sum / smoothed[:, None])
        if self.restart_below > 0:
            dead = self.usage_average < self.restart_below
            if dead.any():
                picks = torch.randint(0, flat.shape[0], (int(dead.sum()),), device=flat.device)
                if dist.is_available() and dist.is_initialized():
                    dist.broadcast(picks, 0)
                    fresh = flat[picks]
                    dist.broadcast(fresh, 0)
                else:
                    fresh = flat[picks]
                self.embedding.weight[dead] = fresh
                self.embed_sum[dead] = fresh
                self.cluster_size[dead] = 1.0
                self.usage_average[dead] = 1.0
