"""ACGAN: the auxiliary-classifier GAN (Odena, Olah & Shlens 2017, "Conditional Image Synthesis
with Auxiliary Classifier GANs", Sec. 3).

G makes x = G(z, c); D, unconditioned, gives an adversarial logit and class logits on every
sample. With L_S the adversarial objective, D minimises L_S^D + w L_C^D and G minimises
L_S^G + w L_C^G, the class losses of :mod:`gans.auxiliary`: the paper's (``auxiliary=acgan``: D's
classifier on real and generated samples), ACGAN-Mod (``mod``: real only), TAC-GAN (``tac``: a twin
classifier of generated samples) or ADC-GAN (``adc``: 2K classes). ``class_weight`` w = 1 as in the
paper and StudioGAN's ACGAN. Class logits go to ``cross_entropy`` raw: a softmax in front of it
(a common slip) would squash the gradient.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from gans.auxiliary import HEADS, KINDS, d_class_loss, g_class_loss
from gans.errors import ConfigError
from gans.games.gan import GANGame


class ACGANGame(GANGame):
    """A conditional :class:`GANGame` whose D has a class head (``judge_and_classify``).

    Args:
        class_weight: w, the class loss's weight in both players' losses.
        auxiliary: which class losses (:data:`gans.auxiliary.KINDS`); ``tac`` and ``adc`` need a
            head of 2K logits (``model.discriminator.aux_heads=2``).
        Everything else as :class:`GANGame`; ``num_classes`` must be > 0.
    """

    def __init__(
        self, *args: Any, class_weight: float = 1.0, auxiliary: str = "acgan", **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if auxiliary not in KINDS:
            raise ConfigError(
                f"model.auxiliary={auxiliary} is unknown; allowed: {', '.join(KINDS)}"
            )
        if not self.conditional:
            raise ConfigError(
                "model=acgan needs labels: model.num_classes must be > 0 (${data.num_classes})"
            )
        if not hasattr(self.discriminator, "judge_and_classify"):
            raise ConfigError("model=acgan needs a discriminator with a class head (aux_classes)")
        if self.simultaneous:
            raise ConfigError("model=acgan supports model.updates=alternating only")
        if self.matching_aware:
            raise ConfigError(
                "model.matching_aware=true: ACGAN's D takes no label (its class head classifies); "
                "use model.auxiliary=tac or adc"
            )
        if any(t.joint or t.lazy for t in self.terms):
            raise ConfigError("model=acgan folds D regularizers into its D step: no joint or lazy")
        head = self.discriminator.classifier
        width = self.num_classes * HEADS[auxiliary]
        if head is not None and head.weight.shape[0] != width:
            raise ConfigError(
                f"model.auxiliary={auxiliary} needs {width} class logits ({HEADS[auxiliary]} per "
                f"class) but D's head gives {head.weight.shape[0]}: set "
                f"model.discriminator.aux_heads={HEADS[auxiliary]}"
            )
        self.class_weight = float(class_weight)
        self.auxiliary = auxiliary

    def d_condition(self, y: Tensor | None) -> Tensor | None:
        return None  # ACGAN's D sees only the sample; the class is what it must predict

    def judge_and_classify(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return self.discriminator.judge_and_classify(self.perturb(x))

    def discriminator_loss(
        self, x: Tensor, fake: Tensor, y: Tensor | None
    ) -> tuple[Tensor, Tensor, dict[str, Tensor]]:
        """L_S^D + w L_C^D (:func:`gans.auxiliary.d_class_loss`) + D's folded regularizers."""
        assert y is not None
        real_out, real_cls = self.judge_and_classify(x)
        fake_out, fake_cls = self.judge_and_classify(fake)
        adversarial = self.objective.d_loss(real_out, fake_out)
        k = self.num_classes
        class_loss = d_class_loss(self.auxiliary, real_cls, fake_cls, y, k)
        loss = adversarial + self.class_weight * class_loss
        stats = {
            "loss/d": loss.detach(),
            "loss/d_adversarial": adversarial.detach(),
            "loss/d_class": class_loss.detach(),
            "accuracy/real": (real_cls[:, :k].argmax(1) == y).float().mean().detach(),
            "D(x)": real_out.detach(),
            "D(G(z))": fake_out.detach(),
        }
        loss = self.fold_terms(loss, stats, x, fake, y, real_out, fake_out)
        return loss, fake_out, stats

    def generator_step(self, x: Tensor, y: Tensor | None, closes: bool) -> None:
        """Gmain: L_S^G(D(G(z, y))) + w L_C^G (:func:`gans.auxiliary.g_class_loss`)."""
        assert y is not None
        with self.playing("generator"):
            out, cls = self.judge_and_classify(self.fake(x.shape[0], y))
            adversarial = self.objective.g_loss(out)
            class_loss = g_class_loss(self.auxiliary, cls, y, self.num_classes)
            loss = adversarial + self.class_weight * class_loss
            self.stats["loss/g"] = loss.detach()
            self.stats["loss/g_adversarial"] = adversarial.detach()
            self.stats["loss/g_class"] = class_loss.detach()
            hit = cls[:, : self.num_classes].argmax(1) == y
            self.stats["accuracy/fake"] = hit.float().mean().detach()
            self.update("generator", self.add_generator_terms(loss), closes_iteration=closes)

    def scalars(self) -> dict[str, Tensor]:
        scalars = super().scalars()
        extra = ("loss/", "accuracy/")
        scalars.update((k, v) for k, v in self.stats.items() if k.startswith(extra))
        return scalars
