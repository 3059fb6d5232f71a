"""The GAN family: a generator against a discriminator on (optionally labelled) samples.

One iteration is ``critic_steps(i)`` discriminator steps (one per batch) followed by ``n_gen``
generator steps; every variant of the family (vanilla GAN, DCGAN, WGAN, WGAN-GP, LSGAN, SNGAN, R1,
PacGAN, conditional, simultaneous updates, the Dirac-GAN) is a config of this one game.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from gans.batches import Batch
from gans.errors import ConfigError
from gans.games.base import Game
from gans.losses import Objective, matching_aware_d_loss, mode_seeking_loss
from gans.nets.modes import evaluating
from gans.nets.pack import pack as pack_samples
from gans.prior import LatentPrior
from gans.regularizers import Regularizer

UPDATES = ("alternating", "simultaneous")


def check_rules(
    n_critic: Any = 1, n_gen: Any = 1, updates: Any = "alternating", pack: Any = 1
) -> None:
    """Raise a ConfigError naming the first of the family's iteration settings that cannot work:
    ``model.n_critic``, ``model.n_gen`` and ``model.pack`` integers >= 1, ``model.updates`` one
    of :data:`UPDATES`. The one statement of these rules: the game checks them when built, and
    :func:`gans.validate.validate` before the data are loaded."""
    for key, value in (("model.n_critic", n_critic), ("model.n_gen", n_gen), ("model.pack", pack)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"{key}={value} must be an integer >= 1")
    if updates not in UPDATES:
        raise ConfigError(f"model.updates={updates} is unknown; allowed: {', '.join(UPDATES)}")


class GANGame(Game):
    """Unconditional or class-conditional GAN; D steps on every batch, G steps every n_critic-th.

    Args:
        generator: maps (z, y or None) to a sample.
        discriminator: maps (x, y or None) to one logit (or critic value) per sample.
        objective: maps logits to the two losses (``gans.losses``).
        optimizer: the ``optimizer`` group (see :class:`~gans.games.base.Game`).
        latent: ``{"dim", "prior"}``: the latent distribution p(z).
        name: the variant's name (``model.name``).
        n_critic: discriminator steps per generator iteration (the notes' N_disc).
        n_gen: generator steps per iteration (the notes' "update the generator 2x more").
        updates: ``alternating`` (D then G) or ``simultaneous``: both players step from
            gradients taken at the same parameters (the last D step of an iteration and the
            first G step share one evaluation; Mescheder et al. 2017, the notes' "Numerics of
            GANs"). Simultaneous gradients come from ``torch.autograd.grad``, so that mode runs
            in the module's own precision (no loss scaling).
        pack: PacGAN's packing degree m (Lin et al. 2018): D judges m samples concatenated
            (:meth:`judge`), and gradient penalties see packed inputs too; 1 = off.
        num_classes: > 0 feeds the batch labels to both networks.
        conditional: the variant is class-conditional by design (cGAN, ACGAN, SAGAN, BigGAN):
            ``num_classes`` must then be >= 2.
        matching_aware: a conditional D also learns that real images with a wrong label are
            fake (GAN-CLS, Reed et al. 2016: :func:`gans.losses.matching_aware_d_loss`; the
            label is another class drawn uniformly); False = the plain D loss.
        mode_seeking: MSGAN's weight lambda_ms (Mao et al. 2019): each G step draws two latents per
            label and adds lambda_ms times :func:`gans.losses.mode_seeking_loss` to the mean of
            their adversarial losses (MSGAN's code: 1 beside the sum of the two, i.e. 0.5 here);
            0 = off.
        critic_boost: WGAN's schedule (Arjovsky et al. 2017, reference code): ``steps`` critic
            iterations before each of the first ``first`` generator iterations and every
            ``every``-th one; None or steps = 0 turns it off.
        terms: the discriminator's regularizers (``gans.regularizers``); folded into the D step,
            or (``lazy=true``) a separate ``Dreg`` phase every ``every`` D steps.
        augment: a differentiable augmentation (``augment=``: DiffAugment, ADA) applied to every
            batch D sees in training, real and generated, in both players' steps and in the
            regularizers' evaluations of D; None = off.
        ema, log_every, check_finite_every, seed: the plumbing's (:class:`Game`).
        others: further players a variant adds, each with its optimizer (InfoGAN's Q head).
    """

    sampled = ("generator",)
    #: whether the game runs separate lazy generator terms (StyleGAN2's Greg phase)
    lazy_generator_terms = False

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        objective: Objective,
        optimizer: Mapping[str, Any],
        latent: Mapping[str, Any],
        *,
        name: str = "gan",
        n_critic: int = 1,
        n_gen: int = 1,
        updates: str = "alternating",
        pack: int = 1,
        num_classes: int = 0,
        conditional: bool = False,
        matching_aware: bool = False,
        mode_seeking: float = 0.0,
        critic_boost: Mapping[str, int] | None = None,
        terms: Mapping[str, Any] | Sequence[Any] | None = None,
        ema: Mapping[str, Any] | None = None,
        log_every: int = 50,
        check_finite_every: int = 1,
        seed: int = 0,
        others: Mapping[str, nn.Module] | None = None,
        augment: nn.Module | None = None,
    ) -> None:
        check_rules(n_critic, n_gen, updates, pack)
        others = dict(others or {})
        super().__init__(
            {"generator": generator, "discriminator": discriminator, **others},
            optimizer,
            stepped=("discriminator", "generator", *others),
            terms=terms,
            ema=ema,
            averaged=("generator",),
            tags={"generator": "g", "discriminator": "d"},
            log_every=log_every,
            check_finite_every=check_finite_every,
            seed=seed,
        )
        self.generator: nn.Module
        self.discriminator: nn.Module
        self.name = str(name)
        self.objective = objective
        self.prior = LatentPrior(latent["dim"], latent.get("prior", "normal"))
        self.n_critic = int(n_critic)
        self.n_gen = int(n_gen)
        self.simultaneous = updates == "simultaneous"
        self.num_classes = int(num_classes or 0)
        if conditional and self.num_classes < 2:
            raise ConfigError(
                f"model={name} is class-conditional: model.num_classes={num_classes} must be the "
                "data's number of classes (>= 2)"
            )
        self.conditional = self.num_classes > 0
        self.matching_aware = bool(matching_aware)
        if self.matching_aware and not self.conditional:
            raise ConfigError(
                "model.matching_aware=true needs a class-conditional D: set model.num_classes "
                "(labelled data) or use a conditional model (model=cgan, model=cdcgan)"
            )
        self.critic_boost = dict(critic_boost or {})
        self.pack = int(pack)
        self.augment = augment
        if augment is not None and self.pack > 1:
            raise ConfigError(
                f"augment with model.pack={self.pack}: augmentations act on single images; "
                "use model.pack=1 or augment=none"
            )
        self.mode_seeking = float(mode_seeking)
        if self.mode_seeking and self.simultaneous:
            raise ConfigError("model.mode_seeking needs model.updates=alternating")
        if self.mode_seeking and type(self).generator_step is not GANGame.generator_step:
            raise ConfigError(
                f"model.mode_seeking: model={self.name} has its own generator step, which does "
                "not add the mode-seeking term"
            )
        self._check_terms()
        self.d_steps_this_iteration = 0
        self.d_steps_total = 0

    def capture_refusal(self) -> str | None:
        """Why one batch of this game cannot be replayed as a CUDA graph: an iteration of several
        batches, a regularizer with a double backward or on some steps only, an augmentation
        (ADA moves its probability on the host), or None when one can."""
        if self.n_critic > 1 or self.critic_boost.get("steps", 0):
            return (
                f"one iteration spans several batches (model.n_critic={self.n_critic}"
                f"{', model.critic_boost' if self.critic_boost.get('steps', 0) else ''}); "
                "one batch is recorded"
            )
        for term in self.terms:
            if term.double_backward:
                return (
                    f"regularizer.{term.name} differentiates through a gradient (a double "
                    "backward), which is not recorded here"
                )
            if term.lazy or term.every > 1:
                return (
                    f"regularizer.{term.name} runs on some steps only (every={term.every}), a "
                    "choice the host makes between iterations"
                )
        if self.augment is not None:
            return (
                f"augment ({type(self.augment).__name__}) is not recorded: ADA adjusts its "
                "probability on the host between iterations"
            )
        return None

    @property
    def regularizers(self) -> list[Regularizer]:
        """The discriminator's terms."""
        return list(self.terms)

    def _check_terms(self) -> None:
        for term in self.terms:
            if not isinstance(term, Regularizer):
                raise ConfigError(
                    f"regularizer.{term.name} is not a discriminator regularizer "
                    "(gans.regularizers)"
                )
            separate_g = term.player == "generator" and term.lazy and self.lazy_generator_terms
            if term.player == "generator" and not (term.kind == "generator_penalty" or separate_g):
                raise ConfigError(
                    f"regularizer.{term.name} is a term of a style-based generator's own phase "
                    f"(model=stylegan2); model={self.name} has none"
                    if term.kind == "path_penalty"
                    else f"regularizer.{term.name}: a generator term needs a penalty"
                )
            if term.lazy and (term.joint or (term.player != "discriminator" and not separate_g)):
                raise ConfigError(f"regularizer.{term.name}.lazy=true: only D terms can be lazy")
        if self.pack == 1:
            return
        if self.conditional:
            raise ConfigError(
                f"model.pack={self.pack} with model.num_classes > 0: a packed discriminator has no "
                "single label per input; packing is for unconditional models"
            )
        joint = [r.name for r in self.regularizers if r.joint]
        if joint:
            raise ConfigError(
                f"model.pack={self.pack} cannot run regularizer.{joint[0]}, which evaluates D "
                "on unpacked samples; use model.pack=1"
            )

    # ------------------------------------------------------------------ one batch of the game
    def play(self, batch: Batch) -> bool:
        x = batch.real
        y = batch.y if self.conditional else None
        last_d_step = self.d_steps_this_iteration + 1 >= self.critic_steps(self.iteration)
        g_steps = self.n_gen
        if self.simultaneous and last_d_step:
            self.phase("DGmain", self.simultaneous_step, x, y, closes=self.n_gen == 1)
            g_steps -= 1
        else:
            self.phase("Dmain", self.discriminator_step, x, y)
        if "discriminator" in self.lazy_every:
            every = self.lazy_every["discriminator"]
            self.phase("Dreg", self.discriminator_reg_step, x, y, every=every)
        if not last_d_step:
            self.d_steps_this_iteration += 1
            return False
        self.d_steps_this_iteration = 0
        for k in range(g_steps):
            self.phase("Gmain", self.generator_step, x, y, closes=k == g_steps - 1)
        return True

    def critic_steps(self, iteration: int) -> int:
        """Discriminator steps before generator iteration ``iteration + 1``."""
        boost = self.critic_boost
        if boost.get("steps", 0) and (
            iteration < boost.get("first", 25) or iteration % boost.get("every", 500) == 0
        ):
            return int(boost["steps"])
        return self.n_critic

    def fake(self, n: int, y: Tensor | None) -> Tensor:
        """G(z[, y]) for a fresh z ~ p(z) from the training random stream."""
        return self.generator(self.prior.sample(n, self.device), y)

    def judge(self, x: Tensor, y: Tensor | None) -> Tensor:
        """D's output on a batch as D sees it: perturbed (instance noise) and packed, one value
        per ``pack`` samples."""
        return self.discriminator(pack_samples(self.perturb(x), self.pack), self.d_condition(y))

    def d_condition(self, y: Tensor | None) -> Tensor | None:
        """The label D takes with a sample: the class for a projection or concat D."""
        return y

    def perturb(self, x: Tensor) -> Tensor:
        """What D sees of a real or generated batch (instance noise, when configured)."""
        for reg in self.terms_of("discriminator"):
            if reg.kind == "perturb":
                x = reg.perturb(x)
        if self.augment is not None and self.discriminator.training:
            x = self.augment(x)
        return x

    def critic(self, x: Tensor, y: Tensor | None) -> Tensor:
        """D(x, y) on the batch as D sees it in training (augmented): what gradient penalties
        differentiate, so that R1 and WGAN-GP take gradients through the augmentation."""
        return self.discriminator(self.perturb(x), y)

    def discriminator_loss(
        self, x: Tensor, fake: Tensor, y: Tensor | None
    ) -> tuple[Tensor, Tensor, dict[str, Tensor]]:
        """objective.d(D(x), D(G(z))) + the folded regularizers' terms (each on every
        ``every``-th D step, times ``every``); returns (loss, D(G(z)), stats)."""
        real_out = self.judge(x, y)
        fake_out = self.judge(fake, y)
        stats = {"D(x)": real_out.detach(), "D(G(z))": fake_out.detach()}
        if self.matching_aware and y is not None:
            other = (y + torch.randint_like(y, 1, self.num_classes)) % self.num_classes
            mismatched = self.judge(x, other)
            loss = matching_aware_d_loss(self.objective, real_out, fake_out, mismatched)
            stats["D(x, wrong y)"] = mismatched.detach()
        else:
            loss = self.objective.d_loss(real_out, fake_out)
        stats["loss/d"] = loss.detach()
        loss = self.fold_terms(loss, stats, x, fake, y, real_out, fake_out)
        if self.augment is not None:
            self.augment.observe(real_out, self.d_steps_total)
        return loss, fake_out, stats

    def fold_terms(
        self,
        loss: Tensor,
        stats: dict[str, Tensor],
        x: Tensor,
        fake: Tensor,
        y: Tensor | None,
        real_out: Tensor,
        fake_out: Tensor,
    ) -> Tensor:
        """``loss`` plus the due, non-lazy D regularizers (each times its ``every``); counts the
        D step."""
        self.d_steps_total += 1
        for reg in self.terms_of("discriminator"):
            if reg.lazy or reg.kind not in ("penalty", "joint_penalty"):
                continue
            if not reg.due(self.d_steps_total):
                continue
            if reg.joint:
                term = self._joint_penalty(reg, x, y)
            else:
                term = self._penalty(reg, x, fake, y, real_out, fake_out)
            if term is not None:
                loss = loss + reg.every * term
                stats[f"reg/{reg.name}"] = term.detach()
        return loss

    def _penalty(
        self,
        reg: Regularizer,
        x: Tensor,
        fake: Tensor | None,
        y: Tensor | None,
        real_out: Tensor | None,
        fake_out: Tensor | None,
    ) -> Tensor | None:
        """A D regularizer's term on the batch as D sees it (packed)."""
        pack = self.pack
        return reg.penalty(
            self.critic if self.augment is not None else self.discriminator,
            pack_samples(x, pack),
            None if fake is None else pack_samples(fake, pack),
            self.d_condition(y),
            real_out,
            fake_out,
        )

    def _joint_penalty(self, reg: Regularizer, x: Tensor, y: Tensor | None) -> Tensor:
        z = self.prior.sample(x.shape[0], self.device)
        return reg.joint_penalty(self.generator, self.discriminator, self.objective, x, z, y)

    def add_joint_terms(self, g_loss: Tensor, x: Tensor, y: Tensor | None) -> Tensor:
        """g_loss plus the terms that need both players' gradients (consensus), if any."""
        for reg in self.terms:
            if reg.joint:
                g_loss = g_loss + self._joint_penalty(reg, x, y)
        return g_loss

    def add_generator_terms(self, g_loss: Tensor) -> Tensor:
        """g_loss plus G's own regularizers (BigGAN's orthogonal regularization), logged."""
        for term in self.terms_of("generator", lazy=False):
            if term.kind != "generator_penalty":
                continue
            value = term.generator_penalty(self.generator)
            self.stats[f"reg/{term.name}"] = value.detach()
            g_loss = g_loss + value
        return g_loss

    def discriminator_step(self, x: Tensor, y: Tensor | None) -> None:
        """Dmain: one step on the discriminator loss with G(z) held fixed."""
        with self.playing("discriminator"):
            with torch.no_grad():
                fake = self.fake(x.shape[0], y)
            loss, _, stats = self.discriminator_loss(x, fake, y)
            self.update("discriminator", loss)
        self.stats.update(stats)

    def discriminator_reg_step(self, x: Tensor, y: Tensor | None) -> None:
        """Dreg: the separate lazy regularizers alone, times their interval, as their own step
        (StyleGAN2's lazy R1; the optimizer is corrected by :func:`gans.terms.lazy_correction`);
        G(z) and D's outputs are computed only when a lazy term reads them (R1 reads neither)."""
        lazy = self.terms_of("discriminator", lazy=True)
        with self.playing("discriminator"):
            fake = real_out = fake_out = None
            if any(reg.uses_fake or reg.uses_outputs for reg in lazy):
                with torch.no_grad():
                    fake = self.fake(x.shape[0], y)
            if any(reg.uses_outputs for reg in lazy):
                real_out, fake_out = self.judge(x, y), self.judge(fake, y)
            loss = None
            for reg in lazy:
                term = self._penalty(reg, x, fake, y, real_out, fake_out)
                if term is not None:
                    self.record(**{f"reg/{reg.name}": term})
                    loss = reg.every * term if loss is None else loss + reg.every * term
            if loss is not None:
                self.update("discriminator", loss)

    def generator_step(self, x: Tensor, y: Tensor | None, closes: bool) -> None:
        """Gmain: one step on g_loss = objective.g(D(G(z))) (+ joint terms such as consensus)."""
        with self.playing("generator"):
            if self.mode_seeking:
                loss = self.mode_seeking_g_loss(x.shape[0], y)
            else:
                loss = self.objective.g_loss(self.judge(self.fake(x.shape[0], y), y))
                self.stats["loss/g"] = loss.detach()
            loss = self.add_generator_terms(self.add_joint_terms(loss, x, y))
            self.update("generator", loss, closes_iteration=closes)

    def mode_seeking_g_loss(self, n: int, y: Tensor | None) -> Tensor:
        """MSGAN's G loss: the adversarial loss of G(z1, y) and G(z2, y) (one batch of 2n) plus
        lambda_ms times the mode-seeking term of the two halves."""
        z = self.prior.sample(2 * n, self.device)
        labels = None if y is None else y.repeat(2)
        fake = self.generator(z, labels)
        loss = self.objective.g_loss(self.judge(fake, labels))
        term = mode_seeking_loss(fake[:n], fake[n:], z[:n], z[n:])
        self.stats["loss/g"] = loss.detach()
        self.stats["reg/mode_seeking"] = term.detach()
        return loss + self.mode_seeking * term

    def simultaneous_step(self, x: Tensor, y: Tensor | None, closes: bool) -> None:
        """DGmain: both players' gradients at the same (theta, psi), then both steps (the notes'
        F_h = id + h v)."""
        fake = self.fake(x.shape[0], y)
        d_loss, fake_out, stats = self.discriminator_loss(x, fake, y)
        g_loss = self.objective.g_loss(fake_out)
        stats["loss/g"] = g_loss.detach()
        g_loss = self.add_generator_terms(self.add_joint_terms(g_loss, x, y))
        self.note_loss("discriminator", d_loss)
        self.note_loss("generator", g_loss)
        d_params = [p for p in self.discriminator.parameters() if p.requires_grad]
        g_params = [p for p in self.generator.parameters() if p.requires_grad]
        d_grads = torch.autograd.grad(d_loss, d_params, retain_graph=True)
        g_grads = torch.autograd.grad(g_loss, g_params)
        for params, grads in ((d_params, d_grads), (g_params, g_grads)):
            for p, g in zip(params, grads, strict=True):
                p.grad = g
        self.step("discriminator")
        self.step("generator", closes_iteration=closes)
        self.stats.update(stats)

    # ------------------------------------------------------------------ what the outside sees
    def generate(
        self,
        n: int,
        *,
        labels: Tensor | None,
        inputs: Tensor | None,
        generator: torch.Generator,
        ema: bool,
    ) -> Tensor:
        """G(z[, y]) for :meth:`sample_inputs`' z and y."""
        z, y = self.sample_inputs(n, labels, inputs, generator)
        return self.network("generator", ema)(z, y)

    def sample_inputs(
        self, n: int, labels: Tensor | None, inputs: Tensor | None, generator: torch.Generator
    ) -> tuple[Tensor, Tensor | None]:
        """(z, y) on the module's device: z ~ p(z) from ``generator`` unless ``inputs`` gives the
        latent vectors; for a conditional game, labels uniform over the classes (drawn after z)
        unless given, else None."""
        z = (
            inputs
            if inputs is not None
            else self.prior.sample(n, generator.device, generator=generator)
        )
        y = None
        if self.conditional:
            if labels is None:
                labels = torch.randint(
                    self.num_classes, (z.shape[0],), generator=generator, device=generator.device
                )
            y = labels.to(self.device)
        return z.to(self.device), y

    def check_fits(self, shape: tuple[int, ...]) -> None:
        """G's samples have the data's ``shape`` and D takes them (2 * ``pack`` samples)."""
        super().check_fits(shape)
        y = torch.zeros(2, dtype=torch.long, device=self.device) if self.conditional else None
        try:
            with torch.no_grad(), evaluating(self.discriminator):
                self.judge(torch.zeros(2 * self.pack, *shape, device=self.device), y)
        except RuntimeError as exc:
            raise ConfigError(
                f"model.discriminator cannot take samples of shape {tuple(shape)}: {exc}"
            ) from None

    def health_signals(self) -> Tensor | None:
        stats = self.stats
        if "loss/g" not in stats or not self.objective.probabilistic:
            return None
        return torch.stack(
            [
                stats["loss/d"].float(),
                stats["loss/g"].float(),
                torch.sigmoid(stats["D(x)"].float()).mean(),
                torch.sigmoid(stats["D(G(z))"].float()).mean(),
            ]
        )

    def scalars(self) -> dict[str, Tensor]:
        """Losses, mean D outputs (as probabilities for BCE objectives), the Wasserstein
        estimate for critics, regularizer values and gradient norms."""
        stats = self.stats
        scalars = {
            "loss/d": stats["loss/d"],
            "loss/g": stats["loss/g"],
            "D(x)": self.objective.score(stats["D(x)"]).mean(),
            "D(G(z))": self.objective.score(stats["D(G(z))"]).mean(),
        }
        if self.objective.estimates_distance:
            scalars["wasserstein_estimate"] = stats["D(x)"].mean() - stats["D(G(z))"].mean()
        scalars.update((k, v) for k, v in stats.items() if k.startswith(("reg/", "grad_norm/")))
        if self.augment is not None:
            scalars.update(self.augment.scalars())
        return scalars

    def game_state(self) -> dict[str, Any]:
        return {
            "d_steps_this_iteration": self.d_steps_this_iteration,
            "d_steps_total": self.d_steps_total,
        }

    def load_game_state(self, state: dict[str, Any]) -> None:
        self.d_steps_this_iteration = int(state.get("d_steps_this_iteration", 0))
        self.d_steps_total = int(state.get("d_steps_total", 0))
