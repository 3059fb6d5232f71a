"""A training step that does not log reads nothing back from the device (on a GPU each read waits
for every queued kernel): the Python-level reads (``item``, ``tolist``, ``bool``, ``float``,
``int``) made between two logging steps are counted while the real loop runs."""

from __future__ import annotations

import traceback

import lightning as L
import pytest
import torch

from gans.train import train
from tests.conftest import compose_config

READS = ("item", "tolist", "__bool__", "__float__", "__int__")


class CountReads(L.Callback):
    """Counts reads of tensor values from the end of iteration ``start`` to that of ``stop``."""

    def __init__(self, start: int, stop: int) -> None:
        self.start, self.stop = start, stop
        self.where: list[str] = []
        self._saved: dict[str, object] = {}

    def _install(self) -> None:
        for name in READS:
            original = getattr(torch.Tensor, name)
            self._saved[name] = original

            def counted(tensor, *args, _original=original, _name=name, **kwargs):
                frame = traceback.extract_stack(limit=3)[0]
                self.where.append(f"{_name} at {frame.filename}:{frame.lineno}")
                return _original(tensor, *args, **kwargs)

            setattr(torch.Tensor, name, counted)

    def _remove(self) -> None:
        for name, original in self._saved.items():
            setattr(torch.Tensor, name, original)
        self._saved = {}

    def on_train_batch_end(self, trainer, *args) -> None:
        if trainer.global_step == self.start and not self._saved:
            self._install()
        elif trainer.global_step == self.stop:
            self._remove()

    def on_train_end(self, *args) -> None:
        self._remove()


COMMON = ["data=digits", "data.image_size=16", "data.batch_size=16", "logger=csv",
          "log_every=50", "sample_every=0", "checkpoint_every=0", "metrics=none",
          "trainer.enable_progress_bar=false", "trainer.enable_model_summary=false"]  # fmt: skip


@pytest.mark.parametrize(
    "overrides",
    [
        [
            "model.generator.base_channels=8",
            "model.discriminator.base_channels=8",
            "ema.enabled=true",
        ],
        ["model=infogan"],
        ["model=acgan", "model.generator.base_channels=8", "model.discriminator.base_channels=8"],
    ],  # fmt: skip
    ids=["dcgan-ema-health", "infogan", "acgan"],
)
def test_steps_between_logging_steps_read_nothing_back(tmp_path, overrides):
    # with log_every=50 iterations 6 to 9 neither log, check finiteness nor start an epoch
    counter = CountReads(start=5, stop=9)
    cfg = compose_config([*COMMON, *overrides, "iterations=10", f"paths.run_dir={tmp_path}"])
    train(cfg, extra_callbacks=[counter])
    assert counter.where == []


def test_after_a_logging_step_the_progress_values_are_plain_floats(tmp_path):
    counter = CountReads(start=2, stop=6)
    cfg = compose_config([*COMMON, "model.generator.base_channels=8",
                          "model.discriminator.base_channels=8", "log_every=2", "iterations=7",
                          f"paths.run_dir={tmp_path}"])  # fmt: skip
    train(cfg, extra_callbacks=[counter])
    # the logging steps 4 and 6 read their scalars once each (one tolist per log), nothing else
    reads = [w for w in counter.where if "tolist" not in w]
    assert reads == [], reads
