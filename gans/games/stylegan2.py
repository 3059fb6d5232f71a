"""StyleGAN2 (Karras et al. 2020) as a GAN-family game with StyleGAN2's own phases.

One iteration (stylegan2-ada-pytorch ``training/loss.py``, in D-first order):

* ``Dmain``: non-saturating logistic loss on real and generated images;
* ``Dreg`` every 16th D step: lazy R1 on reals, its own optimizer step (``regularizer.r1``);
* ``Gmain``: non-saturating loss, closing the iteration;
* ``Greg`` every 4th G step: the path length penalty on half a batch, its own step
  (``regularizer.path_length``).

The lazy phases' optimizers carry StyleGAN2's lr/beta correction
(:func:`gans.terms.lazy_correction`).
Every generated image in training comes from style mixing with probability ``style_mixing``:
a second latent's w takes over the layers from a random crossover point (Sec. 3.1 of
Karras et al. 2019). Samples use the tracked average w for the truncation trick
(``truncation_psi``, 1 = off) and draw their noise inputs from :meth:`sample`'s own generator.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from gans.batches import Batch
from gans.errors import ConfigError
from gans.games.abilities import Truncates
from gans.games.gan import GANGame
from gans.nets.stylegan2 import Generator


class StyleGAN2Game(Truncates, GANGame):
    """:class:`~gans.games.gan.GANGame` with style mixing, the ``Greg`` phase and truncation.

    Args:
        style_mixing: probability that a generated training image mixes two latents' styles
            (0.9 in the paper's config F; 0 in stylegan2-ada-pytorch's ``cifar`` spec).
        truncation_psi: w <- w_avg + psi (w - w_avg) in :meth:`sample` (1 = no truncation;
            ``gans.sample truncation_psi=0.7``).
        **kwargs: :class:`~gans.games.gan.GANGame`'s.
    """

    lazy_generator_terms = True

    def __init__(self, *args: Any, style_mixing: float = 0.9, truncation_psi: float = 1.0,
                 **kwargs: Any) -> None:  # fmt: skip
        super().__init__(*args, **kwargs)
        if not isinstance(self.generator, Generator):
            raise ConfigError(
                "model=stylegan2 needs model.generator._target_=gans.nets.stylegan2.Generator "
                "(its mapping and synthesis networks)"
            )
        if not 0.0 <= float(style_mixing) <= 1.0:
            raise ConfigError(f"model.style_mixing={style_mixing} must be in [0, 1]")
        self.style_mixing = float(style_mixing)
        self.truncation_psi = float(truncation_psi)

    def styles(self, n: int, y: Tensor | None) -> Tensor:
        """Training ws (n, num_ws, w_dim) for fresh latents, style-mixed with probability
        :attr:`style_mixing` at a crossover uniform in [1, num_ws) (stylegan2-ada-pytorch)."""
        g: Generator = self.generator  # type: ignore[assignment]
        z = self.prior.sample(n, self.device)
        if self.style_mixing <= 0:
            return g.ws(z, y)
        cutoff = torch.randint(1, g.num_ws, (n,), device=self.device)
        mixed = torch.rand(n, device=self.device) < self.style_mixing
        cutoff = torch.where(mixed, cutoff, torch.full_like(cutoff, g.num_ws))
        return g.ws(z, y, mix=self.prior.sample(n, self.device), cutoff=cutoff)

    def fake(self, n: int, y: Tensor | None) -> Tensor:
        return self.generator.synthesis(self.styles(n, y))

    def play(self, batch: Batch) -> bool:
        closed = super().play(batch)
        if closed and "generator" in self.lazy_every:
            y = batch.y if self.conditional else None
            every = self.lazy_every["generator"]
            self.phase("Greg", self.generator_reg_step, batch.real, y, every=every)
        return closed

    def generator_reg_step(self, x: Tensor, y: Tensor | None) -> None:
        """Greg: the separate lazy generator terms (path length) on ``batch_shrink`` times fewer
        samples, times their interval, as the generator's own step."""
        with self.playing("generator"):
            loss = None
            for term in self.terms_of("generator", lazy=True):
                if term.weight == 0:  # the `cifar` spec: no penalty, the correction stays
                    continue
                n = max(1, x.shape[0] // term.batch_shrink)
                ws = self.styles(n, None if y is None else y[:n])
                images = self.generator.synthesis(ws)
                value = term.path_penalty(images, ws)
                self.record(**{f"reg/{term.name}": value, "reg/pl_mean": term.pl_mean})
                loss = term.every * value if loss is None else loss + term.every * value
            if loss is not None:
                self.update("generator", loss)

    def generate(
        self,
        n: int,
        *,
        labels: Tensor | None,
        inputs: Tensor | None,
        generator: torch.Generator,
        ema: bool,
    ) -> Tensor:
        """G(z[, y]) at :attr:`truncation_psi`, noise inputs drawn from ``generator``."""
        z, y = self.sample_inputs(n, labels, inputs, generator)
        g = self.network("generator", ema)
        return g.synthesis(g.ws(z, y, truncation_psi=self.truncation_psi), generator)

    @torch.no_grad()
    def style_mixing_grid(
        self, rows: int = 4, cols: int = 6, *, cutoff: int | None = None, seed: int = 0
    ) -> tuple[Tensor, int]:
        """The paper's style-mixing figure (Karras et al. 2019, Fig. 3) as ``(rows + 1) *
        (cols + 1)`` images in [-1, 1], row-major: the top row holds source B images, the left
        column source A images, and cell (i, j) takes A_i's styles before layer ``cutoff``
        (default: half the layers: coarse and middle) and B_j's from it on; the corner is blank.
        Returns the images and the number per row."""
        g = self.network("generator", True)
        rng = torch.Generator().manual_seed(int(seed))
        cutoff = g.num_ws // 2 if cutoff is None else int(cutoff)
        za = self.prior.sample(rows, "cpu", rng).to(self.device)
        zb = self.prior.sample(cols, "cpu", rng).to(self.device)
        y = None
        if self.conditional:
            y = torch.zeros(rows, dtype=torch.long, device=self.device)
        g_was = g.training
        g.eval()
        psi = self.truncation_psi
        wa = g.ws(za, y, truncation_psi=psi)
        wb = g.ws(zb, None if y is None else y[:1].expand(cols), truncation_psi=psi)
        noise = torch.Generator(device="cpu").manual_seed(int(seed))
        top = g.synthesis(wb, noise)
        left = g.synthesis(wa, noise)
        mixed = torch.cat([wa[:, None, :cutoff].expand(-1, cols, -1, -1),
                           wb[None, :, cutoff:].expand(rows, -1, -1, -1)], dim=2)  # fmt: skip
        cells = g.synthesis(mixed.flatten(0, 1), noise).reshape(rows, cols, *top.shape[1:])
        g.train(g_was)
        blank = torch.full_like(top[:1], -1.0)
        out = [blank, top]
        for i in range(rows):
            out += [left[i : i + 1], cells[i]]
        return torch.cat(out).float(), cols + 1
