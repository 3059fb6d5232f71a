"""InfoGAN: its information loss against the formula, the structured prior, the disentanglement
measures on known inputs, and a short real run with its traversal image."""

from __future__ import annotations

import csv
import math

import lightning as L
import pytest
import torch
import torch.nn.functional as F

from gans.build import build_model
from gans.errors import ConfigError
from gans.games.infogan import gaussian_nll, info_loss
from gans.metrics.disentanglement import cluster_accuracy, correlation, slant, width
from gans.prior import CodePrior
from gans.train import train
from tests.conftest import compose_config

INFOGAN = ["model=infogan", "data.image_size=16", "data.batch_size=16", "metrics=none",
           "logger=csv", "trainer.enable_progress_bar=false",
           "trainer.enable_model_summary=false"]  # fmt: skip


def test_the_information_loss_is_the_weighted_cross_entropy_plus_gaussian_nll():
    logits, codes = [torch.zeros(4, 10)], torch.tensor([[0], [3], [5], [9]])
    mean, log_var, continuous = torch.zeros(4, 2), torch.zeros(4, 2), torch.ones(4, 2)
    loss, ce, nll = info_loss(logits, codes, mean, log_var, continuous, 1.0, 0.1)
    assert ce.item() == pytest.approx(math.log(10))  # uniform logits
    assert nll.item() == pytest.approx(2 * (0.5 * math.log(2 * math.pi) + 0.5))  # summed codes
    assert loss.item() == pytest.approx(math.log(10) + 0.1 * nll.item())


def test_the_information_loss_is_minimal_when_q_recovers_the_codes_exactly():
    codes = torch.randint(10, (64, 1))
    continuous = torch.rand(64, 2) * 2 - 1
    exact = ([20 * F.one_hot(codes[:, 0], 10).float()], torch.zeros(64, 2), continuous)

    def loss(logits, log_var, mean):
        return info_loss(logits, codes, mean, log_var, continuous)[0].item()

    best = loss(*exact)
    assert info_loss(*exact[:1], codes, exact[2], exact[1], continuous)[1].item() < 1e-6
    wrong_class = [20 * F.one_hot((codes[:, 0] + 1) % 10, 10).float()]
    assert loss(wrong_class, exact[1], exact[2]) > best + 1
    assert loss(exact[0], exact[1], continuous + 0.3) > best
    assert loss(exact[0], exact[1] + 0.5, continuous) > best  # the exact mean, a wider Gaussian


def test_the_code_prior_concatenates_noise_one_hot_codes_and_uniform_continuous_codes():
    prior = CodePrior(62, "uniform", [10], 2)
    assert prior.dim == 74
    noise, categorical, continuous = prior.draw(500, generator=torch.Generator().manual_seed(0))
    z = prior.compose(noise, categorical, continuous)
    assert torch.equal(z[:, :62], noise)
    assert torch.equal(z[:, 62:72].argmax(1), categorical[:, 0])
    assert torch.equal(z[:, 62:72].sum(1), torch.ones(500))
    assert continuous.min() >= -1 and continuous.max() <= 1 and continuous.std() > 0.5
    with pytest.raises(ConfigError, match="categorical"):
        CodePrior(62, "uniform", [1], 2)


def test_categorical_accuracy_is_one_for_a_relabelled_perfect_code_and_chance_for_noise():
    labels = torch.randint(10, (20_000,))
    permutation = torch.randperm(10)
    assert cluster_accuracy(permutation[labels], labels) == 1.0
    unrelated = torch.randint(10, (20_000,))
    assert 0.09 < cluster_accuracy(unrelated, labels) < 0.12


def test_slant_and_width_measure_the_inks_shear_and_horizontal_extent():
    canvas = -torch.ones(3, 1, 16, 16)
    canvas[0, 0, 2:14, 7] = 1  # a vertical stroke
    for r in range(2, 14):  # a stroke leaning left at the top: "\"
        canvas[1, 0, r, r] = 1
    canvas[2, 0, 2:14, 4:12] = 1  # a block 8 columns wide
    s = slant(canvas)
    assert s[0].item() == pytest.approx(0.0, abs=1e-6)
    assert s[1].item() == pytest.approx(1.0, abs=1e-5)  # one column per row
    w = width(canvas)
    assert w[0].item() == 1 and w[2].item() == 8
    assert correlation(torch.arange(10.0), 3 * torch.arange(10.0) + 1) == pytest.approx(1.0)


def test_a_generator_whose_input_is_not_the_latent_is_refused_in_one_line(tmp_path):
    cfg = compose_config([*INFOGAN, "model.generator.latent_dim=100", f"paths.run_dir={tmp_path}"])
    with pytest.raises(ConfigError, match="latent_dim=100 but the latent is 74-d"):
        build_model(cfg)


class StepOrder(L.Callback):
    """Which player's optimizer steps, in order, and whether Q had a gradient then."""

    def __init__(self) -> None:
        self.steps: list[tuple[str, bool]] = []

    def on_before_optimizer_step(self, trainer, pl_module, optimizer) -> None:
        player = pl_module._player_of[id(optimizer)]
        grads = [p.grad for p in pl_module.q.parameters()]
        q_grad = any(g is not None and g.abs().sum() > 0 for g in grads)
        self.steps.append((player, q_grad))


