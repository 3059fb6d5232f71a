"""The trust boundary's pieces (gans/trust.py, the finite check, cache checksums), in process and
fast; tests/faults/test_trust.py tries the payloads through every command."""

from __future__ import annotations

import logging
import math

import pytest
import torch

from gans.configs import CONF_DIR
from gans.data import cache
from gans.errors import ConfigError, TrainingDiverged
from gans.restore import restore
from gans.train import train
from gans.trust import check_config, defined_targets, nonfinite, read_checkpoint
from tests.conftest import TINY, compose_config

QUIET = [*TINY, "logger=none"]


def test_the_allow_list_is_the_exact_names_the_package_configs_define():
    everywhere, restorable = defined_targets(CONF_DIR)
    assert {"gans.nets.dcgan.Generator", "gans.games.gan.GANGame", "torch.optim.Adam"} <= restorable
    # built only from the command line, never from a checkpoint's model/data/... groups
    assert "lightning.Trainer" in everywhere and "lightning.Trainer" not in restorable
    assert not any(t.endswith(("os.system", "hub.load", "write_file")) for t in everywhere)


@pytest.mark.parametrize(
    ("config", "said"),
    [
        (
            {"model": {"generator": {"_target_": "torchvision.datasets.utils.os.system"}}},
            "model.generator._target_='torchvision.datasets.utils.os.system' is refused",
        ),
        (
            {"model": {"generator": {"_target_": "lightning.Trainer"}}},
            "model.generator._target_='lightning.Trainer'",
        ),
        (
            {"ema": {"decay": {"_target_": "gans.nets.dcgan.Generator", "_args_": [1]}}},
            "ema.decay._args_ is refused",
        ),
        (
            {"optimizer": {"generator": {"_target_": "torch.optim.Adam", "_partial_": "yes"}}},
            "optimizer.generator._partial_='yes'",
        ),
        ({"data": {"root": "${oc.env:HOME}"}}, "data.root='${oc.env:HOME}'"),
        ({"model": {"layers": [1, {"_target_": 3}]}}, "model.layers.1._target_=3"),
        ({"model": {1: "x"}}, "model.1 is refused: a key of type int"),
        ({"model": {"w": torch.ones(1)}}, "model.w is refused: a value of type Tensor"),
    ],
    ids=["chain", "misplaced", "args", "partial", "interpolation", "list", "key", "tensor"],
)
def test_a_stored_config_that_could_choose_code_is_refused_naming_the_key(config, said):
    with pytest.raises(ConfigError, match="^f.ckpt: ") as caught:
        check_config(config, "f.ckpt")
    assert said in str(caught.value) and "\n" not in str(caught.value)


def test_a_genuine_config_passes_and_trusted_names_extend_the_list():
    check_config(
        {"trainer": {"_target_": "lightning.Trainer"},
         "optimizer": {"generator": {"_target_": "torch.optim.Adam", "_partial_": True}}},
        "f.ckpt",
    )  # fmt: skip
    mine = {"model": {"generator": {"_target_": "mypackage.Net"}}}
    with pytest.raises(ConfigError):
        check_config(mine, "f.ckpt")
    check_config(mine, "f.ckpt", trusted={"mypackage.Net"})


def test_nonfinite_names_the_first_bad_tensor_at_any_depth():
    state = {
        "a": torch.ones(2),
        "opt": [{"state": {0: {"exp_avg": torch.tensor([1.0, math.inf])}}}],
    }
    assert nonfinite(state) == "opt.0.state.0.exp_avg"
    assert nonfinite({"a": torch.ones(2), "step": torch.tensor(3)}) is None


@pytest.fixture
def checkpoint(tmp_path):
    train(compose_config([*QUIET, "iterations=1", f"paths.run_dir={tmp_path / 'run'}"]))
    return tmp_path / "run" / "checkpoints" / "last.ckpt"


def test_a_non_finite_or_shape_edited_checkpoint_is_refused_by_restore(checkpoint, tmp_path):
    ckpt = torch.load(checkpoint, weights_only=True)
    name = next(k for k in ckpt["state_dict"] if k.startswith("generator."))
    bad = {**ckpt, "state_dict": {**ckpt["state_dict"]}}
    bad["state_dict"][name] = bad["state_dict"][name] * math.nan
    torch.save(bad, tmp_path / "nan.ckpt")
    with pytest.raises(ConfigError, match=rf"holds non-finite values \(state_dict.{name} has NaN"):
        restore(tmp_path / "nan.ckpt")
    bad["state_dict"][name] = torch.zeros(3, 3)
    torch.save(bad, tmp_path / "shape.ckpt")
    with pytest.raises(ConfigError, match=rf"its tensors do not fit .*{name} is \(3, 3\)"):
        restore(tmp_path / "shape.ckpt")
    with pytest.raises(ConfigError, match="is a directory"):
        read_checkpoint(tmp_path, "ckpt")


def test_a_diverged_model_is_never_saved_and_the_note_names_no_file(tmp_path):
    """The generator's weights go Inf at iteration 1 while its loss is still finite: the full
    check before the first checkpoint stops the run, and no checkpoint exists to be named."""
    cfg = compose_config([*QUIET, "iterations=5", "optimizer.generator.lr=1e39",
                          "ema.enabled=false", f"paths.run_dir={tmp_path}"])  # fmt: skip
    with pytest.raises(TrainingDiverged) as caught:
        train(cfg)
    message = str(caught.value)
    assert "the generator's parameter generator." in message and "at iteration 1" in message
    assert "No checkpoint was written" in message and "Last good" not in message
    assert not (tmp_path / "checkpoints").exists() and not list(tmp_path.glob("samples/*.png"))


def test_a_cache_damaged_on_disk_is_a_warning_and_a_rebuild(tmp_path, caplog):
    key = {"dataset": "d", "image_size": 8}
    path = cache.cache_file(tmp_path, tmp_path, key)
    images = torch.randint(0, 255, (4096, 1, 16, 16), dtype=torch.uint8)
    cache.save(path, {"key": key, "images": images})
    assert torch.equal(cache.load(path, key)["images"], images)
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 4096] = bytes(4096)  # inside the pixels: the file still loads
    path.write_bytes(bytes(data))
    assert not torch.equal(torch.load(path, weights_only=True)["images"], images)
    with caplog.at_level(logging.WARNING, logger="gans.data.cache"):
        assert cache.load(path, key) is None
    assert "do not match its checksum" in caplog.text
