"""Perceptual distances between images and their reconstructions, for VQGAN's reconstruction loss
(Esser et al. 2021, Eq. 5 uses LPIPS, Zhang et al. 2018).

* ``lpips``: the ``lpips`` package's VGG-16 distance (its learned linear heads on ImageNet VGG
  features); needs the package and torchvision's VGG-16 weights in the torch hub cache, and stops
  at start-up with one line saying how to get them when either is missing.
* ``classifier``: the offline default, and it is honest about what it is: a feature-matching
  distance on the project's domain classifier (the one the metrics use), LPIPS's recipe (unit-
  normalise each layer's activations over channels, squared difference, mean over positions, sum
  over layers) with equal layer weights instead of learned ones and a 10-digit classifier
  instead of VGG. It sees digit shape, not natural-image texture.
"""

from __future__ import annotations

import copy

from torch import Tensor, nn

from gans.errors import ConfigError
from gans.metrics.features import hub_checkpoints
from gans.metrics.measurement import Measurement

KINDS = ("classifier", "lpips", "none")
#: torchvision's VGG-16 weights, which ``lpips.LPIPS(net="vgg")`` loads from the hub cache
VGG_FILE = "vgg16-397923af.pth"


def normalize(features: Tensor) -> Tensor:
    """Each position's activation vector scaled to unit length over channels (LPIPS Eq. 1)."""
    return features / (features.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)


class ClassifierPerceptual(nn.Module):
    """d(x, y) = sum_l mean_{h,w} ||n(f_l(x)) - n(f_l(y))||^2 over the classifier's conv layers
    f_l (after each ReLU), n = :func:`normalize`; per image, shape (N,). Frozen, eval mode."""

    name = "classifier-feature-matching"

    def __init__(self, classifier: nn.Module, weights: str = "") -> None:
        super().__init__()
        layers = list(classifier.body)
        cuts = [i + 1 for i, m in enumerate(layers) if isinstance(m, nn.ReLU)][:3]
        self.stages = nn.ModuleList(
            nn.Sequential(*layers[a:b]) for a, b in zip([0, *cuts[:-1]], cuts, strict=True)
        )
        self.weights = weights
        self.requires_grad_(False).eval()

    def train(self, mode: bool = True) -> ClassifierPerceptual:
        return super().train(False)

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        distance = x.new_zeros(x.shape[0])
        for stage in self.stages:
            x, y = stage(x), stage(y)
            distance = distance + (normalize(x) - normalize(y)).pow(2).sum(1).mean((1, 2))
        return distance


class LPIPSPerceptual(nn.Module):
    """The ``lpips`` package's VGG distance on images in [-1, 1], per image (N,)."""

    name = "lpips-vgg"

    def __init__(self) -> None:
        super().__init__()
        how = (
            "model.perceptual.kind=lpips needs `pip install lpips` and torchvision's VGG-16 "
            f"weights at {hub_checkpoints() / VGG_FILE} (fetch them on a machine with internet: "
            "python -c 'import torchvision; torchvision.models.vgg16(weights=\"DEFAULT\")'); "
            "offline, use model.perceptual.kind=classifier"
        )
        try:
            import lpips
        except ImportError:
            raise ConfigError(f"the lpips package is not installed: {how}") from None
        if not (hub_checkpoints() / VGG_FILE).is_file():
            raise ConfigError(f"the VGG-16 weights are not in {hub_checkpoints()}: {how}")
        self.net = lpips.LPIPS(net="vgg", verbose=False)
        self.weights = "lpips-0.1-vgg"
        self.requires_grad_(False).eval()

    def train(self, mode: bool = True) -> LPIPSPerceptual:
        return super().train(False)

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        channels = 3 if x.shape[1] == 1 else None
        if channels:
            x, y = x.expand(-1, 3, -1, -1), y.expand(-1, 3, -1, -1)
        return self.net(x, y).flatten()


def build_perceptual(kind: str, measurement: Measurement) -> nn.Module | None:
    """The perceptual network ``model.perceptual.kind`` names (None for ``none``); the
    classifier's is a copy of the run's domain classifier (``measurement.classifier()``:
    shipped, cached or trained now), so the game's network is its own."""
    if kind not in KINDS:
        raise ConfigError(f"model.perceptual.kind={kind} is unknown; allowed: {', '.join(KINDS)}")
    if kind == "none":
        return None
    if kind == "lpips":
        return LPIPSPerceptual()
    if int(getattr(measurement.data, "num_classes", 0) or 0) < 2:
        raise ConfigError(
            "model.perceptual.kind=classifier needs labelled data (class folders) to train its "
            "classifier: use model.perceptual.kind=lpips or none"
        )
    model, _, digest = measurement.classifier()
    return ClassifierPerceptual(copy.deepcopy(model), digest[:8])
