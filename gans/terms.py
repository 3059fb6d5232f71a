"""Loss terms as pieces: each belongs to a player, has a weight and an ``every`` interval, and
keeps any state it needs in buffers (so it is saved in checkpoints with the model).

Two ways to be lazy (Karras et al. 2020, StyleGAN2, Sec. 3.1 and App. B):

* folded (``lazy=False``, the default): on every ``every``-th step of its player the term joins
  that step's loss with gain ``every``, so its average contribution per step is unchanged;
* separate (``lazy=True``): the term is a phase of its own with its own optimizer step every
  ``every`` steps (StyleGAN2's ``Dreg``/``Greg``), and the player's optimizer is corrected for the
  extra steps by :func:`lazy_correction`.
"""

from __future__ import annotations

from torch import nn
from torch.optim import Optimizer

from gans.errors import ConfigError


class Term(nn.Module):
    """A weighted term in one player's loss (or a rule applied after that player's step).

    Attributes:
        name: the config name (``regularizer.<name>``), also the logged key ``reg/<name>``.
        player: the player whose loss it joins and whose step its :meth:`after_step` follows.
        weight: its coefficient in that loss (the paper's lambda, gamma / 2, epsilon...).
        every: apply on every ``every``-th step of the player, with gain ``every``.
        lazy: run as a separate phase with its own optimizer step (see the module doc).
        double_backward: it differentiates through a gradient (no ``torch.compile``).
        kind: what it does, which a game asks for by name: ``penalty`` (a term of its player's
            loss), ``perturb`` (changes what a discriminator sees), ``after_step`` (a rule on
            the player's weights after each of its steps), ``joint_penalty`` (needs both
            players' gradients), ``generator_penalty`` (a term of G's loss), ``path_penalty``
            (StyleGAN2's separate G phase).
    """

    name = "term"
    player = "discriminator"
    double_backward = False
    kind = "penalty"

    def __init__(self, weight: float = 1.0, every: int = 1, lazy: bool = False) -> None:
        super().__init__()
        if int(every) < 1:
            raise ConfigError(f"regularizer.{self.name}.every={every} must be an integer >= 1")
        self.weight = float(weight)
        self.every = int(every)
        self.lazy = bool(lazy)

    def due(self, step: int) -> bool:
        """Whether the term applies at the player's ``step``-th step (1-based)."""
        return step % self.every == 0

    @property
    def gain(self) -> int:
        """What the term is multiplied by when it applies: ``every`` (lazy regularization)."""
        return self.every

    def after_step(self, module: nn.Module) -> None:
        """A rule applied to the player's network after each of its steps (e.g. weight clipping)."""
        return None

    def extra_repr(self) -> str:
        return f"player={self.player}, weight={self.weight}, every={self.every}, lazy={self.lazy}"


def lazy_ratio(every: int) -> float:
    """c = every / (every + 1): the fraction of a player's steps that are its main steps when a
    separate term steps once every ``every`` main steps (StyleGAN2, App. B: ``mb_ratio``)."""
    return every / (every + 1)


def lazy_correction(optimizer: Optimizer, every: int) -> None:
    """StyleGAN2's correction for a separate lazy term: lr <- c lr and beta_i <- beta_i ** c, with
    c = :func:`lazy_ratio`, so the optimizer's time constants in main steps stay the same."""
    if every <= 1:
        return
    c = lazy_ratio(every)
    for group in optimizer.param_groups:
        group["lr"] = group["lr"] * c
        if "betas" in group:
            group["betas"] = tuple(beta**c for beta in group["betas"])
