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

    ``start`` and ``length`` are iterations, or a share of the run as ``"50%"`` (of
    ``iterations``; set by :meth:`resolve` when the run's length is known).

    A plain object (not a function), so ``LambdaLR`` saves its settings in checkpoints.
    """

    def __init__(
        self,
        kind: str = "constant",
        start: int | str = 0,
        length: int | str = 0,
        warmup: int = 0,
    ) -> None:
        self.kind = kind
        self.given = {"start": start, "length": length}
        self.start = start if isinstance(start, int) else 0
        self.length = length if isinstance(length, int) else 1
        self.warmup = int(warmup)

    def resolve(self, iterations: int) -> LRFactor:
        """Turn shares of the run (``"50%"``) into iterations of a run of ``iterations``."""
        for name, value in self.given.items():
            if isinstance(value, str):
                setattr(self, name, round(float(value[:-1]) / 100 * int(iterations)))
        self.length = max(self.length, 1) if self.kind == "linear" else self.length
        return self

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
            if name != "warmup" and _is_share(value):
                continue
            raise ConfigError(
                f"{key}.{name}={value} must be an integer >= 0"
                + (" or a share of the run such as 50%" if name != "warmup" else "")
            )
    length = settings.get("length", 0)
    if kind == "linear" and not _is_share(length) and length < 1:
        raise ConfigError(f"{key}.length must be >= 1 for kind=linear (iterations to reach 0)")
    return LRFactor(**settings)


def _is_share(value: object) -> bool:
    """Whether ``value`` is a share of the run such as ``"50%"`` (0 to 100)."""
    if not isinstance(value, str) or not value.endswith("%"):
        return False
    try:
        return 0 <= float(value[:-1]) <= 100
    except ValueError:
        return False


def scheduler(optimizer: Optimizer, factor: LRFactor) -> LambdaLR:
    """``optimizer``'s rate set to lr * factor(t); stepped once per iteration."""
    return LambdaLR(optimizer, lr_lambda=factor)
