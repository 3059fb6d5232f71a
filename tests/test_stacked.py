"""Stacked-MNIST mode count: the counting, the channel order, and a short run that logs it."""

from __future__ import annotations

import csv
import json
import math

import pytest
import torch
from torch import nn

from gans.metrics.stacked import digit_readings, digit_triples, mode_count, stacked_scores
from gans.train import train
from tests import layouts
from tests.conftest import TINY, compose_config


def test_every_triple_once_is_1000_modes_and_kl_0():
    assert mode_count(torch.arange(1000)) == pytest.approx({"modes": 1000.0, "kl": 0.0})


def test_one_triple_is_one_mode_and_kl_log_1000():
    assert mode_count(torch.full((26_000,), 417)) == pytest.approx(
        {"modes": 1.0, "kl": math.log(1000)}
    )


def test_two_triples_half_each_is_kl_log_500():
    got = mode_count(torch.tensor([3, 999] * 50))
    assert got == pytest.approx({"modes": 2.0, "kl": math.log(500)})


class Brightness(nn.Module):
    """A stand-in digit classifier: digit k for mean brightness nearest to -1 + 2k/9."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        assert x.shape[1] == 1  # one channel at a time
        centres = torch.linspace(-1, 1, 10)
        return -(x.mean(dim=(1, 2, 3))[:, None] - centres).abs()


def test_triples_read_red_green_blue_as_hundreds_tens_units():
    level = torch.linspace(-1, 1, 10)
    images = torch.stack(
        [
            torch.stack([torch.full((8, 8), level[d]) for d in digits])
            for digits in ((1, 2, 3), (9, 0, 5), (0, 0, 0))
        ]
    )
    assert digit_triples(images, Brightness()).tolist() == [123, 905, 0]


class Sure(nn.Module):
    """A stand-in classifier whose softmax is 0.95 on digit 7 when the channel is bright and
    uniform over the ten digits when it is dark (a blurry channel)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bright = (x.mean(dim=(1, 2, 3)) > 0)[:, None]
        peaked = torch.full((x.shape[0], 10), 0.05 / 9).index_fill(1, torch.tensor([7]), 0.95)
        return torch.where(bright, peaked.log(), torch.zeros(x.shape[0], 10))


def test_readings_report_the_softmax_confidence_of_each_channel():
    images = torch.stack(
        [torch.full((3, 8, 8), 1.0), torch.tensor([1.0, -1.0, 1.0])[:, None, None].expand(3, 8, 8)]
    )
    codes, confidence = digit_readings(images, Sure())
    assert codes[0] == 777
    assert confidence.flatten().tolist() == pytest.approx([0.95] * 4 + [0.1, 0.95])
    scores = stacked_scores(codes, confidence, threshold=0.9)
    # the blurry image's reading counts as a mode, but not as a confident one
    assert scores["modes"] == 2 and scores["confident_modes"] == 1
    assert scores["confident"] == 0.5
    assert scores["confidence"] == pytest.approx((0.95 * 5 + 0.1) / 6)


def test_a_short_stacked_mnist_run_logs_the_mode_count(tmp_path):
    layouts.mnist(tmp_path / "data", train=60, test=0)
    cfg = compose_config(
        [
            *[o for o in TINY if not o.startswith("metrics")],
            f"paths.run_dir={tmp_path / 'run'}",
            "data=stacked_mnist",
            f"data.root={tmp_path / 'data'}",
            "data.count=64",
            "data.num_workers=0",
            "iterations=2",
            "logger=csv",
            "metrics.every=2",
            "metrics.stacked.num_samples=300",
            "metrics.batch_size=128",
            "metrics.classifier.steps=3",
            f"metrics.cache_dir={tmp_path / 'cache'}",
        ]
    )
    summary = train(cfg)
    scores = summary["metrics"]
    assert set(scores) == {"modes", "kl", "confidence", "confident", "confident_modes"}
    assert 0.1 <= scores["confidence"] <= 1 and scores["confident_modes"] <= scores["modes"]
    assert 1 <= scores["modes"] <= 300 and 0 <= scores["kl"] <= math.log(1000) + 1e-9
    with open(next((tmp_path / "run").glob("csv/**/metrics.csv"))) as f:
        logged = [r for r in csv.DictReader(f) if r.get("stacked/modes")]
    assert [float(r["stacked/modes"]) for r in logged] == [scores["modes"]]
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["metrics"] == scores
    # the per-channel classifier was trained on the 1-channel digits (10 classes), and cached
    assert len(list((tmp_path / "cache").glob("classifier-*"))) == 1
