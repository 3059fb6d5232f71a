"""ProGAN, StyleGAN2 and their shared layers: equalized learning rate, minibatch stddev, the
fade-in, modulation/demodulation, the path length penalty, lazy phases with the optimizer
correction, truncation and style mixing; short real runs, exact resume mid-fade, DDP."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from gans import restore
from gans.errors import ConfigError
from gans.nets import progan, stylegan2
from gans.nets.equalized import EqualConv2d, EqualLinear, MinibatchStdDev
from gans.regularizers import PathLength
from gans.sample import sample as sample_cli
from gans.train import train
from tests.conftest import compose_config, run_train
from tests.test_resume import assert_same_state

ROOT = Path(__file__).resolve().parents[1]
QUIET = ["logger=none", "trainer.enable_progress_bar=false", "trainer.enable_model_summary=false"]
BASE = ["data=digits", "data.image_size=16", "data.batch_size=8", "metrics=none"]
SG2_TINY = [*BASE, "model=stylegan2", "model.generator.channel_base=64",
            "model.generator.channel_max=8", "model.latent.dim=8",
            "model.generator.w_dim=8"]  # fmt: skip
PG_TINY = [*BASE, "model=progan", "model.generator.channel_base=64",
           "model.generator.channel_max=8", "model.latent.dim=8",
           "model.schedule.fade_images=24", "model.schedule.stable_images=16"]  # fmt: skip


# ---------------------------------------------------------------------------- layers
def test_equalized_layers_scale_their_weights_by_hes_constant_at_run_time():
    torch.manual_seed(0)
    conv = EqualConv2d(3, 5, 3, gain=math.sqrt(2))
    x = torch.randn(2, 3, 8, 8)
    expected = F.conv2d(x, conv.weight * math.sqrt(2) / math.sqrt(3 * 9), conv.bias, padding=1)
    assert torch.allclose(conv(x), expected, atol=1e-6)
    assert conv.weight.std().item() == pytest.approx(1.0, abs=0.2)  # stored as N(0, 1)
    with torch.no_grad():
        conv.weight.mul_(2)  # the constant is applied at run time, not folded into the init
    assert torch.allclose(conv(x), 2 * expected - conv.bias[None, :, None, None], atol=1e-5)
    fc = EqualLinear(16, 4, lr_mul=0.01, bias_init=1.0)
    assert fc.weight.std().item() == pytest.approx(100.0, rel=0.3)  # N(0, 1) / lr_mul
    z = torch.randn(3, 16)
    assert torch.allclose(fc(z), z @ (fc.weight * 0.01 / 4).T + 1.0, atol=1e-5)


def test_minibatch_stddev_adds_one_channel_holding_the_groups_mean_deviation():
    x = torch.randn(8, 6, 4, 4)
    out = MinibatchStdDev(group_size=4)(x)
    assert out.shape == (8, 7, 4, 4)
    assert torch.equal(out[:, :6], x)
    group = x[[0, 2, 4, 6]]  # the official grouping: samples i, i + B/G, ...
    std = (group.var(dim=0, unbiased=False) + 1e-8).sqrt().mean()
    assert out[0, 6, 0, 0].item() == pytest.approx(std.item(), rel=1e-5)
    assert torch.equal(out[0, 6], out[2, 6]) and not torch.equal(out[0, 6], out[1, 6])


def test_demodulated_weights_have_unit_norm_per_output_channel_and_match_the_fast_path():
    torch.manual_seed(0)
    conv = stylegan2.ModulatedConv(4, 6, w_dim=8)
    w = torch.randn(3, 8)
    styles = conv.affine(w)
    weights = stylegan2.modulated_weight(conv.weight * conv.scale, styles)
    norms = weights.square().sum(dim=(2, 3, 4)).sqrt()
    assert torch.allclose(norms, torch.ones(3, 6), atol=1e-4)
    x = torch.randn(3, 4, 5, 5)
    grouped = F.conv2d(x.reshape(1, 12, 5, 5), weights.reshape(18, 4, 3, 3), padding=1, groups=3)
    assert torch.allclose(conv(x, w), grouped.reshape(3, 6, 5, 5), atol=1e-4)


def test_the_fade_in_is_the_low_resolution_path_at_alpha_0_and_the_new_block_at_1():
    torch.manual_seed(0)
    g = progan.Generator(latent_dim=8, image_size=16, channels=1, channel_base=64, channel_max=8)
    d = progan.Discriminator(image_size=16, channels=1, channel_base=64, channel_max=8)
    z = torch.randn(4, 8)
    g.grow(1, 1.0)
    low = g(z)
    assert low.shape[-1] == 8
    g.grow(2, 0.0)
    assert torch.allclose(g(z), F.interpolate(low, scale_factor=2, mode="nearest"), atol=1e-6)
    g.grow(2, 1.0)
    new = g.to_rgb[2](g.features(z, 2))
    assert torch.allclose(g(z), new, atol=1e-6)
    g.grow(2, 0.3)
    mixed = F.interpolate(low, scale_factor=2, mode="nearest").lerp(new, 0.3)
    assert torch.allclose(g(z), mixed, atol=1e-5)

    x = torch.randn(4, 1, 16, 16)
    d.grow(1, 1.0)
    on_low = d(F.avg_pool2d(x, 2))
    d.grow(2, 0.0)
    assert torch.allclose(d(x), on_low, atol=1e-5)


def test_image_sizes_that_are_not_powers_of_two_stop_with_one_line_naming_the_mnist_padding():
    for model in ("stylegan2", "progan"):
        done = run_train(f"model={model}", "data=digits", "data.image_size=28", "iterations=1",
                         "logger=none", "metrics=none", "paths.run_dir=/tmp/never")  # fmt: skip
        assert done.returncode != 0
        lines = [line for line in done.stderr.splitlines() if "image_size" in line]
        assert len(lines) == 1 and "data.image_size=32" in lines[0], done.stderr[-2000:]
        assert "Traceback" not in done.stderr


# ---------------------------------------------------------------------------- path length
def test_the_path_length_penalty_equals_its_formula_on_a_linear_generator():
    torch.manual_seed(0)
    layers, w_dim, size = 3, 5, 4
    a = torch.randn(layers, w_dim, 2 * size * size)
    ws = torch.randn(6, layers, w_dim, requires_grad=True)
    images = torch.einsum("blw,lwp->bp", ws, a).reshape(6, 2, size, size)
    noise = torch.randn_like(images)
    term = PathLength(weight=2.0, decay=0.01)
    value = term.path_penalty(images, ws, noise)
    y = (noise / size).reshape(6, -1)  # y ~ N(0, I) / sqrt(H W)
    jty = torch.einsum("lwp,bp->blw", a, y)  # J_w^T y, per layer
    lengths = jty.square().sum(dim=2).mean(dim=1).sqrt()
    a_mean = 0.0 + 0.01 * lengths.mean()  # the running mean starts at 0
    assert term.pl_mean.item() == pytest.approx(a_mean.item(), rel=1e-5)
    expected = 2.0 * (lengths - a_mean).square().mean()
    assert value.item() == pytest.approx(expected.item(), rel=1e-5)


def test_path_length_on_a_model_without_a_style_based_generator_is_refused(tiny_config):
    with pytest.raises(ConfigError, match="model=stylegan2"):
        train(tiny_config("regularizer=path_length"))


# ---------------------------------------------------------------------------- the games
def test_lazy_phases_run_on_their_intervals_with_the_optimizer_correction(tmp_path):
    cfg = compose_config([*SG2_TINY, *QUIET, "iterations=16", "sample_every=0",
                          "regularizer.r1.every=4", f"paths.run_dir={tmp_path}"])  # fmt: skip
    train(cfg)
    ckpt = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    phases = ckpt["gans"]["phases"]
    assert phases == {"Dmain": 16, "Dreg": 16, "Gmain": 16, "Greg": 16}  # counts reached
    d_opt, g_opt = ckpt["optimizer_states"]
    d_steps = {int(s["step"]) for s in d_opt["state"].values()}
    g_steps = {int(s["step"]) for s in g_opt["state"].values()}
    # main steps + R1 every 4th (D's output bias has no input gradient: 16 steps only)
    assert max(d_steps) == 16 + 16 // 4 and d_steps <= {16, 20}
    assert max(g_steps) == 16 + 16 // 4 and g_steps <= {16, 20}  # + path length every 4th
    (d_group,), (g_group,) = d_opt["param_groups"], g_opt["param_groups"]
    assert d_group["lr"] == pytest.approx(0.0025 * 4 / 5)  # c = every / (every + 1)
    assert d_group["betas"][1] == pytest.approx(0.99 ** (4 / 5))
    assert g_group["lr"] == pytest.approx(0.0025 * 4 / 5)
    assert ckpt["state_dict"]["terms.1.pl_mean"] > 0  # the path length's running mean moved


def test_style_mixing_uses_the_second_latent_from_the_crossover_on():
    torch.manual_seed(0)
    g = stylegan2.Generator(8, 8, image_size=16, channels=1, channel_base=64, channel_max=8)
    z1, z2 = torch.randn(4, 8), torch.randn(4, 8)
    cutoff = torch.tensor([1, 2, 5, g.num_ws])
    ws = g.ws(z1, mix=z2, cutoff=cutoff)
    w1, w2 = g.mapping(z1), g.mapping(z2)
    for i, c in enumerate(cutoff.tolist()):
        assert torch.equal(ws[i, :c], w1[i].expand(c, -1))
        assert torch.equal(ws[i, c:], w2[i].expand(g.num_ws - c, -1))
    g.eval()  # (in training, mapping updates w_avg)
    g.mapping.w_avg.fill_(0.5)
    truncated = g.ws(z1, truncation_psi=0.7)
    assert torch.allclose(truncated[:, 0], 0.5 + 0.7 * (w1 - 0.5), atol=1e-6)


@pytest.mark.parametrize("model", ["stylegan2", "progan"])
def test_two_iterations_write_a_checkpoint_and_a_grid_and_sample(tmp_path, model):
    base = SG2_TINY if model == "stylegan2" else PG_TINY
    cfg = compose_config([*base, "logger=csv", "iterations=2", "sample_every=1",
                          "trainer.enable_progress_bar=false",
                          f"paths.run_dir={tmp_path}"])  # fmt: skip
    summary = train(cfg)
    assert summary["iterations"] == 2
    assert (tmp_path / "checkpoints" / "last.ckpt").exists()
    assert (tmp_path / "samples" / "iter_000002.png").exists()
    _, game, _ = restore.restore(tmp_path / "checkpoints" / "last.ckpt")
    state = torch.random.get_rng_state()
    images = game.sample(5, generator=torch.Generator().manual_seed(1))
    assert torch.equal(state, torch.random.get_rng_state())  # sampling never moves training's
    assert images.shape == (5, 1, 16, 16)
    assert torch.equal(images, game.sample(5, generator=torch.Generator().manual_seed(1)))
    if model == "stylegan2":
        from omegaconf import OmegaConf

        out = tmp_path / "sampled"
        written = sample_cli(OmegaConf.merge(
            OmegaConf.load(ROOT / "conf" / "sample.yaml"),
            {"ckpt": str(tmp_path / "checkpoints" / "last.ckpt"), "out": str(out),
             "truncation_psi": 0.7, "num": 8, "search": 100, "device": "cpu"},
        ))  # fmt: skip
        assert Path(written["style_mixing"]).exists() and Path(written["truncation"]).exists()


def test_progan_grows_by_images_seen_and_resets_adam_at_each_new_resolution(tmp_path):
    # batch 8: stable 16 images = 2 iterations at 4x4, then per stage 3 fading + 2 stable
    cfg = compose_config([*PG_TINY, "logger=csv", "iterations=12", "log_every=1",
                          "sample_every=0", "trainer.enable_progress_bar=false",
                          f"paths.run_dir={tmp_path}"])  # fmt: skip
    train(cfg)
    import csv

    (log,) = tmp_path.glob("csv/**/metrics.csv")
    with open(log) as f:
        rows = list(csv.DictReader(f))
    progress = [(int(float(r["progress/resolution"])), round(float(r["progress/alpha"]), 3))
                for r in rows]  # fmt: skip
    assert progress[:8] == [(4, 1.0), (4, 1.0), (8, 0.0), (8, 0.333), (8, 0.667), (8, 1.0),
                            (8, 1.0), (16, 0.0)]  # fmt: skip
    ckpt = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert ckpt["gans"]["images_seen"] == 12 * 8
    steps = {int(s["step"]) for s in ckpt["optimizer_states"][0]["state"].values()}
    # Adam's moments restarted when 16x16 began (iteration 8); the 8x8 toRGB/fromRGB stopped
    # stepping when its fade ended
    assert max(steps) == 12 - 7 and steps == {3, 5}


def test_a_schedule_longer_than_the_run_is_reported_at_start(tmp_path):
    done = run_train(*PG_TINY, *QUIET, "iterations=2", "model.schedule.fade_images=600000",
                     f"paths.run_dir={tmp_path}")  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "the progressive schedule needs 1,200,048 real images" in done.stderr + done.stdout
    assert "UserWarning" not in done.stderr + done.stdout  # one of our lines, not a raw warning


def test_progan_resumed_mid_fade_equals_the_uninterrupted_run(tmp_path):
    base = [*PG_TINY, *QUIET, "sample_every=0", "checkpoint_every=100"]
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    train(compose_config([*base, f"paths.run_dir={whole}", "iterations=7"]))
    train(compose_config([*base, f"paths.run_dir={parts}", "iterations=4"]))  # alpha 1/3 at 8x8
    last = parts / "checkpoints" / "last.ckpt"
    train(compose_config([*base, f"paths.run_dir={parts}", "iterations=7", f"ckpt_path={last}"]))
    assert_same_state(torch.load(whole / "checkpoints" / "last.ckpt", weights_only=True),
                      torch.load(last, weights_only=True))  # fmt: skip


@pytest.mark.parametrize("model", ["stylegan2", "progan"])
def test_two_cpu_ranks_end_with_identical_weights(tmp_path, model):
    run = tmp_path / "run"
    base = SG2_TINY if model == "stylegan2" else PG_TINY
    # target -2: p rises at every adjustment whatever D outputs (r_t >= -1)
    extra = ["augment=ada", "augment.speed_images=100", "augment.target=-2"]
    extra = extra if model == "stylegan2" else []
    overrides = [*base, *QUIET, *extra, "trainer=ddp_cpu", "iterations=5", "sample_every=0",
                 "regularizer.r1.every=2" if model == "stylegan2" else "log_every=1",
                 f"paths.run_dir={run}"]  # fmt: skip
    env = {**os.environ, "WANDB_MODE": "offline", "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, str(ROOT / "tests" / "ddp_job.py"), *overrides],
                          cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = [torch.load(run / f"rank{r}.pt", weights_only=True) for r in (0, 1)]
    for r in ranks:
        r.pop("torch_rng_state")
    for key, value in ranks[0].items():
        assert torch.equal(value, ranks[1][key]), key
    if model == "stylegan2":
        assert ranks[0]["augment.p"] > 0  # p moved, identically on both ranks
