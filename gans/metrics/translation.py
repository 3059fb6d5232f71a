"""Scores of an image-to-image translator on held-out images.

* Paired (Pix2Pix): L1, PSNR and SSIM between G(a) and the target b (pixels in [0, 1], as
  torchmetrics defines PSNR/SSIM with ``data_range=1``), and FID/KID of the outputs against the
  targets.
* Unpaired (CycleGAN), each direction: FID/KID of the translations against the other domain's
  held-out images, the cycle error ||F(G(a)) - a||_1 (pixels in [0, 1]) and, when the source
  folder has class folders, **label preservation**: the domain classifier's accuracy on G(a)
  against a's label (does a 3 stay a 3?).

Each value is logged under a :class:`~gans.metrics.protocol.Protocol` stamp (feature network,
sample counts, split, EMA).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn
from torchmetrics.image import PeakSignalNoiseRatio, StructuralSimilarityIndexMeasure

from gans.metrics.protocol import Protocol
from gans.metrics.suite import MetricSuite

#: source images -> translated images, both in [-1, 1]
Translate = Callable[[Tensor], Tensor]


def to_unit(images: Tensor) -> Tensor:
    """[-1, 1] -> [0, 1]."""
    return ((images.float() + 1) / 2).clamp(0, 1)


class TranslationEvaluator:
    """Scores a translator with ``features`` (FID/KID) and, when given, ``classifier`` (label
    preservation), on at most ``max_images`` held-out images per domain."""

    def __init__(
        self,
        features: nn.Module,
        classifier: nn.Module | None,
        data_name: str,
        split: str,
        batch_size: int = 500,
        max_images: int = 10_000,
        kid_subset_size: int = 1000,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.features = features
        self.classifier = classifier
        self.data_name = data_name
        self.split = split
        self.batch_size = int(batch_size)
        self.max_images = int(max_images)
        self.kid_subset_size = int(kid_subset_size)
        self.extra = dict(extra or {})
        self._reference: dict[int, tuple[Tensor, Tensor]] = {}  # target tensor -> its features

    def protocol(self, generated: int, reference: int, ema: bool, split: str) -> Protocol:
        return Protocol(
            features=self.features.name,
            weights=self.features.weights,
            generated=generated,
            reference=reference,
            split=f"{self.data_name}/{split}",
            resize=self.features.resize,
            ema=ema,
        )

    def batched(self, fn: Translate, images: Tensor, device: Any) -> Tensor:
        """``fn`` over ``images`` in batches, on ``device``; the outputs on the CPU."""
        outputs = [fn(chunk.to(device)).float().cpu() for chunk in images.split(self.batch_size)]
        return torch.cat(outputs)

    def fid(self, made: Tensor, target: Tensor, device: Any) -> dict[str, float]:
        """FID and KID of ``made`` against ``target`` (both in [-1, 1]) on the features."""
        self.features.to(device)
        cached = self._reference.get(id(target))
        if cached is None or cached[0] is not target:  # the held-out split: once per run
            real = self.batched(lambda x: self.features(to_unit(x))[0], target, device)
            self._reference[id(target)] = (target, real)
        real = self._reference[id(target)][1]
        fake_pairs = [self.features(to_unit(c.to(device))) for c in made.split(self.batch_size)]
        suite = MetricSuite(
            real.shape[1],
            metrics=("fid", "kid"),
            kid_subset_size=min(self.kid_subset_size, real.shape[0], made.shape[0]),
        ).to(device)
        suite.set_reference(real.to(device))
        for features, logits in fake_pairs:
            suite.update(features, logits)
        return suite.compute()

    def paired(
        self, translate: Translate, a: Tensor, b: Tensor, device: Any, ema: bool
    ) -> dict[str, float]:
        """L1, PSNR, SSIM and FID/KID of ``translate(a)`` against ``b``, keyed by protocol."""
        a, b = a[: self.max_images], b[: self.max_images]
        made = self.batched(translate, a, device)
        made01, b01 = to_unit(made), to_unit(b)
        psnr = PeakSignalNoiseRatio(data_range=1.0)
        ssim = StructuralSimilarityIndexMeasure(data_range=1.0)
        scores = {
            "l1": float((made01 - b01).abs().mean()),
            "psnr": float(psnr(made01, b01)),
            "ssim": float(ssim(made01, b01)),
            **self.fid(made, b, device),
        }
        stamp = self.protocol(made.shape[0], b.shape[0], ema, self.split)
        return {stamp.key(name): value for name, value in scores.items()}

    def label_accuracy(self, images: Tensor, labels: Tensor, device: Any) -> float:
        assert self.classifier is not None
        self.classifier.to(device)
        logits = self.batched(lambda x: self.classifier(x), images, device)
        return float((logits.argmax(1) == labels).float().mean())

    def unpaired(
        self,
        translate: Callable[[Tensor, str], Tensor],
        held: dict[str, tuple[Tensor, Tensor] | None],
        device: Any,
        ema: bool,
    ) -> dict[str, float]:
        """Per direction (``AtoB``: G, ``BtoA``: F): FID/KID against the other domain, the
        cycle error and label preservation, keyed ``<metric>_<direction>/<protocol>``."""
        logged: dict[str, float] = {}
        for source, target, direction, back in (
            ("A", "B", "AtoB", "BtoA"),
            ("B", "A", "BtoA", "AtoB"),
        ):
            if held.get(source) is None or held.get(target) is None:
                continue
            x, labels = held[source]  # type: ignore[misc]
            y, _ = held[target]  # type: ignore[misc]
            x, labels, y = x[: self.max_images], labels[: self.max_images], y[: self.max_images]
            made = self.batched(lambda t, d=direction: translate(t, d), x, device)
            again = self.batched(lambda t, d=back: translate(t, d), made, device)
            scores = dict(self.fid(made, y, device))
            scores["cycle_l1"] = float((to_unit(again) - to_unit(x)).abs().mean())
            if self.classifier is not None and bool((labels >= 0).all()):
                scores["label_acc"] = self.label_accuracy(made, labels, device)
            stamp = self.protocol(made.shape[0], y.shape[0], ema, f"{self.split}{source}")
            logged.update((stamp.key(f"{name}_{direction}"), v) for name, v in scores.items())
        return logged
