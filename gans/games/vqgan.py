"""VQGAN, stage 1 (Esser et al. 2021, Sec. 3.1-3.2): a convolutional autoencoder with a learned
discrete codebook, trained on reconstruction, perceptual and codebook losses and, from
``disc_start`` on, adversarially against a PatchGAN with an adaptively weighted GAN term."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

from gans.errors import ConfigError
from gans.games.abilities import NeedsPerceptual, Quantizes
from gans.games.base import Game, _terms
from gans.games.held import HeldImages
from gans.losses import Objective
from gans.nets.modes import evaluating
from gans.nets.quantizer import Quantized, code_statistics


def adaptive_weight(
    rec_loss: Tensor, gan_loss: Tensor, last_layer: Tensor, max_weight: float = 1e4
) -> Tensor:
    """lambda = ||grad_{G_L} L_rec|| / (||grad_{G_L} L_GAN|| + 1e-4), clamped to [0, 1e4] and
    detached, G_L the decoder's last layer (Esser et al. 2021, Eq. 7)."""
    rec_grad = torch.autograd.grad(rec_loss, last_layer, retain_graph=True)[0]
    gan_grad = torch.autograd.grad(gan_loss, last_layer, retain_graph=True)[0]
    return (rec_grad.norm() / (gan_grad.norm() + 1e-4)).clamp(0.0, max_weight).detach()


