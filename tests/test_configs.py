"""Every option of every config group composes, and bad choices fail with a useful message."""

import subprocess
import sys
from pathlib import Path

import pytest
from hydra.errors import MissingConfigException
from hydra.utils import instantiate
from omegaconf import OmegaConf

from gans.errors import ConfigError
from gans.train import CONF_DIR, build_model, train
from tests.conftest import compose_config

GROUPS = {
    p.name: sorted(f.stem for f in p.glob("*.yaml") if not f.stem.startswith("_"))
    for p in Path(CONF_DIR).iterdir()
    if p.is_dir() and p.name != "preset"
}
CHOICES = [(group, option) for group, options in GROUPS.items() for option in options]


def test_default_is_dcgan_on_the_shipped_mnist_digits():
    cfg = compose_config(["paths.run_dir=/tmp/x"])
    assert cfg.model.name == "dcgan" and cfg.data.name == "mnist"
    assert cfg.data.root == "builtin" or "GANS_DATA_DIR" in __import__("os").environ
    # preset/dcgan_mnist.yaml applies: experiments/default_run's search
    assert (cfg.model.generator.base_channels, cfg.model.discriminator.base_channels) == (32, 16)
    assert cfg.optimizer.beta1 == 0.5 and cfg.optimizer.generator.lr == 1.84e-3
    assert cfg.ema.enabled and cfg.ema.decay == 0.99


# options that only make sense with a partner choice
PARTNERS = {
    ("data", "dirac"): ["model=dirac"],
    ("data", "image_folder"): ["data.root=/tmp"],
    ("data", "ring"): ["model=gan", "model.generator.output=linear"],
    ("data", "grid"): ["model=gan", "model.generator.output=linear"],
    ("optimizer", "vae"): ["model=vae"],  # the VAE's players are an encoder and a decoder
    ("model", "pix2pix"): ["data=paired_folder", "data.root=/tmp", "data.image_size=32"],
    ("model", "cyclegan"): ["data=unpaired_folder", "data.root=/tmp", "data.image_size=32"],
    ("data", "paired_folder"): ["model=pix2pix", "data.root=/tmp", "data.image_size=32"],
    ("data", "unpaired_folder"): ["model=cyclegan", "data.root=/tmp", "data.image_size=32"],
    ("optimizer", "vqgan"): ["model=vqgan"],
    ("optimizer", "vqgan_transformer"): ["model=vqgan_transformer"],
}
#: options whose model needs a trained first stage (model.first_stage=<a model=vqgan checkpoint>)
STAGE_TWO = {("model", "vqgan_transformer"), ("optimizer", "vqgan_transformer")}


@pytest.fixture(scope="module")
def stage_one(tmp_path_factory) -> str:
    """A one-iteration model=vqgan checkpoint for the stage-2 configs to read."""
    run = tmp_path_factory.mktemp("stage_one")
    train(compose_config([
        "model=vqgan", "data=digits", "data.holdout=0", "model.encoder.ch=8",
        "model.perceptual.kind=none", "iterations=1", "metrics=none", "logger=none",
        "trainer.enable_progress_bar=false", "trainer.enable_model_summary=false",
        f"paths.run_dir={run}",
    ]))  # fmt: skip
    return str(run / "checkpoints" / "last.ckpt")


@pytest.mark.parametrize(("group", "option"), CHOICES)
def test_every_config_composes_and_resolves(group, option, request):
    partner = PARTNERS.get((group, option), [])
    if (group, option) in STAGE_TWO:
        partner = [*partner, f"model.first_stage={request.getfixturevalue('stage_one')}"]
    cfg = compose_config([f"{group}={option}", *partner, "paths.run_dir=/tmp/x"])
    resolved = OmegaConf.to_container(cfg, resolve=True)
    assert resolved["paths"]["run_dir"] == "/tmp/x"
    if group in ("model", "loss", "optimizer", "data"):
        build_model(cfg)
        instantiate(cfg.data.datamodule)
    for sub in ("logger", "callbacks"):
        if cfg.get(sub):
            for node in cfg[sub].values():
                assert "_target_" in node


def test_model_preset_brings_its_defaults_but_the_command_line_wins():
    cfg = compose_config(["model=gan", "loss=minimax", "optimizer.lr=1e-3", "paths.run_dir=/x"])
    assert cfg.loss._target_ == "gans.losses.Minimax"
    assert cfg.optimizer.generator.lr == 1e-3
    assert cfg.model.latent.dim == 28


def test_two_time_scale_learning_rates():
    cfg = compose_config(["optimizer.discriminator.lr=4e-4", "paths.run_dir=/x"])
    model = build_model(cfg)
    d_opt, g_opt = model.configure_optimizers()
    assert d_opt.param_groups[0]["lr"] == 4e-4 and g_opt.param_groups[0]["lr"] == 1.84e-3
    assert d_opt.param_groups[0]["betas"] == (0.5, 0.999)


def test_unknown_option_lists_the_available_ones():
    with pytest.raises(MissingConfigException) as info:
        compose_config(["model=nope"])
    assert "dcgan" in str(info.value) and "gan" in str(info.value)


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("data.image_size=24", "data.image_size=24"),
        ("optimizer.lr=-1", "optimizer.lr=-1"),  # the key as the user wrote it
        ("optimizer.discriminator.lr=0", "optimizer.discriminator.lr=0"),
        ("model.n_critic=0", "model.n_critic=0"),
        ("model.n_gen=-2", "model.n_gen=-2"),
        ("iterations=0", "iterations=0"),
        ("model.latent.prior=cauchy", "model.latent.prior=cauchy"),
        ("model.pack=0", "model.pack=0"),
        ("model.pack=3", "model.pack=3 needs data.batch_size divisible by it, got 16"),
        ("check_finite_every=-1", "check_finite_every=-1"),
        ("health.every=0", "health.every=0"),
        ("health.patience=1.5", "health.patience=1.5"),
    ],
)
def test_bad_values_stop_before_training_naming_the_key(tiny_config, override, key, tmp_path):
    cfg = tiny_config(override)
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        train(cfg)
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_command_line_error_is_one_line(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "gans.train", "data.image_size=24", f"hydra.run.dir={tmp_path}"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert lines == [
        "error: data.image_size=24 cannot be built by the DCGAN networks; "
        "allowed: powers of two >= 16 (16, 32, 64, 128, 256)"
    ]


def test_model_and_data_that_do_not_fit_fail_with_one_line(tmp_path):
    cfg = compose_config(["data=dirac", f"paths.run_dir={tmp_path}"])
    with pytest.raises(
        ConfigError, match=r"model.generator.image_size needs \$\{data.image_size\}"
    ):
        train(cfg)


def test_a_data_override_of_a_restored_run_reaches_its_resolved_datamodule():
    from gans.restore import run_config

    saved = compose_config(["data=image_folder", "data.root=/old", "paths.run_dir=/tmp/x"])
    checkpoint = {"gans": {"config": OmegaConf.to_container(saved, resolve=True)}}
    cfg = run_config(checkpoint, {"data": {"root": "/new", "batch_size": 8}})
    assert cfg.data.root == "/new" and cfg.data.datamodule.root == "/new"
    assert cfg.data.datamodule.batch_size == 8
    cfg = run_config(checkpoint, {"data": {"root": "/new", "datamodule": {"root": "/other"}}})
    assert cfg.data.datamodule.root == "/other"  # an explicit datamodule value wins
