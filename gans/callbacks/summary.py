"""The game's networks in one line at the start of training, in place of Lightning's model table.

Lightning's table has a FLOPs column that reads 0 for every game (it counts FLOPs only through
``example_input_array`` and a game's ``forward`` is not what trains), lists the parameter-free
loss-term container, and ends with eight lines of totals and module modes. What a GAN user reads
from it is each network's size and whether it is trained; this is that line."""

from __future__ import annotations

import logging

import lightning as L
from lightning.pytorch.utilities import rank_zero_only
from lightning.pytorch.utilities.model_summary import ModelSummary, get_human_readable_count

log = logging.getLogger(__name__)


def networks_line(pl_module: L.LightningModule) -> str:
    """``networks: generator (Generator) 369 K, discriminator (Discriminator) 42.4 K,
    generator_ema (NetworkEMA) 369 K not trained | 781 K parameters, 3.1 MB``: every top-level
    network with parameters, marked when none of them is trained."""
    summary = ModelSummary(pl_module, max_depth=1)
    parts = []
    for name, kind, count, trained in zip(
        summary.layer_names,
        summary.layer_types,
        summary.param_nums,
        _trained(pl_module, summary.layer_names),
        strict=True,
    ):
        if count:
            note = "" if trained else " not trained"
            parts.append(f"{name} ({kind}) {get_human_readable_count(count).strip()}{note}")
    total = get_human_readable_count(summary.total_parameters).strip()
    return f"networks: {', '.join(parts)} | {total} parameters, {summary.model_size:.1f} MB"


def _trained(pl_module: L.LightningModule, names: list[str]) -> list[bool]:
    return [
        any(p.requires_grad for p in pl_module.get_submodule(name).parameters()) for name in names
    ]


class NetworksSummary(L.Callback):
    """Logs :func:`networks_line` once, when training starts (Hydra's log handler puts it in
    ``train.log`` too)."""

    @rank_zero_only
    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        log.info(networks_line(pl_module))
