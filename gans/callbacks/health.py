"""Training-health warnings from the notes' heuristics, logged and sent as W&B alerts."""

from __future__ import annotations

import logging
from typing import Any

import lightning as L
import torch
from lightning.pytorch.loggers import WandbLogger
from torch import Tensor

from gans.callbacks.periodic import EveryIterations
from gans.callbacks.samples import fixed_samples

log = logging.getLogger(__name__)

MESSAGES = {
    "discriminator_wins": (
        "the discriminator loss is about 0 ({d:.3f} < {d_floor}) while the generator loss is "
        "{g:.2f} > {g_rise}: the notes' failure mode (D wins, G stops learning). Lower the "
        "discriminator's learning rate, add a regularizer (R1, gradient penalty, instance noise) "
        "or use a non-saturating / Wasserstein objective"
    ),
    "vanishing_gradients": (
        "D(x) = {dx:.3f} and D(G(z)) = {dgz:.3f}: the discriminator separates real from fake "
        "completely, so the generator's gradients vanish (the notes' convergence failure)"
    ),
    "mode_collapse": (
        "the fixed-noise samples' mean pairwise distance is {ratio:.3f} of the real data's "
        "(< {ratio_floor}): the generator's samples have collapsed to few modes"
    ),
    "class_collapse": (
        "the samples of class {label} spread {ratio:.3f} of that class's real images' mean "
        "pairwise distance (< {ratio_floor}): within its classes the generator draws nearly one "
        "image each (for ACGAN a known failure that model.auxiliary=tac or adc counters; a "
        "spectrally normalised projection D, model=cdcgan, keeps its classes varied)"
    ),
    "ignored_labels": (
        "the classifier finds the class asked for in {accuracy:.0%} of the samples at the last "
        "two evaluations (< {floor:.0%}; chance {chance:.0%}): the generator ignores its labels"
    ),
}


def mean_pairwise_distance(x: Tensor) -> float:
    """Mean L2 distance between the distinct pairs of rows of ``x`` (flattened)."""
    flat = x.flatten(1).float()
    n = flat.shape[0]
    return float(torch.cdist(flat, flat).sum() / (n * (n - 1)))


