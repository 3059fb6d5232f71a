"""Bad input a newcomer meets stops the command with one line on stderr, exit status 2 and no
traceback, before anything is spawned or trained."""

from __future__ import annotations

import pytest
import torch

from gans.errors import ConfigError
from gans.train import train
from tests import layouts
from tests.conftest import TINY, TINY_MLP, compose_config, run_train

NO_GPU = pytest.mark.skipif(torch.cuda.is_available(), reason="asserts a machine without a GPU")


def one_line_error(*overrides: str) -> str:
    result = run_train(*TINY, "logger=none", *overrides)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert result.returncode == 2, result.stderr
    assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr
    return errors[0]


@NO_GPU
@pytest.mark.parametrize(
    ("overrides", "said"),
    [
        (["seed=abc"], "error: seed=abc must be an integer"),
        (["optimizer.lr=-1"], "error: optimizer.lr=-1 must be a number > 0"),  # as written
        (["data=_images"], "error: data=_images is the base the image datasets share"),
        (["trainer=ddp"], "trainer=ddp_cpu runs the same DDP code path in CPU processes"),
        (["trainer.devices=4"], "use trainer=ddp_cpu trainer.devices=4"),
        (
            ["trainer.accelerator=cpu", "trainer.devices=2"],
            "need trainer=ddp (GPUs) or trainer=ddp_cpu",
        ),
        (
            ["model=pix2pix", "data=digits"],
            "model=pix2pix needs data.channels_a, which data=digits does not define: "
            "choose data=paired_folder",
        ),
    ],
    ids=[
        "seed",
        "lr",
        "data-base",
        "ddp-without-gpus",
        "devices-without-gpus",
        "devices-without-ddp",
        "pix2pix-on-digits",
    ],  # fmt: skip
)
def test_a_bad_setting_is_one_line(tmp_path, overrides, said):
    assert said in one_line_error(*overrides, f"hydra.run.dir={tmp_path}")
    assert not (tmp_path / "checkpoints").exists()


@pytest.mark.parametrize(
    ("overrides", "said"),
    [
        (
            ["model=cyclegan"],
            "error: model=cyclegan needs data.channels_a, which data=mnist does not define: "
            "choose data=unpaired_folder (with data.root=<folder>)",
        ),
        (
            ["model=vqgan_transformer"],
            "error: model.first_stage must be set, e.g. model.first_stage=<the stage-1 checkpoint "
            "(model=vqgan)> on the command line",
        ),
    ],
    ids=["cyclegan-on-the-default-data", "stage-2-without-stage-1"],
)
def test_a_model_that_cannot_start_on_the_default_data_says_what_it_needs(
    tmp_path, overrides, said
):
    result = run_train(*overrides, "logger=none", "metrics=none", f"hydra.run.dir={tmp_path}")
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert result.returncode == 2 and errors == [said], result.stderr[-2000:]
    assert "Traceback" not in result.stderr


def test_a_checkpoint_of_another_model_names_both(tmp_path):
    old = tmp_path / "old" / "checkpoints" / "last.ckpt"
    train(compose_config([*TINY, "iterations=1", "logger=none", f"paths.run_dir={old.parents[1]}"]))
    wider = one_line_error("model.generator.base_channels=16", f"ckpt_path={old}")
    assert "holds model=dcgan but this run builds model=dcgan" in wider
    assert "in the checkpoint and" in wider and "model.generator.base_channels" in wider
    result = run_train(*TINY_MLP, "model=gan", "logger=none", f"ckpt_path={old}")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert "holds model=dcgan but this run builds model=gan" in result.stderr
    assert "settings differ" not in result.stdout + result.stderr  # the refusal alone


def test_a_home_relative_data_root_is_expanded(tmp_path, monkeypatch):
    (tmp_path / "digits").mkdir()
    monkeypatch.setenv("HOME", str(tmp_path))
    said = one_line_error("data=image_folder", "data.root=~/digits", f"hydra.run.dir={tmp_path}/r")
    assert str(tmp_path / "digits") in said  # the expanded folder was read (and is empty)
    quoted = compose_config(
        [*TINY, "data=image_folder", "data.root='~/digits'", f"paths.run_dir={tmp_path}/q"]
    )
    with pytest.raises(ConfigError, match=str(tmp_path / "digits")):
        train(quoted)


def test_a_corrupt_image_read_by_a_loader_worker_is_named_in_one_line(tmp_path):
    root = tmp_path / "images"
    layouts.png_folder(root, {"a": 40})
    broken = sorted((root / "a").glob("*.png"))[7]
    broken.write_bytes(broken.read_bytes()[:60])
    said = one_line_error(
        "data=image_folder", f"data.root={root}", "data.channels=1", "data.in_memory=false",
        "data.num_workers=2", "data.on_corrupt=error", f"hydra.run.dir={tmp_path / 'run'}",
    )  # fmt: skip
    assert said.startswith(f"error: cannot read image {broken}")
    assert said.endswith("(in a DataLoader worker)")


@pytest.mark.parametrize(
    ("override", "said"),
    [
        ("optimizer.lrr=1", "error: optimizer.lrr is not a setting of this command"),
        ("model=dcgn", "error: model=dcgn is not an option; allowed: acgan, biggan,"),
        ("seed=[1", "error: cannot parse the command line: no viable alternative"),
    ],
    ids=["unknown-key", "unknown-option", "syntax"],
)
def test_a_command_line_hydra_cannot_compose_is_one_line_and_exit_2(tmp_path, override, said):
    assert said in one_line_error(override, f"hydra.run.dir={tmp_path}")
    assert not tmp_path.exists() or not any(tmp_path.iterdir())
