"""The notes' lab 01 VAE as a game of the framework: its loss against the formula, and a short
real run that logs its terms and writes a checkpoint and a grid."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
import torch
from torch.distributions import Normal, kl_divergence

from gans.games.vae import kl_per_dimension, vae_loss
from gans.train import train
from tests.conftest import compose_config, run_train


def test_kl_per_dimension_is_the_closed_form_gaussian_kl():
    mu, log_var = torch.randn(16, 5), torch.randn(16, 5)
    want = kl_divergence(Normal(mu, (0.5 * log_var).exp()), Normal(0.0, 1.0)).mean(0)
    assert torch.allclose(kl_per_dimension(mu, log_var), want, atol=1e-6)


def test_the_notes_vae_loss_is_beta_times_mean_bce_plus_kl_on_known_inputs():
    logits = torch.zeros(4, 1, 3, 3)  # sigmoid = 1/2: the BCE is log 2 for any target
    x01 = torch.rand(4, 1, 3, 3)
    mu, log_var = torch.ones(4, 2), torch.zeros(4, 2)  # KL = 1/2 per dimension
    loss, reconstruction, kl = vae_loss(logits, x01, mu, log_var, beta=10.0, reconstruction="mean")
    assert reconstruction.item() == pytest.approx(math.log(2))
    assert kl.tolist() == pytest.approx([0.5, 0.5])
    assert loss.item() == pytest.approx(10 * math.log(2) + 1.0)


def test_the_default_vae_loss_is_the_negative_elbo_summed_over_pixels():
    """Kingma & Welling eq. 10 with a Bernoulli decoder: -log p(x|z) sums the 9 pixels' BCE."""
    logits = torch.randn(4, 1, 3, 3)
    x01 = torch.rand(4, 1, 3, 3)
    mu, log_var = torch.randn(4, 2), torch.randn(4, 2)
    loss, reconstruction, kl = vae_loss(logits, x01, mu, log_var, beta=1.0)
    p = torch.sigmoid(logits)
    nll = -(x01 * p.log() + (1 - x01) * (1 - p).log()).sum(dim=(1, 2, 3)).mean()
    want_kl = kl_divergence(Normal(mu, (0.5 * log_var).exp()), Normal(0.0, 1.0)).sum(1).mean()
    assert reconstruction.item() == pytest.approx(nll.item(), rel=1e-5)
    assert loss.item() == pytest.approx((nll + want_kl).item(), rel=1e-5)


def test_a_short_vae_run_learns_and_logs_its_terms(tmp_path):
    cfg = compose_config(
        ["model=vae", "data.image_size=16", "iterations=40", "log_every=1", "sample_every=40",
         "checkpoint_every=40", "logger=csv", "metrics=none", "trainer.enable_progress_bar=false",
         "trainer.enable_model_summary=false", f"paths.run_dir={tmp_path}"]
    )  # fmt: skip
    summary = train(cfg)
    assert summary["iterations"] == 40
    assert (tmp_path / "checkpoints" / "last.ckpt").is_file()
    assert (tmp_path / "samples" / "iter_000040.png").is_file()
    assert (tmp_path / "samples" / "recon_000040.png").is_file()  # x beside x-hat
    assert (tmp_path / "samples" / "traversal_000040.png").is_file()  # a row per latent dim
    with open(next(tmp_path.glob("csv/**/metrics.csv"))) as f:
        rows = [r for r in csv.DictReader(f) if r.get("reconstruction")]
    assert len(rows) == 40
    logged = {"loss/vae", "kl", "active_units", "kl_per_dim/19", "lr/vae", "grad_norm/vae"}
    assert logged <= set(rows[0])
    first, last = float(rows[0]["reconstruction"]), float(rows[-1]["reconstruction"])
    assert last < 0.8 * first  # it learns to reconstruct the digits


def test_the_latent_traversal_sweeps_one_dimension_per_row(tmp_path):
    from gans.build import build_model

    cfg = compose_config(["model=vae", "data.image_size=16", f"paths.run_dir={tmp_path}"])
    model = build_model(cfg)
    images = model.traversal(steps=5, span=3.0)
    assert images.shape == (20 * 5, 1, 16, 16)
    assert images.min() >= -1 and images.max() <= 1
    z = torch.zeros(1, 20)
    z[0, 7] = 3.0  # row 7, last column
    assert torch.allclose(images[7 * 5 + 4], model.sample(1, inputs=z)[0], atol=1e-5)


def test_data_outside_minus_one_one_is_refused_in_one_line(tmp_path):
    """A 2-D ring of radius 3 stands for any pipeline that leaves [-1, 1]: the BCE term would
    train on targets outside [0, 1]."""
    result = run_train("model=vae", "data=ring", "data.radius=3", "iterations=2", "metrics=none",
                       "logger=none", f"hydra.run.dir={tmp_path}")  # fmt: skip
    assert result.returncode != 0
    assert "error: model=vae: the data's values span" in result.stderr
    assert "Traceback" not in result.stderr


def test_gans_sample_draws_grid_interpolation_traversal_and_reconstructions(tmp_path):
    from hydra import compose, initialize_config_dir

    from gans.sample import sample
    from gans.train import CONF_DIR

    train(compose_config(["model=vae", "data.image_size=16", "iterations=2", "metrics=none",
                          "logger=none", "sample_every=0",
                          f"paths.run_dir={tmp_path}"]))  # fmt: skip
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        cfg = compose(config_name="sample", overrides=[
            f"ckpt={tmp_path / 'checkpoints' / 'last.ckpt'}", f"out={tmp_path / 'out'}",
            "num=8", "nrow=4", "interpolations=2", "steps=5", "neighbours=2", "k=2"])  # fmt: skip
    written = sample(cfg)
    from PIL import Image

    for name in ("grid", "interpolation", "traversal", "reconstruction", "neighbours"):
        assert Path(written[name]).is_file(), name
    # 8 (x, x-hat) pairs, 4 images a row: 4 rows of 18 px; traversal: 20 dimensions x 5 steps
    assert Image.open(written["reconstruction"]).size == (4 * 18 + 2, 4 * 18 + 2)
    assert Image.open(written["traversal"]).size == (5 * 18 + 2, 20 * 18 + 2)
