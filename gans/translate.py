"""`python -m gans.translate ckpt=<file> input=<folder> output=<folder> [direction=AtoB]`:
apply a trained translation generator (Pix2Pix, CycleGAN) to a folder of images.

Each image is read as the training read it: converted to the source domain's channels, resized
to the run's ``data.load_size`` and center-cropped to ``data.image_size`` (the training's random
crop and flip are left out), mapped to [-1, 1]; the generator runs in eval mode (BatchNorm's
running statistics, no dropout), so the outputs are the ones the training's grids and metrics
show. One PNG per input, at the same relative path, is written to ``output``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import hydra
import torch
from omegaconf import DictConfig
from torchvision.utils import save_image

from gans import restore
from gans.cli import command, reports_config_errors
from gans.configs import CONF_DIR
from gans.data.folder import is_image
from gans.data.pairs import center_crop
from gans.data.transforms import Preprocess, open_image, to_signed_unit
from gans.errors import ConfigError
from gans.metrics.held_out import translator
from gans.validate import check_required


def image_files(folder: Path) -> list[Path]:
    """Every image under ``folder`` (recursively, hidden folders skipped), sorted."""
    if not folder.is_dir():
        raise ConfigError(f"input={folder} is not a folder")
    found = []
    for base, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [Path(base) / n for n in names if is_image(n)]
    if not found:
        raise ConfigError(f"input={folder} holds no images")
    return sorted(found)


def translate(cfg: DictConfig) -> dict[str, Any]:
    """Translate ``cfg.input`` into ``cfg.output``; returns what was done, for the summary line."""
    check_required(cfg)
    run, model, iteration = restore.restore(cfg.ckpt)
    if not model.translates:
        raise ConfigError(
            f"ckpt={cfg.ckpt} holds model={run.model.get('name')}, not a translation model "
            "(pix2pix, cyclegan): use python -m gans.sample for it"
        )
    direction = str(cfg.direction)
    if direction not in ("AtoB", "BtoA"):
        raise ConfigError(f"direction={direction} is unknown; allowed: AtoB, BtoA")
    channels = model.in_channels if direction == "AtoB" else model.out_channels
    size = int(run.data.image_size)
    load = int(run.data.get("load_size") or size)
    device = restore.device(cfg.device)
    model.to(device)
    run_translation = translator(model, ema=bool(cfg.ema) and model.uses_ema)
    preprocess = Preprocess(load, channels)
    source, target = Path(cfg.input), Path(cfg.output)
    files = image_files(source)
    check_not_side_by_side(files[0], model, bool(cfg.pairs), direction)
    for start in range(0, len(files), int(cfg.batch_size)):
        chunk = files[start : start + int(cfg.batch_size)]
        images = torch.stack([preprocess(half(open_image(f), cfg.pairs, direction)) for f in chunk])
        x = center_crop(to_signed_unit(images), size).to(device)
        made = run_translation(x, direction).cpu()
        for file, image in zip(chunk, made, strict=True):
            out = (target / file.relative_to(source)).with_suffix(".png")
            out.parent.mkdir(parents=True, exist_ok=True)
            save_image((image.clamp(-1, 1) + 1) / 2, out)
    return {
        "count": len(files),
        "iteration": iteration,
        "model": run.model.get("name"),
        "preprocessing": f"{'grey' if channels == 1 else 'RGB'}, resized to {load}, "
        f"center crop {size}",
        "generator": "EMA" if bool(cfg.ema) and model.uses_ema else "trained",
    }


def check_not_side_by_side(file: Path, model: Any, pairs: bool, direction: str) -> None:
    """A paired model's own A|B folders (each image twice as wide as high) need ``pairs=true``;
    without it the whole pair would be squeezed into one input: one line instead."""
    if pairs or not getattr(model, "paired", False):
        return
    width, height = open_image(file).size
    if width == 2 * height:
        side = "A (left)" if direction == "AtoB" else "B (right)"
        raise ConfigError(
            f"input={file.parent} holds A|B side-by-side images ({file.name} is {width}x{height}), "
            f"as a paired model's folders do: add pairs=true to translate their {side} half"
        )


def half(image: Any, pairs: bool, direction: str) -> Any:
    """The source half of an A|B side-by-side image (``pairs``), else the image."""
    if not pairs:
        return image
    width, height = image.size
    box = (0, 0, width // 2, height) if direction == "AtoB" else (width // 2, 0, width, height)
    return image.crop(box)


@command
@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="translate")
@reports_config_errors
def main(cfg: DictConfig) -> None:
    done = translate(cfg)
    print(
        f"translated {done['count']} images {cfg.direction} from {cfg.input} into {cfg.output} "
        f"with {done['model']} at iteration {done['iteration']} ({done['generator']} "
        f"generator, eval mode: BatchNorm running statistics, no dropout; preprocessing as in "
        f"training without its random crop and flip: {done['preprocessing']})"
    )


if __name__ == "__main__":
    main()