class VQGANGame(Quantizes, NeedsPerceptual, HeldImages, Game):
    """Per batch x: one autoencoder step on

        L = |x - x_hat|_1 + w_p * P(x, x_hat) + ||sg[z_e] - e||^2 + beta ||z_e - sg[e]||^2
            [+ lambda * disc_weight * g_loss(D(x_hat)) from ``disc_start`` on]

    (Esser et al. 2021, Eq. 4-7; taming's VQLPIPSWithDiscriminator: mean L1 plus mean perceptual
    distance as the reconstruction term), then, from ``disc_start`` on, one D step on
    ``objective.d_loss(D(x), D(x_hat))`` (hinge). Before ``disc_start`` no adversarial term is
    computed and D is not stepped.

    ``sample(n, inputs=x)`` reconstructs x; ``sample(n)`` reconstructs images held from the first
    batch (stage 1 has no prior to sample from: that is stage 2's transformer).

    Args:
        encoder, quantizer, decoder: :class:`~gans.nets.vqgan.Encoder`,
            :class:`~gans.nets.quantizer.VectorQuantizer`, :class:`~gans.nets.vqgan.Decoder`.
        discriminator: a PatchGAN on images.
        objective: the adversarial objective (hinge in the paper).
        disc_start: the iteration from which the adversarial terms are on.
        disc_weight: the factor on the adaptive weight lambda (0.8 in taming's configs).
        perceptual_weight: w_p (1.0).
        adaptive: False to use lambda = 1 (an ablation).
        held: source images held for :meth:`sample` without inputs.
    """

    sampled = ("encoder", "quantizer", "decoder")
    reconstructs = True

    def __init__(
        self,
        encoder: nn.Module,
        quantizer: nn.Module,
        decoder: nn.Module,
        discriminator: nn.Module,
        objective: Objective,
        optimizer: Mapping[str, Any],
        *,
        name: str = "vqgan",
        channels: int = 1,
        image_size: int = 32,
        disc_start: int = 0,
        disc_weight: float = 0.8,
        perceptual: Mapping[str, Any] | None = None,
        adaptive: bool = True,
        held: int = 16,
        terms: Any = None,
        ema: Mapping[str, Any] | None = None,
        log_every: int = 50,
        check_finite_every: int = 1,
        seed: int = 0,
    ) -> None:
        if _terms(terms):
            raise ConfigError(f"model={name} takes no regularizer group: use regularizer=none")
        if int(getattr(encoder, "z_channels", quantizer.dim)) != quantizer.dim:
            raise ConfigError(
                f"model.quantizer.dim={quantizer.dim} does not match the encoder's output "
                f"(model.encoder.z_channels={encoder.z_channels}): set them equal"
            )
        if int(getattr(decoder, "z_channels", quantizer.dim)) != quantizer.dim:
            raise ConfigError(
                f"model.quantizer.dim={quantizer.dim} does not match the decoder's input "
                f"(model.decoder.z_channels={decoder.z_channels}): set them equal"
            )
        if int(disc_start) < 0:
            raise ConfigError(f"model.disc_start={disc_start} must be >= 0")
        super().__init__(
            {
                "encoder": encoder,
                "quantizer": quantizer,
                "decoder": decoder,
                "discriminator": discriminator,
            },
            optimizer,
            stepped=("autoencoder", "discriminator"),
            groups={"autoencoder": ("encoder", "quantizer", "decoder")},
            ema=ema,
            averaged=(),
            tags={"autoencoder": "ae", "discriminator": "d"},
            log_every=log_every,
            check_finite_every=check_finite_every,
            seed=seed,
        )
        self.encoder: nn.Module
        self.quantizer: nn.Module
        self.decoder: nn.Module
        self.discriminator: nn.Module
        self.name = str(name)
        self.objective = objective
        self.disc_start = int(disc_start)
        self.disc_weight = float(disc_weight)
        perceptual = dict(perceptual or {})
        self.perceptual_kind = str(perceptual.get("kind", "none"))
        self.perceptual_weight = float(perceptual.get("weight", 1.0))
        self.adaptive = bool(adaptive)
        self._perceptual: list[nn.Module] = []  # frozen, not in state_dict, set by attach
        self.register_held(int(held), (int(channels), int(image_size), int(image_size)))

    # ---------------------------------------------------------------- pieces
    def attach_perceptual(self, network: nn.Module | None) -> None:
        """The frozen perceptual network (:mod:`gans.perceptual`); kept out of ``state_dict``."""
        self._perceptual = [network] if network is not None else []

    @property
    def perceptual_name(self) -> str:
        return getattr(self._perceptual[0], "name", "none") if self._perceptual else "none"

    def encode(self, x: Tensor) -> Quantized:
        return self.quantizer(self.encoder(x))

    def codes(self, x: Tensor) -> Tensor:
        """The code indices (N, h, w) of images x."""
        return self.encode(x).indices

    @property
    def num_codes(self) -> int:
        return int(self.quantizer.num_codes)

    @torch.no_grad()
    def code_indices(self, images: Tensor, batch_size: int, device: Any) -> Tensor:
        """The code indices of ``images`` on the CPU, encoded in eval mode (an EMA codebook is
        not updated) ``batch_size`` at a time on ``device``."""
        with evaluating(self.encoder, self.quantizer):
            return torch.cat([self.codes(c.to(device)).cpu() for c in images.split(batch_size)])

    def reconstruct(self, x: Tensor) -> Tensor:
        return self.decoder(self.encode(x).z_q)

    def perceptual_distance(self, x: Tensor, y: Tensor) -> Tensor:
        if not self._perceptual or self.perceptual_weight == 0:
            return x.new_zeros(())
        network = self._perceptual[0]
        if next(network.parameters()).device != x.device:
            network.to(x.device)
        return network(x, y).mean()

    # ---------------------------------------------------------------- the game
    def play(self, batch: Any) -> bool:
        x = batch.real
        self.hold_images(x)
        adversarial = self.iteration >= self.disc_start
        made = self.phase("AEmain", self.autoencoder_step, x, adversarial)
        if adversarial:
            self.phase("Dmain", self.discriminator_step, x, made)
        return True

    def autoencoder_step(self, x: Tensor, adversarial: bool) -> Tensor:
        with self.playing("autoencoder"):
            q = self.encode(x)
            made = self.decoder(q.z_q)
            l1 = (x - made).abs().mean()
            perceptual = self.perceptual_distance(x, made)
            rec = l1 + self.perceptual_weight * perceptual
            loss = rec + q.codebook + q.commitment
            values = {
                "loss/l1": l1,
                "loss/perceptual": perceptual,
                "loss/codebook": q.codebook,
                "loss/commitment": q.commitment,
            }
            if adversarial:
                gan = self.objective.g_loss(self.discriminator(made))
                weight = (
                    adaptive_weight(rec, gan, self.decoder.last_layer)
                    if self.adaptive
                    else gan.new_ones(())
                )
                loss = loss + self.disc_weight * weight * gan
                values.update({"loss/g_gan": gan, "adaptive_weight": weight})
            self.record(**{"loss/ae": loss}, **values, batch_codes=q.indices)
            self.update("autoencoder", loss, closes_iteration=not adversarial)
        return made.detach()

    def scalars(self) -> dict[str, Tensor]:
        """The recorded losses, and the batch's codebook usage and perplexity (derived here,
        every ``log_every``, from the last batch's codes, not on every step)."""
        scalars = super().scalars()
        codes = self.stats.get("batch_codes")
        if codes is not None:
            stats = code_statistics(codes, self.quantizer.num_codes)
            scalars.update((f"codebook/{k}_batch", v) for k, v in stats.items())
        return scalars

    def discriminator_step(self, x: Tensor, made: Tensor) -> None:
        with self.playing("discriminator"):
            real, fake = self.discriminator(x), self.discriminator(made)
            loss = self.objective.d_loss(real, fake)
            self.record(**{"loss/d": loss}, d_real=real.mean(), d_fake=fake.mean())
            self.update("discriminator", loss, closes_iteration=True)

    def generate(
        self,
        n: int,
        *,
        labels: Tensor | None,
        inputs: Tensor | None,
        generator: torch.Generator,
        ema: bool,
    ) -> Tensor:
        """Reconstructions of ``inputs`` (images), or of the held images."""
        if inputs is None:
            inputs = self.held_images(n)
        return self.reconstruct(inputs.to(self.device)).clamp(-1, 1)

    def check_fits(self, shape: tuple[int, ...]) -> None:
        """The reconstructions have the data's shape and the discriminator takes them."""
        probe = torch.zeros(2, *shape, device=self.device)
        made = self.sample(2, inputs=probe)
        if tuple(made.shape[1:]) != tuple(shape):
            raise ConfigError(
                f"model={self.name} reconstructs images of shape {tuple(made.shape[1:])} but the "
                f"data has {tuple(shape)} (check model.encoder/decoder against data.image_size/"
                "channels)"
            )
        try:
            with torch.no_grad():
                self.discriminator.eval()
                self.discriminator(made)
        except RuntimeError as exc:
            raise ConfigError(
                f"model.discriminator cannot judge {shape[-1]}x{shape[-1]} images: use fewer "
                "layers (model.discriminator.n_layers) or a larger data.image_size"
            ) from exc
        finally:
            self.discriminator.train()
