"""VQGAN, stage 2 (Esser et al. 2021, Sec. 3.2): an autoregressive transformer over the frozen
stage-1 codes, trained by next-code cross-entropy; sampling draws codes and decodes them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gans.batches import Labelled
from gans.errors import ConfigError
from gans.games.base import Game, _terms
from gans.nets.gpt import sample_tokens


class VQGANTransformerGame(Game):
    """One player, the transformer, on the code sequence s = (start, c_1, ..., c_hw) of each
    image (row-major codes of the frozen stage 1): loss = -1/hw sum_i log p(c_i | s_<i) (Esser
    et al. 2021, Eq. 8). The start token is ``num_codes`` for unconditional data and
    ``num_codes + y`` for class y when ``num_classes`` > 0 (the class as the first token, as
    taming's class-conditional ImageNet model).

    Args:
        transformer: builds the :class:`~gans.nets.gpt.GPT` given ``vocab`` (the codebook size
            plus the start tokens: one, or one per class) and ``block_size`` (h * w codes).
        autoencoder: the stage-1 ``{"encoder", "quantizer", "decoder"}``, frozen (their weights
            come from ``first_stage``: see :mod:`gans.first_stage`).
        num_classes: > 0 conditions on the batch's labels.
        sampling: ``{"temperature", "top_k"}`` for :meth:`sample`.
    """

    sampled = ("transformer",)

    def __init__(
        self,
        transformer: Callable[..., nn.Module],
        autoencoder: Mapping[str, nn.Module],
        optimizer: Mapping[str, Any],
        *,
        name: str = "vqgan_transformer",
        first_stage: str | None = None,
        num_classes: int = 0,
        sampling: Mapping[str, Any] | None = None,
        terms: Any = None,
        ema: Mapping[str, Any] | None = None,
        log_every: int = 50,
        check_finite_every: int = 1,
        seed: int = 0,
    ) -> None:
        if _terms(terms):
            raise ConfigError(f"model={name} takes no regularizer group: use regularizer=none")
        if not autoencoder:
            raise ConfigError(
                f"model={name} needs its first stage: model.first_stage=<a model=vqgan checkpoint>"
            )
        num_codes = int(autoencoder["quantizer"].num_codes)
        side = int(autoencoder["encoder"].latent_size)
        starts = max(1, int(num_classes or 0))
        super().__init__(
            {"transformer": transformer(vocab=num_codes + starts, block_size=side * side)},
            optimizer,
            ema=ema,
            averaged=("transformer",),
            tags={"transformer": "t"},
            log_every=log_every,
            check_finite_every=check_finite_every,
            seed=seed,
        )
        self.transformer: nn.Module
        self.name = str(name)
        self.first_stage_path = first_stage
        self.autoencoder = nn.ModuleDict(dict(autoencoder)).requires_grad_(False).eval()
        self.num_codes = num_codes
        self.num_classes = int(num_classes or 0)
        self.conditional = self.num_classes > 0
        self._grid = (side, side)
        sampling = dict(sampling or {})
        self.temperature = float(sampling.get("temperature", 1.0))
        top_k = sampling.get("top_k")
        self.top_k = int(top_k) if top_k else None

    def train(self, mode: bool = True) -> VQGANTransformerGame:
        super().train(mode)
        self.autoencoder.eval()  # frozen: BatchNorm/dropout never in training mode
        return self

    @torch.no_grad()
    def codes(self, x: Tensor) -> Tensor:
        """Stage 1's code indices of images x, (N, h, w)."""
        return self.autoencoder["quantizer"](self.autoencoder["encoder"](x)).indices

    @torch.no_grad()
    def decode(self, indices: Tensor) -> Tensor:
        ae = self.autoencoder
        return ae["decoder"](ae["quantizer"].lookup(indices)).clamp(-1, 1)

    def start_tokens(self, n: int, labels: Tensor | None, device: Any) -> Tensor:
        start = torch.full((n, 1), self.num_codes, dtype=torch.long, device=device)
        return start + labels.view(n, 1).to(device) if labels is not None else start

    def play(self, batch: Any) -> bool:
        x = batch.real
        labels = None
        if self.conditional:
            if not isinstance(batch, Labelled):
                raise ConfigError(
                    f"model.num_classes={self.num_classes} but the data has no labels: set "
                    "model.num_classes=0 or use data with class folders (data.num_classes)"
                )
            labels = batch.y
        self.phase("Tmain", self.transformer_step, x, labels)
        return True

    def transformer_step(self, x: Tensor, labels: Tensor | None) -> None:
        indices = self.codes(x)
        sequence = torch.cat(
            [self.start_tokens(x.shape[0], labels, x.device), indices.flatten(1)], dim=1
        )
        with self.playing("transformer"):
            logits = self.transformer(sequence[:, :-1])
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), sequence[:, 1:].flatten())
            self.record(**{"loss/t": loss})
            self.update("transformer", loss, closes_iteration=True)

    def generate(
        self,
        n: int,
        *,
        labels: Tensor | None,
        inputs: Tensor | None,
        generator: torch.Generator,
        ema: bool,
    ) -> Tensor:
        """Codes drawn token by token (temperature, top-k), decoded by stage 1; ``labels`` (or,
        when conditional, uniform draws from ``generator``) choose the start tokens."""
        if self.conditional and labels is None:
            labels = torch.randint(0, self.num_classes, (n,), generator=generator)
        if not self.conditional:
            labels = None
        h, w = self._grid
        tokens = sample_tokens(
            self.network("transformer", ema),
            self.start_tokens(n, labels, self.device),
            h * w,
            temperature=self.temperature,
            top_k=self.top_k,
            limit=self.num_codes,
            generator=generator,
        )
        return self.decode(tokens.view(n, h, w))