class TrainingHealth(EveryIterations):
    """Every ``every`` generator iterations, check the three failure signs of the notes (lectures
    on GANs: "Monitoring the losses", "Convergence failures", "Mode collapse"):

    * ``discriminator_wins``: D loss below ``d_loss_floor`` while G loss is above ``g_loss_rise``
      (BCE objectives; the notes: failure = "D loss close to zero and G loss > 2");
    * ``vanishing_gradients``: D(x) > ``separation`` and D(G(z)) < 1 - ``separation`` (BCE
      objectives: d(x) = 1 for all x, d(g(z)) = 0 for all z);

    (losses and D outputs averaged over the batches since the previous check: single batches
    of a healthy run dip close to these limits);
    * ``mode_collapse``: mean pairwise distance of G's samples on fixed noise below
      ``diversity_ratio`` times that of real batches;

    and for a class-conditional game on labelled data:

    * ``class_collapse``: for some class, its fixed-noise samples' mean pairwise distance below
      ``class_diversity_ratio`` times that of the class's real samples (within-class collapse:
      one image per class, which the overall diversity does not show);
    * ``ignored_labels``: the conditional accuracy of the last two evaluations of ``evaluation``
      (the classifier's class of samples drawn for each class) below ``label_accuracy``.

    A sign present in ``patience`` consecutive checks is a warning: logged, sent as a W&B alert,
    counted as ``health/<sign>`` in the loggers, and (``stop=True``) ends training early. It is
    raised again only after the sign has cleared.
    """

    at_end = False  # a warning needs a streak of scheduled checks

    def __init__(
        self,
        every: int = 50,
        patience: int = 4,
        d_loss_floor: float = 0.01,
        g_loss_rise: float = 2.0,
        separation: float = 0.995,
        diversity_ratio: float = 0.1,
        num_samples: int = 64,
        stop: bool = False,
        seed: int = 0,
        class_diversity_ratio: float = 0.25,
        label_accuracy: float = 0.5,
        evaluation: Any = None,
    ) -> None:
        super().__init__(every)
        self.patience = int(patience)
        self.d_loss_floor = float(d_loss_floor)
        self.g_loss_rise = float(g_loss_rise)
        self.separation = float(separation)
        self.diversity_ratio = float(diversity_ratio)
        self.num_samples = int(num_samples)
        self.stop = bool(stop)
        self.seed = int(seed)
        self.class_diversity_ratio = float(class_diversity_ratio)
        self.label_accuracy = float(label_accuracy)
        self.evaluation = evaluation  # an Evaluation callback with conditional accuracy, or None
        self.real_class_diversity: dict[int, list[float]] = {}
        self.streaks = dict.fromkeys(MESSAGES, 0)
        self.warnings: list[dict[str, Any]] = []
        self.real_diversity: list[float] = []
        self.ratios: list[tuple[int, float]] = []  # (iteration, sample diversity / real's)
        self._window: Tensor | None = None
        self._count = 0
        self._real_seen = 0
        self._unmeasured: list[tuple[Tensor, Tensor | None]] = []

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: Any, batch: Any, batch_idx: int
    ) -> None:
        if self._real_seen < 8:  # the real data's spread, from the first batches
            labels = getattr(batch, "y", None)
            if labels is None or int(getattr(pl_module, "num_classes", 0) or 0) == 0:
                labels = None
            # kept, and measured at the first check: a measurement here reads the GPU each step
            self._unmeasured.append((batch.real.detach().clone(), labels))
            self._real_seen += 1

    def measure_real(self) -> None:
        """The real data's spread (mean pairwise distance), overall and per class, of the first
        batches kept since the last call."""
        for real, labels in self._unmeasured:
            x = real[: self.num_samples]
            if x.shape[0] > 1:
                self.real_diversity.append(mean_pairwise_distance(x))
            if labels is not None:
                for c in labels.unique().tolist():
                    same = real[labels == c]
                    if same.shape[0] > 1:
                        spread = mean_pairwise_distance(same)
                        self.real_class_diversity.setdefault(int(c), []).append(spread)
        self._unmeasured = []

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: Any, *args: Any) -> None:
        self.accumulate(pl_module.health_signals())
        super().on_train_batch_end(trainer, pl_module, *args)

    def run(self, trainer: L.Trainer, pl_module: Any) -> dict[str, float]:
        """One check: update the signs' streaks, warn at ``patience``, stop if asked; returns
        which signs are present (1.0 each)."""
        step = trainer.global_step
        signs = self.check(pl_module)
        if self.ratios and trainer.is_global_zero:
            for logger in trainer.loggers:
                logger.log_metrics({"health/diversity_ratio": self.ratios[-1][1]}, step=step)
        for sign in MESSAGES:
            present = sign in signs
            self.streaks[sign] = self.streaks[sign] + 1 if present else 0
            if present and self.streaks[sign] == self.patience:
                self.warn(trainer, sign, MESSAGES[sign].format(**signs[sign]), step)
        warned = any(self.streaks[s] >= self.patience for s in MESSAGES)
        if self.stop and trainer.strategy.reduce_boolean_decision(warned, all=False):
            trainer.should_stop = True
        return dict.fromkeys(signs, 1.0)

    @torch.no_grad()
    def accumulate(self, values: Tensor | None) -> None:
        """Add this batch's (D loss, G loss, P(real | x), P(real | G(z))) to the window's sums
        (on the device: no host sync until the check); None (a game without them) adds nothing."""
        if values is None:
            return
        self._window = values if self._window is None else self._window + values
        self._count += 1

    @torch.no_grad()
    def check(self, pl_module: Any) -> dict[str, dict[str, float]]:
        """The signs present now, each with the numbers its message quotes: the loss signs from
        the means over the batches since the last check, diversity from the current G."""
        signs: dict[str, dict[str, float]] = {}
        window, count = self._window, self._count
        self._window, self._count = None, 0
        if window is not None:
            d, g, dx, dgz = (window / count).tolist()
            if d < self.d_loss_floor and g > self.g_loss_rise:
                signs["discriminator_wins"] = {
                    "d": d,
                    "g": g,
                    "d_floor": self.d_loss_floor,
                    "g_rise": self.g_loss_rise,
                }
            if dx > self.separation and dgz < 1 - self.separation:
                signs["vanishing_gradients"] = {"dx": dx, "dgz": dgz}
        self.measure_real()
        real = sum(self.real_diversity) / max(len(self.real_diversity), 1)
        if real > 1e-12:  # data that is one point (Dirac-GAN) has no diversity to lose
            samples = fixed_samples(pl_module, self.num_samples, self.seed)
            ratio = mean_pairwise_distance(samples) / real
            self.ratios.append((pl_module.iteration, ratio))
            if ratio < self.diversity_ratio:
                signs["mode_collapse"] = {"ratio": ratio, "ratio_floor": self.diversity_ratio}
            classes = int(getattr(pl_module, "num_classes", 0) or 0)
            worst = self.class_ratio(samples, classes) if classes else None
            if worst is not None and worst[1] < self.class_diversity_ratio:
                signs["class_collapse"] = {
                    "label": worst[0],
                    "ratio": worst[1],
                    "ratio_floor": self.class_diversity_ratio,
                }
        accuracy = self.label_accuracy_now()
        if accuracy is not None and accuracy < self.label_accuracy:
            chance = 1 / max(int(getattr(pl_module, "num_classes", 0) or 1), 1)
            signs["ignored_labels"] = {
                "accuracy": accuracy,
                "floor": self.label_accuracy,
                "chance": chance,
            }
        return signs

    def class_ratio(self, samples: Tensor, classes: int) -> tuple[int, float] | None:
        """(class, ratio) of the class whose samples (``fixed_samples`` cycles the labels, so
        class c is every ``classes``-th row from c) spread least against its real samples."""
        ratios = []
        for c, spreads in self.real_class_diversity.items():
            mine = samples[c::classes]
            real = sum(spreads) / len(spreads)
            if mine.shape[0] > 1 and real > 1e-12:
                ratios.append((c, mean_pairwise_distance(mine) / real))
        return min(ratios, key=lambda cr: cr[1]) if ratios else None

    def label_accuracy_now(self) -> float | None:
        """The higher conditional accuracy of the last two evaluations (None before two): low
        in both means the labels are ignored, not that one evaluation came early."""
        history = getattr(self.evaluation, "history", None) or []
        found = [scores["cond_acc"] for _, scores in history if "cond_acc" in scores][-2:]
        return max(found) if len(found) == 2 else None

    def diversity(self, pl_module: Any) -> float:
        """Mean pairwise distance of the game's samples (EMA when enabled; eval mode; fixed
        randomness)."""
        return mean_pairwise_distance(fixed_samples(pl_module, self.num_samples, self.seed))

    def warn(self, trainer: L.Trainer, sign: str, message: str, step: int) -> None:
        text = f"iteration {step}: {message}"
        self.warnings.append({"iteration": step, "sign": sign, "message": message})
        if not trainer.is_global_zero:
            return
        log.warning("training health: %s", text)
        for logger in trainer.loggers:
            logger.log_metrics({f"health/{sign}": 1.0}, step=step)
            if isinstance(logger, WandbLogger):
                import wandb

                logger.experiment.alert(
                    title=f"gans: {sign.replace('_', ' ')}", text=text, level=wandb.AlertLevel.WARN
                )
