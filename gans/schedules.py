"""Learning-rate schedules per player, as factors of the configured rate by iteration."""

from __future__ import annotations

from typing import Any

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR

from gans.errors import ConfigError

KINDS = ("constant", "linear")


class LRFactor:
    """f(t) at iteration t (the optimizer's rate is lr * f(t)):

    * ``constant``: 1;
    * ``linear``: 1 until ``start``, then down in a straight line to 0 at ``start + length``
      (Pix2Pix/CycleGAN: constant for 100 epochs, linear to zero over the next 100; Isola et al.
      2017, Zhu et al. 2017, App. 7.1);
    * ``warmup`` > 0 multiplies either by min(1, (t + 1) / warmup) (a linear warm-up from the
      first iteration, Goyal et al. 2017).

    A plain object (not a function), so ``LambdaLR`` saves its settings in checkpoints.
    """

    def __init__(
        self, kind: str = "constant", start: int = 0, length: int = 0, warmup: int = 0
    ) -> None:
        self.kind = kind
        self.start = int(start)
        self.length = int(length)
        self.warmup = int(warmup)

    def __call__(self, t: int) -> float:
        factor = 1.0
        if self.kind == "linear":
            factor = max(0.0, 1.0 - max(0, t - self.start) / self.length)
        if self.warmup > 0:
            factor *= min(1.0, (t + 1) / self.warmup)
        return factor


def lr_factor(player: str, settings: dict[str, Any]) -> LRFactor:
    """The factor ``optimizer.schedule.<player>`` describes, or a ConfigError naming the key."""
    key = f"optimizer.schedule.{player}"
    unknown = set(settings) - {"kind", "start", "length", "warmup"}
    if unknown:
        raise ConfigError(
            f"{key}.{sorted(unknown)[0]} is not a schedule setting; allowed: kind, start, "
            "length, warmup"
        )
    kind = settings.get("kind", "constant")
    if kind not in KINDS:
        raise ConfigError(f"{key}.kind={kind} is unknown; allowed: {', '.join(KINDS)}")
    for name in ("start", "length", "warmup"):
        value = settings.get(name, 0)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ConfigError(f"{key}.{name}={value} must be an integer >= 0")
    if kind == "linear" and settings.get("length", 0) < 1:
        raise ConfigError(f"{key}.length must be >= 1 for kind=linear (iterations to reach 0)")
    return LRFactor(**settings)


def scheduler(optimizer: Optimizer, factor: LRFactor) -> LambdaLR:
    """``optimizer``'s rate set to lr * factor(t); stepped once per iteration."""
    return LambdaLR(optimizer, lr_lambda=factor)
