"""Real samples from a datamodule, and their features cached once per protocol."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Subset

from gans.data import cache
from gans.data.transforms import to_signed_unit
from gans.preparing import progress

logger = logging.getLogger(__name__)


def dataset_size(datamodule: Any) -> int:
    datamodule.setup("fit")
    if getattr(datamodule, "dataset", None) is not None:
        return len(datamodule.dataset)
    return len(datamodule.streamed)


def data_key(datamodule: Any) -> dict[str, Any]:
    """What identifies the data: the datamodule's cache key where it has one."""
    if hasattr(datamodule, "key"):
        key = datamodule.key()
        if getattr(datamodule, "holdout", 0):  # the training part only: another reference
            key = {**key, "holdout": int(datamodule.holdout)}
        return key
    return {"dataset": type(datamodule).__name__, "shape": list(datamodule.sample_shape)}


def derived_key(kind: str, datamodule: Any, **extra: Any) -> dict[str, Any]:
    """Cache key of something computed from the data (``kind``: reference, classifier, ...)."""
    key = data_key(datamodule)
    return {
        "dataset": f"{kind}-{key['dataset']}",
        "image_size": list(datamodule.sample_shape)[-1],
        "data": key,
        **extra,
    }


def real_images(
    datamodule: Any, n: int, batch_size: int = 500, seed: int = 0
) -> Iterator[tuple[Tensor, Tensor]]:
    """The first ``n`` samples of a fixed random order, in [-1, 1], with labels, in batches."""
    datamodule.setup("fit")
    total = dataset_size(datamodule)
    order = torch.randperm(total, generator=torch.Generator().manual_seed(seed))[:n]
    if getattr(datamodule, "dataset", None) is not None:
        images, labels = datamodule.dataset.images, datamodule.dataset.labels
        for idx in order.split(batch_size):
            yield to_signed_unit(images[idx]), labels[idx]
        return
    from gans.data.images import collate_readable

    loader = DataLoader(
        Subset(datamodule.streamed, order.tolist()), batch_size=batch_size,
        num_workers=datamodule.num_workers, collate_fn=collate_readable,
        generator=torch.Generator(),
    )  # fmt: skip
    for x, y in loader:
        yield to_signed_unit(x), y


@torch.no_grad()
def extract(
    net: nn.Module, batches: Iterator[tuple[Tensor, Tensor]], device: Any
) -> tuple[Tensor, Tensor]:
    """(features, logits) of every image, on the CPU."""
    features, logits = [], []
    for x, _ in batches:
        f, l_ = net((x.to(device).float() + 1) / 2)
        features.append(f.cpu())
        logits.append(l_.cpu())
    return torch.cat(features), torch.cat(logits)


def reference_features(
    net: nn.Module, datamodule: Any, n: int, cache_dir: str | None, device: Any = "cpu"
) -> Tensor:
    """Features of ``n`` real samples, cached on disk under a key of the data, the feature
    network (name, weights checksum, resize) and ``n``: a change in any recomputes them."""
    key = derived_key("reference", datamodule, features=[net.name, net.weights, net.resize], n=n)
    path = cache.cache_file(cache_dir or cache.user_cache_dir(), ".", key)
    payload = cache.load(path, key)
    if payload is not None:
        return payload["features"].clone()
    batches = progress(
        real_images(datamodule, n), -(-n // 500), f"reference features of {n} images", "batch"
    )
    features, _ = extract(net, batches, device)
    saved = cache.save(path, {"key": key, "features": features})
    logger.info("reference features: %d x %d, cached at %s", *features.shape, saved)
    return features
