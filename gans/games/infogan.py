"""InfoGAN (Chen et al. 2016): a GAN whose generator also maximises a variational lower bound on
the mutual information between latent codes c and its samples, estimated by a head Q on the
discriminator's features."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gans.errors import ConfigError
from gans.games.abilities import HasCodes, Traverses
from gans.games.gan import GANGame
from gans.losses import Objective
from gans.prior import CodePrior


def gaussian_nll(mean: Tensor, target: Tensor, var: Tensor, eps: float = 1e-6) -> Tensor:
    """-log N(target; mean, var) per element: 1/2 (log var + (target - mean)^2 / var) +
    1/2 log 2 pi, var clamped at ``eps`` without a gradient through the clamp: the arithmetic of
    ``F.gaussian_nll_loss(..., full=True, reduction="none")`` without its check for negative
    variances, which reads a value on the host (a GPU sync each step; here var = exp(log var))."""
    var = var.clone()
    with torch.no_grad():
        var.clamp_(min=eps)
    return 0.5 * (torch.log(var) + (mean - target) ** 2 / var) + 0.5 * math.log(2 * math.pi)


def info_loss(
    logits: Sequence[Tensor],
    categorical: Tensor,
    mean: Tensor,
    log_var: Tensor,
    continuous: Tensor,
    categorical_weight: float = 1.0,
    continuous_weight: float = 1.0,
) -> tuple[Tensor, Tensor, Tensor]:
    """(L_I, cross-entropy, Gaussian NLL): L_I = lambda_cat * sum_k CE(Q_k(x), c_k) +
    lambda_cont * E[-log N(c_cont; mu(x), diag(sigma^2(x)))], the NLL summed over the continuous
    codes. -L_I + H(c) is the lower bound L_I(G, Q) of Chen et al. 2016, Eq. 4, for Q's
    factorised posterior: both players minimise L_I (Eq. 5 subtracts lambda L_I)."""
    zero = mean.new_zeros(())
    ce = sum((F.cross_entropy(q, categorical[:, i]) for i, q in enumerate(logits)), zero)
    nll = zero
    if continuous.shape[1]:
        per_code = gaussian_nll(mean, continuous, log_var.exp())
        nll = per_code.sum(1).mean()
    return categorical_weight * ce + continuous_weight * nll, ce, nll


class InfoGANGame(Traverses, HasCodes, GANGame):
    """The GAN game with a Q head on D's body features: D's step adds L_I (its body and Q learn
    to recover the codes from G's samples), G's step adds L_I (G makes its codes recoverable);
    Q has its own optimizer (``optimizer.q``) and steps with D.

    Args:
        generator, discriminator, objective, optimizer: as :class:`GANGame`; ``discriminator``
            has ``body`` (shared features) and ``head`` (D's logit).
        q: maps D's body features to (categorical logits, continuous means, log-variances).
        latent: ``{"dim", "prior", "categorical", "continuous"}``: the noise and the codes
            (:class:`gans.prior.CodePrior`).
        categorical_weight: lambda for the categorical codes (Chen et al. 2016: 1).
        continuous_weight: lambda for the continuous codes (the authors' code: 1; ports: 0.1).
        Other keywords: :class:`GANGame`'s (n_critic, n_gen, the plumbing).
    """

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        q: nn.Module,
        objective: Objective,
        optimizer: Mapping[str, Any],
        latent: Mapping[str, Any],
        *,
        categorical_weight: float = 1.0,
        continuous_weight: float = 1.0,
        **kwargs: Any,
    ) -> None:
        for key, default in (("updates", "alternating"), ("pack", 1), ("num_classes", 0)):
            if kwargs.get(key, default) != default:
                raise ConfigError(
                    f"model.{key} must be {default} for InfoGAN (unconditional, alternating "
                    "updates, unpacked)"
                )
        kwargs.setdefault("name", "infogan")
        super().__init__(
            generator, discriminator, objective, optimizer, latent, others={"q": q}, **kwargs
        )
        self.q: nn.Module
        self.prior = CodePrior(  # type: ignore[assignment]
            latent["dim"],
            latent.get("prior", "uniform"),
            latent.get("categorical", ()),
            latent.get("continuous", 0),
        )
        if not hasattr(discriminator, "body") or not hasattr(discriminator, "head"):
            raise ConfigError(
                "model.discriminator must have a `body` (features Q shares) and a `head`: "
                "use gans.nets.infogan.Discriminator"
            )
        made = getattr(generator, "latent_dim", self.prior.dim)
        if made != self.prior.dim:
            raise ConfigError(
                f"model.generator.latent_dim={made} but the latent is {self.prior.dim}-d "
                f"({self.prior}): set it to {self.prior.dim}"
            )
        self.categorical_weight = float(categorical_weight)
        #: H(c) of the uniform categorical codes: sum_k log K_k
        self.code_entropy = sum(math.log(k) for k in self.prior.categorical)
        self.continuous_weight = float(continuous_weight)
        for term in self.terms:
            if term.lazy or getattr(term, "joint", False) or term.player != "discriminator":
                raise ConfigError(
                    f"regularizer.{term.name}: InfoGAN takes discriminator terms folded into its "
                    "D step (e.g. regularizer=r1), not lazy, joint or generator terms"
                )

    def mutual_information_loss(
        self, features: Tensor, categorical: Tensor, continuous: Tensor
    ) -> Tensor:
        """L_I of Q(features) for the codes that made the samples; records its parts."""
        logits, mean, log_var = self.q(features)
        loss, ce, nll = info_loss(
            logits, categorical, mean, log_var, continuous,
            self.categorical_weight, self.continuous_weight,
        )  # fmt: skip
        entropy = self.code_entropy
        self.record(
            **{"loss/info": loss, "info/cross_entropy": ce, "info/gaussian_nll": nll,
               "info/mi_categorical": entropy - ce}
        )  # fmt: skip
        return loss

    def discriminator_step(self, x: Tensor, y: Tensor | None) -> None:
        """Dmain: D and Q step together on objective.d(D(x), D(G(z, c))) + L_I(Q, c)."""
        with torch.no_grad():
            noise, categorical, continuous = self.prior.draw(x.shape[0], self.device)
            fake = self.generator(self.prior.compose(noise, categorical, continuous))
        body, head = self.discriminator.body, self.discriminator.head
        fake_features = body(fake)
        real_out, fake_out = head(body(x)).squeeze(1), head(fake_features).squeeze(1)
        adversarial = self.objective.d_loss(real_out, fake_out)
        info = self.mutual_information_loss(fake_features, categorical, continuous)
        self.note_loss("q", info)
        stats = {"loss/d": adversarial, "D(x)": real_out, "D(G(z))": fake_out}
        loss = self.fold_terms(adversarial + info, stats, x, fake, None, real_out, fake_out)
        self.update(("q", "discriminator"), loss)
        self.record(**stats)

    def generator_step(self, x: Tensor, y: Tensor | None, closes: bool) -> None:
        """Gmain: G steps on objective.g(D(G(z, c))) + L_I(Q, c)."""
        with self.playing("generator"):
            noise, categorical, continuous = self.prior.draw(x.shape[0], self.device)
            features = self.discriminator.body(
                self.generator(self.prior.compose(noise, categorical, continuous))
            )
            adversarial = self.objective.g_loss(self.discriminator.head(features).squeeze(1))
            self.stats["loss/g"] = adversarial.detach()
            loss = adversarial + self.mutual_information_loss(features, categorical, continuous)
            self.update("generator", loss, closes_iteration=closes)

    def scalars(self) -> dict[str, Tensor]:
        """The GAN's scalars and the information term's parts."""
        scalars = super().scalars()
        scalars.update((k, v) for k, v in self.stats.items() if k.startswith(("info", "loss/info")))
        return scalars

    @torch.no_grad()
    def traversal(self, steps: int = 9, span: float = 2.0) -> Tensor:
        """For each continuous code j, a block of rows, one per value of the first categorical
        code, and ``steps`` columns sweeping c_j over [-span, span]; the noise (one draw, the
        sampling generator's) and the other codes (0) fixed: (#cont * K * steps, C, H, W)."""
        prior = self.prior
        if not prior.categorical:
            raise ConfigError("model.latent.categorical is empty: no InfoGAN traversal")
        k = prior.categorical[0]
        generator = torch.Generator().manual_seed(0)
        noise = prior.noise.sample(1, generator=generator).expand(k * steps, -1)
        values = torch.arange(k).repeat_interleave(steps)
        categorical = torch.zeros(k * steps, len(prior.categorical), dtype=torch.long)
        categorical[:, 0] = values
        blocks = []
        for j in range(max(prior.continuous, 1)):
            continuous = torch.zeros(k * steps, prior.continuous)
            if prior.continuous:
                continuous[:, j] = torch.linspace(-span, span, steps).repeat(k)
            blocks.append(prior.compose(noise, categorical, continuous))
        z = torch.cat(blocks)
        return self.sample(z.shape[0], inputs=z)

    def coded_samples(self, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor, Tensor]:
        """(samples, categorical codes, continuous codes) of ``n`` draws from the prior."""
        noise, categorical, continuous = self.prior.draw(n, generator.device, generator)
        z = self.prior.compose(noise, categorical, continuous)
        return self.sample(n, inputs=z), categorical, continuous