def test_d_and_q_step_together_on_the_information_term_and_g_steps_alone(tmp_path):
    order = StepOrder()
    train(compose_config([*INFOGAN, "iterations=2", "sample_every=0", "checkpoint_every=0",
                          f"paths.run_dir={tmp_path}"]), extra_callbacks=[order])  # fmt: skip
    players = [p for p, _ in order.steps]
    assert players == ["q", "discriminator", "generator"] * 2
    assert all(q_grad for p, q_grad in order.steps if p == "q")


def test_a_two_iteration_infogan_run_writes_a_checkpoint_logs_the_information_and_traverses(
    tmp_path,
):
    summary = train(
        compose_config([*INFOGAN, "iterations=2", "log_every=1", "sample_every=2",
                        "checkpoint_every=2", f"paths.run_dir={tmp_path}"])
    )  # fmt: skip
    assert summary["iterations"] == 2
    assert (tmp_path / "checkpoints" / "last.ckpt").exists()
    assert (tmp_path / "samples" / "traversal_000002.png").exists()
    (metrics,) = tmp_path.glob("csv/**/metrics.csv")
    with open(metrics) as f:
        rows = list(csv.DictReader(f))
    assert {"loss/info", "info/mi_categorical", "lr/q", "grad_norm/q"} <= set(rows[0])
    model = build_model(compose_config([*INFOGAN, f"paths.run_dir={tmp_path}"]))
    images = model.traversal(steps=5)
    assert images.shape == (2 * 10 * 5, 1, 16, 16)  # 2 continuous codes x 10 values x 5 steps


def test_a_discriminator_regularizer_is_folded_into_the_d_and_q_step(tmp_path):
    train(compose_config([*INFOGAN, "regularizer=r1", "iterations=2", "log_every=1",
                          "sample_every=0", f"paths.run_dir={tmp_path}"]))  # fmt: skip
    (metrics,) = tmp_path.glob("csv/**/metrics.csv")
    with open(metrics) as f:
        penalties = [float(r["reg/r1"]) for r in csv.DictReader(f) if r.get("reg/r1")]
    assert len(penalties) == 2 and all(p > 0 for p in penalties)
    with pytest.raises(ConfigError, match="regularizer.consensus: InfoGAN takes discriminator"):
        build_model(compose_config([*INFOGAN, "regularizer=consensus", "paths.run_dir=."]))


def test_gans_sample_draws_the_infogan_traversal(tmp_path):
    from hydra import compose, initialize_config_dir

    from gans.sample import sample
    from gans.train import CONF_DIR

    train(compose_config([*INFOGAN, "iterations=1", "sample_every=0", "logger=none",
                          f"paths.run_dir={tmp_path}"]))  # fmt: skip
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        cfg = compose(config_name="sample", overrides=[
            f"ckpt={tmp_path / 'checkpoints' / 'last.ckpt'}", f"out={tmp_path / 'out'}",
            "num=8", "interpolations=2", "steps=5", "neighbours=2", "k=2"])  # fmt: skip
    written = sample(cfg)
    assert {"grid", "interpolation", "traversal", "neighbours"} <= set(written)
    assert "reconstruction" not in written


def test_the_run_logs_the_codes_disentanglement_beside_the_fid(tmp_path):
    from tests.test_metrics import METRIC_RUN

    base = [o for o in INFOGAN if not o.startswith(("metrics", "logger"))]
    train(compose_config([*base, *METRIC_RUN, "metrics.disentanglement.num_samples=200",
                          "sample_every=0", f"metrics.cache_dir={tmp_path / 'cache'}",
                          f"paths.run_dir={tmp_path}"]))  # fmt: skip
    (metrics,) = tmp_path.glob("csv/**/metrics.csv")
    with open(metrics) as f:
        logged = list(csv.DictReader(f))
    rows = [r for r in logged if r.get("info/categorical_accuracy")]
    assert len(rows) == 1 and int(rows[0]["step"]) == 2
    assert 0.1 <= float(rows[0]["info/categorical_accuracy"]) <= 1  # >= chance by construction
    assert -1 <= float(rows[0]["info/c1_slant"]) <= 1
    assert [r["step"] for r in logged if any(k.startswith("fid/") and r[k] for k in r)] == ["2"]

    from hydra import compose, initialize_config_dir

    from gans.evaluate import evaluate
    from gans.train import CONF_DIR

    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        cfg = compose(config_name="evaluate", overrides=[
            f"ckpt={tmp_path / 'checkpoints' / 'last.ckpt'}", "num_samples=100",
            "metrics.num_reference=300", "metrics.kid_subset_size=50", "metrics.batch_size=50",
            "metrics.classifier.steps=20", f"metrics.cache_dir={tmp_path / 'cache'}"])  # fmt: skip
    record = evaluate(cfg)
    assert {"fid", "precision", "recall"} <= set(record["scores"])
    assert set(record["disentanglement"]) == {
        "categorical_accuracy", "c1_slant", "c1_width", "c2_slant", "c2_width"}  # fmt: skip


def test_the_gaussian_nll_is_torchs_to_the_bit_with_the_same_gradients():
    torch.manual_seed(0)
    mean = torch.randn(64, 3, requires_grad=True)
    log_var = (torch.randn(64, 3) * 8).requires_grad_(True)  # variances below the clamp too
    target = torch.rand(64, 3) * 2 - 1
    ours = gaussian_nll(mean, target, log_var.exp())
    theirs = F.gaussian_nll_loss(mean, target, log_var.exp(), full=True, reduction="none", eps=1e-6)
    assert torch.equal(ours, theirs)
    grads = [torch.autograd.grad(v.sum(), (mean, log_var)) for v in (ours, theirs)]
    for a, b in zip(*grads, strict=True):
        assert torch.equal(a, b)
