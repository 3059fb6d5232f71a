"""Each variant preset carries its paper's settings, and trains for 2 iterations on digits."""

from pathlib import Path

import pytest
import torch

from gans.train import train
from tests.conftest import compose_config

PAPER = {
    # model: (loss, regularizers, optimizer class, lr, betas, n_critic)
    "dcgan": ("NonSaturating", [], "Adam", 2e-4, (0.5, 0.999), 1),
    "gan": ("NonSaturating", [], "Adam", 2e-4, (0.5, 0.999), 1),
    "wgan": ("Wasserstein", ["weight_clip"], "RMSprop", 5e-5, None, 5),
    "wgan_gp": ("Wasserstein", ["gradient_penalty"], "Adam", 1e-4, (0.0, 0.9), 5),
    "lsgan": ("LeastSquares", [], "Adam", 2e-4, (0.5, 0.999), 1),
    "sngan": ("Hinge", [], "Adam", 2e-4, (0.0, 0.9), 5),
    "r1gan": ("NonSaturating", ["r1"], "RMSprop", 1e-4, None, 1),
}


def regularizers(cfg):
    return sorted(k for k, v in cfg.regularizer.items() if v and "_target_" in v)


@pytest.mark.parametrize("model", sorted(PAPER))
def test_preset_has_paper_values(model):
    loss, regs, opt, lr, betas, n_critic = PAPER[model]
    overrides = [f"model={model}", "paths.run_dir=/x"]
    if model == "dcgan":
        overrides.append("~preset")  # preset/dcgan_digits trades paper values for the CPU budget
    cfg = compose_config(overrides)
    assert cfg.loss._target_.endswith(loss)
    assert regularizers(cfg) == regs
    for player in ("generator", "discriminator"):
        node = cfg.optimizer[player]
        assert node._target_ == f"torch.optim.{opt}"
        assert node.lr == lr
        if betas:
            assert tuple(node.betas) == betas
    assert cfg.model.n_critic == n_critic


def test_specific_paper_details():
    wgan = compose_config(["model=wgan", "paths.run_dir=/x"])
    assert wgan.regularizer.weight_clip.clip == 0.01
    assert dict(wgan.model.critic_boost) == {"steps": 100, "first": 25, "every": 500}
    gp = compose_config(["model=wgan_gp", "paths.run_dir=/x"])
    assert (
        gp.regularizer.gradient_penalty.weight == 10 and gp.regularizer.gradient_penalty.target == 1
    )
    assert gp.model.discriminator.norm == "layer"  # no BatchNorm in the critic
    sn = compose_config(["model=sngan", "paths.run_dir=/x"])
    assert sn.model.discriminator.spectral_norm and sn.model.discriminator.norm == "none"
    r1 = compose_config(["model=r1gan", "paths.run_dir=/x"])
    assert r1.regularizer.r1.gamma == 10
    ls = compose_config(["model=lsgan", "paths.run_dir=/x"])
    assert (ls.loss.a, ls.loss.b, ls.loss.c) == (0, 1, 1)


def test_command_line_choices_beat_the_preset():
    cfg = compose_config(
        ["model=wgan_gp", "loss=hinge", "regularizer=r1", "optimizer=ttur", "paths.run_dir=/x"]
    )
    assert cfg.loss._target_.endswith("Hinge")
    assert regularizers(cfg) == ["r1"]
    assert cfg.optimizer.generator.lr == 1e-4 and cfg.optimizer.discriminator.lr == 4e-4
    assert cfg.model.n_critic == 5


def adam_like_steps(ckpt, index):
    state = ckpt["optimizer_states"][index]["state"]
    return int(next(iter(state.values()))["step"])


@pytest.mark.parametrize("model", sorted(PAPER))
def test_two_iterations_of_every_preset_on_digits(tiny_config, tmp_path, model):
    summary = train(tiny_config(f"model={model}", "iterations=2", "logger=csv"))
    assert summary["iterations"] == 2
    ckpt = torch.load(tmp_path / "run/checkpoints/last.ckpt", weights_only=True)
    d_steps = adam_like_steps(ckpt, 0)
    expected = {"wgan": 200}.get(model, 2 * PAPER[model][5])  # WGAN: 100 critic steps early on
    assert d_steps == expected
    header = (tmp_path / "run/csv/metrics.csv").read_text().splitlines()[0]
    assert "grad_norm/d" in header and "grad_norm/g" in header
    if PAPER[model][0] == "Wasserstein":
        assert "wasserstein_estimate" in header
    for reg in PAPER[model][1]:
        if reg != "weight_clip":
            assert f"reg/{reg}" in header


