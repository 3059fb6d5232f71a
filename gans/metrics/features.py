"""Feature networks for the metrics: each maps images in [0, 1] to (features, logits).

* :class:`InceptionFeatures`: torch-fidelity's FID Inception-v3 (the network papers report FID
  with): pool3 features (2048) and the 1008 ``logits_unbiased`` for IS; images are resized to
  299x299 with TF1-style bilinear interpolation, as the original TF implementation does.
* :class:`ClassifierFeatures`: the domain classifier's penultimate layer and its logits, at the
  data's native size.

Both are frozen and in eval mode; they live in the evaluation callback, never in the model, its
checkpoint or its optimizers.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import torch
from torch import Tensor, nn

from gans.errors import ConfigError
from gans.metrics.classifier import Classifier

# torch-fidelity's FID Inception weights (converted from TF's 2015-12-05 graph). torch hub's
# convention: the name ends in the first 8 hex digits of the file's SHA-256.
INCEPTION_FILES = (
    "weights-inception-2015-12-05-6726825d.pth",  # torch-fidelity >= 0.3
    "pt_inception-2015-12-05-6726825d.pth",  # the same weights as pytorch-fid hosts them
)
INCEPTION_SHA256_PREFIX = "6726825d"
INCEPTION_URL = (
    "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/"
    "weights-inception-2015-12-05-6726825d.pth"
)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def hub_checkpoints() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints"


def inception_weights(path: str | None = None, download: bool = True) -> Path:
    """The checked path of the FID Inception weights: ``path`` if given, else the torch hub cache
    (downloading there when possible). Raises :class:`ConfigError` saying where to put the file
    and how to get it when it is absent, cannot be downloaded, or fails its checksum."""
    where = hub_checkpoints() / INCEPTION_FILES[0]
    how = (
        f"download {INCEPTION_URL} (e.g. `curl -L -o {where} {INCEPTION_URL}` on a machine with "
        f"internet) into {where.parent}/, or pass metrics.inception_weights=<file>; "
        "metrics.features=classifier needs no download"
    )
    if path:
        found = Path(os.path.expanduser(path))
        if not found.is_file():
            raise ConfigError(f"metrics.inception_weights={path} does not exist: {how}")
    else:
        candidates = [hub_checkpoints() / name for name in INCEPTION_FILES]
        found = next((c for c in candidates if c.is_file()), None)
        if found is None and download:
            try:
                where.parent.mkdir(parents=True, exist_ok=True)
                torch.hub.download_url_to_file(INCEPTION_URL, str(where), progress=False)
                found = where
            except Exception as exc:  # noqa: BLE001 - offline, proxy, disk: all mean "absent"
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise ConfigError(
                    f"the FID Inception weights are not in {where.parent} and could not be "
                    f"downloaded ({reason}): {how}"
                ) from None
        if found is None:
            raise ConfigError(f"the FID Inception weights are not in {where.parent}: {how}")
    digest = sha256(found)
    if not digest.startswith(INCEPTION_SHA256_PREFIX):
        raise ConfigError(
            f"{found} is not the FID Inception checkpoint (SHA-256 {digest[:8]}..., expected "
            f"{INCEPTION_SHA256_PREFIX}...): {how}"
        )
    return found


class InceptionFeatures(nn.Module):
    """[0, 1] images -> (2048 pool3 features, 1008 logits) of the FID Inception-v3."""

    name = "inception"
    resize = "tf1-bilinear-299"

    def __init__(self, weights: Path) -> None:
        super().__init__()
        from torchmetrics.image.fid import NoTrainInceptionV3

        self.net = NoTrainInceptionV3(
            name="inception-v3-compat",
            features_list=["2048", "logits_unbiased"],
            feature_extractor_weights_path=str(weights),
            antialias=False,  # TF1-compatible resize, as the reference implementation
        )
        self.weights = sha256(weights)[:8]
        self.requires_grad_(False).eval()

    def train(self, mode: bool = True) -> InceptionFeatures:
        return super().train(False)

    @torch.no_grad()
    def forward(self, images: Tensor) -> tuple[Tensor, Tensor]:
        pixels = images.clamp(0, 1).mul(255).round().to(torch.uint8)
        if pixels.shape[1] == 1:
            pixels = pixels.expand(-1, 3, -1, -1)
        features, logits = self.net(pixels)
        return features.float(), logits.float()


class ClassifierFeatures(nn.Module):
    """[0, 1] images -> (penultimate features, logits) of a trained :class:`Classifier`."""

    name = "classifier"

    def __init__(self, classifier: Classifier, weights: str, image_size: int) -> None:
        super().__init__()
        self.classifier = classifier.eval().requires_grad_(False)
        self.weights = weights[:8]
        self.resize = f"native-{image_size}"

    def train(self, mode: bool = True) -> ClassifierFeatures:
        return super().train(False)

    @torch.no_grad()
    def forward(self, images: Tensor) -> tuple[Tensor, Tensor]:
        x = images.clamp(0, 1) * 2 - 1
        features = self.classifier.features(x)
        return features, self.classifier.head(features)
