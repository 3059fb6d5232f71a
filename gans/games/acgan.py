"""ACGAN: the auxiliary-classifier GAN (Odena, Olah & Shlens 2017, "Conditional Image Synthesis
with Auxiliary Classifier GANs", Sec. 3).

G makes x = G(z, c); D, unconditioned, gives an adversarial logit and class logits on every
sample. With L_S the adversarial objective and L_C = CE(class logits, c), D minimises
L_S^D + w (L_C(real) + L_C(fake)) and G minimises L_S^G + w L_C(fake): both players want
generated samples classified as the class they were asked for. ``class_weight`` w = 1 as in
the paper and StudioGAN's ACGAN. Class logits go to ``cross_entropy`` raw: a softmax in front
of it (a common slip) would squash the gradient.
"""

from __future__ import annotations

from typing import Any

import torch.nn.functional as F
from torch import Tensor

from gans.errors import ConfigError
from gans.games.gan import GANGame


class ACGANGame(GANGame):
    """A conditional :class:`GANGame` whose D has a class head (``judge_and_classify``).

    Args:
        class_weight: w, the class loss's weight in both players' losses.
        Everything else as :class:`GANGame`; ``num_classes`` must be > 0.
    """

    def __init__(self, *args: Any, class_weight: float = 1.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.conditional:
            raise ConfigError(
                "model=acgan needs labels: model.num_classes must be > 0 (${data.num_classes})"
            )
        if not hasattr(self.discriminator, "judge_and_classify"):
            raise ConfigError("model=acgan needs a discriminator with a class head (aux_classes)")
        if self.simultaneous:
            raise ConfigError("model=acgan supports model.updates=alternating only")
        if any(t.joint or t.lazy for t in self.terms):
            raise ConfigError("model=acgan folds D regularizers into its D step: no joint or lazy")
        self.class_weight = float(class_weight)

    def d_condition(self, y: Tensor | None) -> Tensor | None:
        return None  # ACGAN's D sees only the sample; the class is what it must predict

    def judge_and_classify(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return self.discriminator.judge_and_classify(self.perturb(x))

    def discriminator_loss(
        self, x: Tensor, fake: Tensor, y: Tensor | None
    ) -> tuple[Tensor, Tensor, dict[str, Tensor]]:
        """L_S^D + w (CE(D_cls(x), y) + CE(D_cls(G(z, y)), y)) + D's folded regularizers."""
        assert y is not None
        real_out, real_cls = self.judge_and_classify(x)
        fake_out, fake_cls = self.judge_and_classify(fake)
        adversarial = self.objective.d_loss(real_out, fake_out)
        class_real = F.cross_entropy(real_cls, y)
        class_fake = F.cross_entropy(fake_cls, y)
        loss = adversarial + self.class_weight * (class_real + class_fake)
        stats = {
            "loss/d": loss.detach(),
            "loss/d_adversarial": adversarial.detach(),
            "loss/class_real": class_real.detach(),
            "loss/class_fake": class_fake.detach(),
            "accuracy/real": (real_cls.argmax(1) == y).float().mean().detach(),
            "D(x)": real_out.detach(),
            "D(G(z))": fake_out.detach(),
        }
        loss = self.fold_terms(loss, stats, x, fake, y, real_out, fake_out)
        return loss, fake_out, stats

    def generator_step(self, x: Tensor, y: Tensor | None, closes: bool) -> None:
        """Gmain: L_S^G(D(G(z, y))) + w CE(D_cls(G(z, y)), y)."""
        assert y is not None
        with self.playing("generator"):
            out, cls = self.judge_and_classify(self.fake(x.shape[0], y))
            adversarial = self.objective.g_loss(out)
            class_loss = F.cross_entropy(cls, y)
            loss = adversarial + self.class_weight * class_loss
            self.stats["loss/g"] = loss.detach()
            self.stats["loss/g_adversarial"] = adversarial.detach()
            self.stats["accuracy/fake"] = (cls.argmax(1) == y).float().mean().detach()
            self.update("generator", self.add_generator_terms(loss), closes_iteration=closes)

    def scalars(self) -> dict[str, Tensor]:
        scalars = super().scalars()
        extra = ("loss/", "accuracy/")
        scalars.update((k, v) for k, v in self.stats.items() if k.startswith(extra))
        return scalars