def test_wgan_critic_boost_can_be_turned_off(tiny_config, tmp_path):
    train(tiny_config("model=wgan", "iterations=2", "model.critic_boost.steps=0", "logger=none"))
    ckpt = torch.load(tmp_path / "run/checkpoints/last.ckpt", weights_only=True)
    assert adam_like_steps(ckpt, 0) == 10


def test_gradient_clipping_bounds_the_step(tiny_config, tmp_path):
    train(tiny_config("iterations=1", "optimizer.clip_grad_norm.discriminator=1e-6", "logger=none"))
    ckpt = torch.load(tmp_path / "run/checkpoints/last.ckpt", weights_only=True)
    d_state = ckpt["optimizer_states"][0]["state"].values()
    # after one Adam step exp_avg = (1 - beta1) * clipped gradient
    norm = torch.linalg.vector_norm(torch.stack([s["exp_avg"].norm() for s in d_state]))
    assert norm.item() == pytest.approx(0.5 * 1e-6, rel=1e-3)
    g_state = ckpt["optimizer_states"][1]["state"].values()
    g_norm = torch.linalg.vector_norm(torch.stack([s["exp_avg"].norm() for s in g_state]))
    assert g_norm.item() > 1e-4  # the generator is not clipped


def test_ema_generator_is_checkpointed_and_used_for_samples(tiny_config, tmp_path):
    train(tiny_config("iterations=3", "ema.enabled=true", "logger=none"))
    ckpt = torch.load(tmp_path / "run/checkpoints/last.ckpt", weights_only=True)
    ema_keys = [k for k in ckpt["state_dict"] if k.startswith("generator_ema.")]
    assert "generator_ema.n_averaged" in ema_keys
    assert int(ckpt["state_dict"]["generator_ema.n_averaged"]) == 3
    live = ckpt["state_dict"]["generator.net.0.weight"]
    avg = ckpt["state_dict"]["generator_ema.module.net.0.weight"]
    assert not torch.equal(live, avg)


CPU_SIZED = ("wgan", "wgan_gp", "sngan", "r1gan")


@pytest.mark.parametrize("model", CPU_SIZED)
def test_the_cpu_presets_keep_the_paper_settings_and_only_narrow_the_networks(model):
    """On data=mnist the preset narrows the DCGAN networks; preset=none is the paper's width;
    everything else is the same configuration."""
    sized = compose_config([f"model={model}", "paths.run_dir=/x"])
    paper = compose_config([f"model={model}", "preset=none", "paths.run_dir=/x"])
    assert (sized.model.generator.base_channels, sized.model.discriminator.base_channels) == (
        32,
        16,
    )
    assert paper.model.generator.base_channels == paper.model.discriminator.base_channels == 64
    for cfg in (sized, paper):
        cfg.model.generator.base_channels = cfg.model.discriminator.base_channels = 0
    assert sized == paper


def test_the_applied_preset_is_named_with_its_first_sentence_and_the_way_out():
    from gans.presets import applied_line

    line = applied_line("wgan_gp_mnist")
    assert line.startswith("preset wgan_gp_mnist applied (")
    assert "WGAN-GP on the real MNIST digits (data=mnist), sized for a CPU" in line
    assert line.endswith("preset=none trains the model's own (the paper's) settings.")
    assert applied_line("wgan_gp_cifar10") is None  # no such preset: nothing applied
    assert applied_line("none") is None and applied_line(None) is None


def test_every_preset_says_what_it_is_in_its_first_sentence():
    from gans.configs import CONF_DIR
    from gans.presets import header

    for path in sorted((Path(CONF_DIR) / "preset").glob("*.yaml")):
        first = header(path)
        assert 20 < len(first) < 400 and first.endswith("."), (path.name, first)
