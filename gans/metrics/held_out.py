"""The held-out images a translation or reconstruction is scored on, and a game's outputs for
them: what the training callbacks and ``gans.evaluate`` both score."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from gans.data.paired import PairedFolderDataModule
from gans.errors import ConfigError
from gans.games.abilities import Quantizes
from gans.nets.modes import evaluating
from gans.nets.quantizer import code_statistics

#: the evaluator's names -> the logged names (the FID of reconstructions is rFID)
RENAMED = {"fid": "rfid", "kid": "rkid", "kid_std": "rkid_std"}


def translator(game: Any, ema: bool = True) -> Any:
    """``translate(x, direction="AtoB")`` of a translation game, in eval mode and without
    gradients."""

    @torch.no_grad()
    def run(x: Tensor, direction: str = "AtoB") -> Tensor:
        networks = [game.network(name, ema) for name in game.sampled]
        with evaluating(*networks):
            return game.translate(x, ema=ema, direction=direction)

    return run


def held_out(datamodule: Any) -> dict[str, Any]:
    """The datamodule's held-out images: ``{"paired": (a, b)}`` or ``{"A": .., "B": ..}``;
    empty when there is no test split."""
    if isinstance(datamodule, PairedFolderDataModule):
        pairs = datamodule.held_out()
        return {} if pairs is None else {"paired": (pairs.a, pairs.b)}
    found = {letter: datamodule.held_out(letter) for letter in ("A", "B")}
    return found if any(v is not None for v in found.values()) else {}


def raise_no_test(datamodule: Any) -> None:
    """The one-line error for translation metrics on data without a held-out split."""
    raise ConfigError(
        f"metrics for data={datamodule.name} are measured on its held-out split, which "
        f"{datamodule.root} does not have (data.test_split={datamodule.test_split}): add it, "
        "or use metrics=none"
    )


@torch.no_grad()
def score_reconstructions(evaluator: Any, game: Any, images: Tensor, ema: bool) -> dict[str, float]:
    """L1, PSNR, SSIM, rFID and rKID of ``game``'s reconstructions of ``images`` (eval mode)
    and, for a game with a codebook, its usage and perplexity over their codes, keyed
    ``<name>/<protocol tag>``."""
    device = game.device
    scores = evaluator.paired(
        lambda x: game.sample(x.shape[0], inputs=x, ema=ema), images, images, device, ema
    )
    scores = {
        f"{RENAMED.get(k.split('/')[0], k.split('/')[0])}/{k.split('/', 1)[1]}": v
        for k, v in scores.items()
    }
    if isinstance(game, Quantizes):
        stamp = evaluator.protocol(images.shape[0], images.shape[0], ema, evaluator.split)
        codes = game.code_indices(images, evaluator.batch_size, device)
        stats = code_statistics(codes, game.num_codes)
        scores.update((stamp.key(f"codebook_{k}"), float(v)) for k, v in stats.items())
    return scores
