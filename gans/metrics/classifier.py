"""A small CNN trained on the labeled training data: its features replace Inception's for FID and
IS on data unlike ImageNet (as TF-GAN's MNIST classifier score)."""

from __future__ import annotations

import hashlib
import io
import logging
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gans.data import cache
from gans.data.transforms import to_signed_unit
from gans.errors import ConfigError
from gans.preparing import progress

logger = logging.getLogger(__name__)


class Classifier(nn.Module):
    """x in [-1, 1] (N, C, H, W) -> logits (N, num_classes); :meth:`features` is the
    ``feature_dim``-wide penultimate layer. Three conv-ReLU layers (widths w, 2w, 4w; max-pooling
    after the first two), 2x2 adaptive average pooling, a hidden layer, the class head; any image
    size >= 4. Small on purpose: it trains in about a minute on two CPU cores."""

    def __init__(self, channels: int, num_classes: int, width: int = 16, feature_dim: int = 128):
        super().__init__()
        self.config = {
            "channels": channels,
            "num_classes": num_classes,
            "width": width,
            "feature_dim": feature_dim,
        }
        w = width
        self.body = nn.Sequential(
            nn.Conv2d(channels, w, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(w, 2 * w, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(2 * w, 4 * w, 3, padding=1), nn.ReLU(),
            nn.AdaptiveAvgPool2d(2), nn.Flatten(),
            nn.Linear(16 * w, feature_dim), nn.ReLU(),
        )  # fmt: skip
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(feature_dim, num_classes))

    def features(self, x: Tensor) -> Tensor:
        return self.body(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.body(x))


def split_holdout(n: int, holdout: float, seed: int = 0) -> tuple[Tensor, Tensor]:
    """A fixed random split of ``range(n)`` into (train, held-out) indices."""
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    cut = max(1, int(round(n * holdout)))
    return perm[cut:], perm[:cut]


def train_classifier(
    images: Tensor,
    labels: Tensor,
    num_classes: int,
    steps: int = 1000,
    batch_size: int = 128,
    lr: float = 1e-3,
    holdout: float = 0.15,
    seed: int = 0,
    device: str | torch.device = "cpu",
) -> tuple[Classifier, float]:
    """Fit a :class:`Classifier` for ``steps`` Adam steps of cross-entropy on images in [-1, 1]
    (random shifts of up to 1/16 of the image side, reshuffled every epoch); returns it (frozen,
    eval mode) and its accuracy on the held-out part."""
    if labels.min() < 0:
        raise ConfigError(
            "metrics.features=classifier needs a labeled dataset; this one is unlabeled"
        )
    train_idx, test_idx = split_holdout(images.shape[0], holdout, seed)
    max_shift = images.shape[-1] // 16
    with torch.random.fork_rng(devices=[]), torch.enable_grad():
        torch.manual_seed(seed)
        model = Classifier(images.shape[1], num_classes).to(device)
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        model.train()
        batches = iter(())
        for _ in progress(
            range(int(steps)), int(steps), "training the metrics classifier (once; cached)"
        ):
            batch = next(batches, None)
            if batch is None or batch.numel() < min(batch_size, train_idx.numel()):
                batches = iter(train_idx[torch.randperm(train_idx.numel())].split(batch_size))
                batch = next(batches)
            x = to_signed_unit(images[batch].to(device))
            shift = torch.randint(-max_shift, max_shift + 1, (2,)).tolist()
            x = torch.roll(x, shifts=shift, dims=(2, 3))
            loss = F.cross_entropy(model(x), labels[batch].to(device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    model.eval().requires_grad_(False)
    return model, accuracy(model, images[test_idx], labels[test_idx], device)


@torch.no_grad()
def accuracy(model: nn.Module, images: Tensor, labels: Tensor, device: Any = "cpu") -> float:
    correct = 0
    for x, y in zip(images.split(512), labels.split(512), strict=True):
        correct += (model(to_signed_unit(x.to(device))).argmax(1).cpu() == y).sum().item()
    return correct / max(1, labels.numel())


def weights_digest(model: nn.Module) -> str:
    """SHA-256 of the serialized weights (the stamp's checksum)."""
    buffer = io.BytesIO()
    torch.save({k: v.cpu() for k, v in model.state_dict().items()}, buffer)
    return hashlib.sha256(buffer.getvalue()).hexdigest()


def save(model: Classifier, accuracy_: float, path: Path, key: dict[str, Any]) -> None:
    payload = {
        "key": key,
        "config": model.config,
        "state_dict": model.state_dict(),
        "accuracy": accuracy_,
        "sha256": weights_digest(model),
    }
    cache.save(path, payload)


def load(path: Path, key: dict[str, Any]) -> tuple[Classifier, float] | None:
    payload = cache.load(path, key)
    if payload is None:
        return None
    model = Classifier(**payload["config"])
    model.load_state_dict(payload["state_dict"])
    return model.eval().requires_grad_(False), float(payload["accuracy"])


def timed_train(
    images: Tensor, labels: Tensor, num_classes: int, **kwargs: Any
) -> tuple[Classifier, float]:
    started = time.perf_counter()
    logger.info(
        "training the metrics classifier on %d images (%d steps; cached for later runs)",
        images.shape[0],
        int(kwargs.get("steps", 1000)),
    )
    model, acc = train_classifier(images, labels, num_classes, **kwargs)
    logger.info(
        "trained the metrics classifier on %d images in %.0f s: held-out accuracy %.4f",
        images.shape[0],
        time.perf_counter() - started,
        acc,
    )
    return model, acc
