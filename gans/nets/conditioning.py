"""Class conditioning shared by the network families.

Generators concatenate a learned class embedding to z (Mirza & Osindero 2014); discriminators add
the projection term <embed(y), phi(x)> to their output (Miyato & Koyama 2018, Eq. 3).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from gans.errors import ConfigError


def check_condition(y: Tensor | None, num_classes: int, who: str) -> None:
    """Refuse a label for an unconditional network and a missing one for a conditional network."""
    if num_classes > 0 and y is None:
        raise ValueError(f"{who} is conditional on {num_classes} classes but got no labels")
    if num_classes == 0 and y is not None:
        raise ValueError(f"{who} is unconditional (num_classes=0) but got labels")


def check_num_classes(num_classes: int) -> int:
    if int(num_classes) < 0:
        raise ConfigError(f"model.num_classes={num_classes} must be >= 0 (0 = unconditional)")
    return int(num_classes)


class LatentWithLabel(nn.Module):
    """z -> [z, embed(y)] when conditional, z unchanged otherwise."""

    def __init__(self, num_classes: int, embed_dim: int) -> None:
        super().__init__()
        self.num_classes = check_num_classes(num_classes)
        self.embed = nn.Embedding(num_classes, embed_dim) if self.num_classes else None
        self.extra_dim = embed_dim if self.num_classes else 0

    def forward(self, z: Tensor, y: Tensor | None) -> Tensor:
        check_condition(y, self.num_classes, "generator")
        return z if self.embed is None else torch.cat([z, self.embed(y)], dim=1)


class Projection(nn.Module):
    """The projection discriminator's class term <embed(y), features>."""

    def __init__(self, num_classes: int, feature_dim: int) -> None:
        super().__init__()
        self.num_classes = check_num_classes(num_classes)
        self.embed = nn.Embedding(num_classes, feature_dim) if self.num_classes else None

    def forward(self, logits: Tensor, features: Tensor, y: Tensor | None) -> Tensor:
        """``logits + <embed(y), features>``; features (B, F) or (B, F, H, W), summed over space."""
        check_condition(y, self.num_classes, "discriminator")
        if self.embed is None:
            return logits
        if features.dim() > 2:
            features = features.sum(dim=tuple(range(2, features.dim())))
        return logits + (self.embed(y) * features).sum(dim=1)


class ProjectionDiscriminator(nn.Module):
    """The output end shared by the discriminators: ``features(x)`` -> ``head`` (one logit) plus
    the ``projection`` class term; with a ``classifier`` head (ACGAN's auxiliary classifier)
    :meth:`judge_and_classify` gives both outputs from one pass. Subclasses set ``features``,
    ``head``, ``projection`` and, for ACGAN, ``classifier``."""

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        h = self.features(x)
        return self.projection(self.head(h).flatten(), h, y)

    def judge_and_classify(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(adversarial logit (B,), class logits (B, aux_classes)) from one pass."""
        classifier = getattr(self, "classifier", None)
        if classifier is None:
            raise ConfigError("this discriminator has no class head: set aux_classes")
        h = self.features(x)
        return self.head(h).flatten(), classifier(h).flatten(1)
