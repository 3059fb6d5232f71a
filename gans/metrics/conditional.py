"""Class-aware scores of a class-conditional generator.

* conditional accuracy: the domain classifier's accuracy on samples G made for given classes,
  against those classes (a G that ignores its label scores about 1 / num_classes);
* intra-class FID (Miyato & Koyama 2018, Sec. 5.1): the FID of each class's samples against that
  class's real samples, averaged over the classes.

Both are logged under a protocol stamp like the other metrics (``cond_acc/<tag>``,
``intra_fid/<tag>``); randomness comes from a fixed seed, never the training stream.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from gans.metrics.protocol import Protocol
from gans.metrics.reference import real_images
from gans.metrics.suite import MetricSuite

#: ``sample(n, labels=..., generator=rng)`` -> n samples in [-1, 1] of the given classes
ClassSampler = Callable[..., Tensor]


class ClassAwareEvaluator:
    """Scores a conditional generator class by class.

    Args:
        features: the feature network of the run's FID (``(features, logits)`` from [0, 1]).
        classifier: the domain classifier as a feature network (its logits classify).
        datamodule: labelled training data (the per-class references come from it).
        num_classes: the classes G is conditioned on.
        per_class: samples generated per class.
        num_reference: real samples drawn (in the reference's fixed order) and split by class.
        split: ``<dataset>/<split>`` for the protocol stamp.
    """

    def __init__(
        self,
        features: nn.Module,
        classifier: nn.Module,
        datamodule: Any,
        num_classes: int,
        per_class: int,
        num_reference: int,
        split: str,
        batch_size: int = 500,
        seed: int = 4321,
    ) -> None:
        self.features = features
        self.classifier = classifier
        self.datamodule = datamodule
        self.num_classes = int(num_classes)
        self.per_class = int(per_class)
        self.num_reference = int(num_reference)
        self.split = split
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.references: list[Tensor] = []

    def protocols(self, ema: bool) -> dict[str, Protocol]:
        """The stamps: intra-FID under the FID's feature network, accuracy under the classifier."""
        common = {
            "generated": self.per_class * self.num_classes,
            "reference": self.num_reference,
            "split": self.split,
            "ema": bool(ema),
        }
        return {
            "intra_fid": Protocol(
                self.features.name, self.features.weights, resize=self.features.resize, **common
            ),
            "cond_acc": Protocol(
                self.classifier.name,
                self.classifier.weights,
                resize=self.classifier.resize,
                **common,
            ),
        }

    @torch.no_grad()
    def prepare(self, device: Any) -> None:
        """Features of the reference's real samples, grouped by class."""
        self.features.to(device)
        self.classifier.to(device)
        features, labels = [], []
        for x, y in real_images(self.datamodule, self.num_reference, self.batch_size):
            features.append(self.features((x.to(device).float() + 1) / 2)[0].cpu())
            labels.append(y)
        every, classes = torch.cat(features), torch.cat(labels)
        self.references = [every[classes == c] for c in range(self.num_classes)]

    @torch.no_grad()
    def evaluate(self, sample: ClassSampler, device: Any) -> dict[str, float]:
        """{"cond_acc": ..., "intra_fid": ...} for ``sample`` (a game's ``sample``)."""
        if not self.references:
            self.prepare(device)
        rng = torch.Generator().manual_seed(self.seed)
        correct, fids = 0, []
        for c in range(self.num_classes):
            made, logits = [], []
            for start in range(0, self.per_class, self.batch_size):
                n = min(self.batch_size, self.per_class - start)
                labels = torch.full((n,), c, dtype=torch.long)
                images = (sample(n, labels=labels, generator=rng).clamp(-1, 1) + 1) / 2
                made.append(self.features(images)[0])
                logits.append(self.classifier(images)[1])
            correct += int((torch.cat(logits).argmax(1).cpu() == c).sum())
            reference = self.references[c]
            if len(reference) < 2:
                continue
            suite = MetricSuite(reference.shape[1], ("fid",)).to(device)
            suite.set_reference(reference.to(device))
            generated = torch.cat(made)
            suite.update(generated, torch.zeros(len(generated), 1, device=generated.device))
            fids.append(suite.compute()["fid"])
        accuracy = correct / (self.per_class * self.num_classes)
        intra = sum(fids) / len(fids) if fids else float("nan")
        return {"cond_acc": accuracy, "intra_fid": intra}
