"""Training on real loaders end to end, and the checks that run before training starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from gans.errors import ConfigError
from gans.train import train
from tests import layouts
from tests.conftest import MNIST_TEST, compose_config


def test_mnist_idx_layout_trains_and_writes_checkpoint_and_grid(tmp_path, tiny_config):
    layouts.mnist(tmp_path / "data", train=64, test=0)
    cfg = tiny_config(
        "data=mnist",
        f"data.root={tmp_path / 'data'}",
        "data.num_workers=0",
        "iterations=2",
        "logger=csv",
    )
    summary = train(cfg)
    assert summary["iterations"] == 2
    assert (Path(summary["checkpoints"]) / "last.ckpt").is_file()
    assert (Path(summary["samples"]) / "iter_000002.png").is_file()
    assert list((tmp_path / "data" / ".gans-cache").glob("mnist-train-16px-*.pt"))


def test_streamed_cifar10_trains(tmp_path, tiny_config):
    layouts.cifar10(tmp_path / "data", per_batch=8)
    cfg = tiny_config(
        "data=cifar10",
        f"data.root={tmp_path / 'data'}",
        "data.verify_checksums=false",
        "data.in_memory=false",
        "data.num_workers=0",
        "data.hflip=true",
        "iterations=2",
        "logger=none",
    )
    assert train(cfg)["iterations"] == 2


@pytest.mark.skipif(
    not MNIST_TEST.is_dir(), reason=f"{MNIST_TEST} is absent (beside the repo on dev and CI)"
)
def test_real_mnist_test_digits_train_as_an_image_folder(tiny_config, mnist_test_cache):
    cfg = tiny_config(
        "data=image_folder",
        f"data.root={MNIST_TEST}",
        "data.channels=1",
        f"data.cache_dir={mnist_test_cache}",
        "data.num_workers=2",
        "iterations=2",
        "logger=csv",
        "model.num_classes=10",  # class folders 0..9 are labels: a conditional DCGAN
    )
    summary = train(cfg)
    assert summary["iterations"] == 2 and (Path(summary["samples"]) / "iter_000002.png").is_file()


def test_data_root_follows_GANS_DATA_DIR(monkeypatch):
    monkeypatch.setenv("GANS_DATA_DIR", "/datasets")
    assert compose_config(["data=cifar10"]).data.root == "/datasets"
    monkeypatch.delenv("GANS_DATA_DIR")
    assert compose_config(["data=cifar10"]).data.root == "./data"


def _flat(tmp_path: Path) -> Path:
    for i in range(20):
        layouts.jpg(tmp_path / "flat" / f"{i}.jpg", size=(20, 20), seed=i)
    return tmp_path / "flat"


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        (
            ["model.num_classes=10"],
            "model.num_classes=10 asks for a class-conditional GAN but data=image_folder is "
            "unlabeled",
        ),
        (
            ["model.generator.channels=1"],
            r"model.generator makes samples of shape \(1, 16, 16\) but the data has \(3, 16, 16\)",
        ),
        (["data.channels=2"], "data.channels=2 is not supported; allowed: 1, 3"),
        (["data.on_corrupt=ignore"], "data.on_corrupt=ignore is unknown; allowed: skip, error"),
        (["data.batch_size=64"], "data.batch_size=64 is larger than the dataset"),
    ],
)
def test_data_that_does_not_fit_fails_before_training(tmp_path, tiny_config, overrides, match):
    cfg = tiny_config(
        "data=image_folder",
        f"data.root={_flat(tmp_path)}",
        "data.num_workers=0",
        "logger=none",
        *overrides,
    )
    with pytest.raises(ConfigError, match=match):
        train(cfg)
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_image_folder_without_root_names_the_key(tiny_config):
    with pytest.raises(ConfigError, match="data.root must be set for data=image_folder"):
        train(tiny_config("data=image_folder", "logger=none"))
