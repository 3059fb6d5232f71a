"""The class-conditional family: its pieces against their definitions, its class-aware metrics on
real digits, and a 2-iteration run of every preset."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gans import restore
from gans.auxiliary import HEADS, KINDS, d_class_loss, g_class_loss
from gans.ema import NetworkEMA
from gans.errors import ConfigError
from gans.losses import mode_seeking_loss
from gans.metrics.measurement import Measurement
from gans.nets.attention import SelfAttention
from gans.nets.cbn import ConditionalBatchNorm2d
from gans.prior import LatentPrior
from gans.regularizers import Orthogonal
from gans.sample import sample as sample_cli
from gans.train import build_model, train
from tests import layouts
from tests.conftest import TINY, compose_config
from tests.test_bad_input import one_line_error

RESNET_TINY = ["model.generator.base_channels=8", "model.discriminator.base_channels=8"]
CGAN_TINY = [o for o in TINY if "base_channels" not in o] + [
    "model.generator.z_units=16", "model.generator.y_units=16", "model.generator.joint=32",
    "model.discriminator.x_units=16", "model.discriminator.y_units=8",
    "model.discriminator.joint=16",
]  # fmt: skip


@pytest.mark.parametrize(("h", "w"), [(4, 4), (8, 8), (16, 16), (6, 10)])
def test_self_attention_is_the_identity_at_initialisation_at_any_resolution(h, w):
    block = SelfAttention(16)
    x = torch.randn(3, 16, h, w)
    assert torch.equal(block(x), x)  # gamma = 0 (Zhang et al. 2019, Sec. 3)
    with torch.no_grad():
        block.gamma.fill_(1.0)
    out = block(x)
    assert out.shape == x.shape and not torch.allclose(out, x)


def test_conditional_batch_norm_uses_the_class_parameters():
    cbn = ConditionalBatchNorm2d(4, num_classes=3)
    with torch.no_grad():
        cbn.gain.weight.copy_(torch.arange(12.0).view(3, 4))
        cbn.bias.weight.copy_(-torch.arange(12.0).view(3, 4))
    x = torch.randn(6, 4, 5, 5)
    y = torch.tensor([0, 1, 2, 2, 1, 0])
    normed = F.batch_norm(x, None, None, training=True, eps=cbn.norm.eps)
    gain = 1 + torch.arange(12.0).view(3, 4)[y][:, :, None, None]
    bias = -torch.arange(12.0).view(3, 4)[y][:, :, None, None]
    assert torch.allclose(cbn(x, y), gain * normed + bias, atol=1e-5)


class HandMadeOutputs(torch.nn.Module):
    """A discriminator whose outputs are fixed tensors: real then generated batch."""

    def __init__(self, outputs):
        super().__init__()
        self.outputs = list(outputs)
        self.weight = torch.nn.Parameter(torch.zeros(()))

    def judge_and_classify(self, x):
        out, cls = self.outputs.pop(0)
        return out + 0 * self.weight, cls + 0 * self.weight

    def forward(self, x, y=None):
        return self.judge_and_classify(x)[0]


def test_acgan_losses_equal_their_formula_on_hand_made_logits(tmp_path):
    game = build_model(compose_config([*TINY, "model=acgan", f"paths.run_dir={tmp_path}"]))
    y = torch.tensor([0, 3, 9])
    real = (torch.tensor([2.0, -1.0, 0.5]), torch.randn(3, 10))
    fake = (torch.tensor([-0.3, 1.5, 0.0]), torch.randn(3, 10))
    game.discriminator = HandMadeOutputs([real, fake])
    x = torch.zeros(3, 1, 16, 16)
    loss, _, stats = game.discriminator_loss(x, x, y)

    def cross_entropy(logits, labels):  # -log softmax(logits)[label], by hand
        return -(logits.gather(1, labels[:, None]).squeeze(1) - logits.exp().sum(1).log()).mean()

    adversarial = -(torch.sigmoid(real[0]).log().mean() + (1 - torch.sigmoid(fake[0])).log().mean())
    expected = adversarial + cross_entropy(real[1], y) + cross_entropy(fake[1], y)
    assert torch.allclose(loss, expected, atol=1e-5)
    classes = cross_entropy(real[1], y) + cross_entropy(fake[1], y)
    assert torch.allclose(stats["loss/d_class"], classes, atol=1e-6)


def hand_cross_entropy(logits, labels):
    """-log softmax(logits)[label], averaged, written out."""
    return -(logits.gather(1, labels[:, None]).squeeze(1) - logits.exp().sum(1).log()).mean()


@pytest.mark.parametrize("kind", KINDS)
def test_each_auxiliary_classifier_loss_equals_its_formula(kind):
    ce, k = hand_cross_entropy, 10
    y = torch.tensor([0, 3, 9, 9])
    real = torch.randn(4, k * HEADS[kind])
    fake = torch.randn(4, k * HEADS[kind], requires_grad=True)
    d = d_class_loss(kind, real, fake, y, k)
    g = g_class_loss(kind, fake, y, k)
    expected_d, expected_g = {
        "acgan": lambda: (ce(real, y) + ce(fake, y), ce(fake, y)),
        "mod": lambda: (ce(real, y), ce(fake, y)),
        "tac": lambda: (
            ce(real[:, :k], y) + ce(fake[:, k:], y),
            ce(fake[:, :k], y) - ce(fake[:, k:], y),
        ),
        "adc": lambda: (ce(real, y) + ce(fake, y + k), ce(fake, y) - ce(fake, y + k)),
    }[kind]()
    assert torch.allclose(d, expected_d, atol=1e-5) and torch.allclose(g, expected_g, atol=1e-5)


def test_acgan_mod_never_trains_the_classifier_on_generated_samples():
    fake = torch.randn(4, 10, requires_grad=True)
    loss = d_class_loss("mod", torch.randn(4, 10), fake, torch.tensor([1, 2, 3, 4]), 10)
    assert not loss.requires_grad  # no path from generated samples' class logits to D's loss
    paper = d_class_loss("acgan", torch.randn(4, 10), fake, torch.tensor([1, 2, 3, 4]), 10)
    (grad,) = torch.autograd.grad(paper, fake)
    assert grad.abs().sum() > 0


def test_a_variant_whose_head_is_too_narrow_is_one_line(tmp_path):
    cfg = compose_config([*TINY, "model=acgan", "model.auxiliary=tac", f"paths.run_dir={tmp_path}"])
    with pytest.raises(
        ConfigError, match="needs 20 class logits .* set model.discriminator.aux_heads=2"
    ):
        build_model(cfg)
    wide = compose_config(
        [*TINY, "model=acgan", "model.auxiliary=adc", "model.discriminator.aux_heads=2",
         f"paths.run_dir={tmp_path}"]
    )  # fmt: skip
    assert build_model(wide).discriminator.classifier.weight.shape[0] == 20


def test_truncation_never_returns_a_value_beyond_the_threshold():
    prior = LatentPrior(64, "normal")
    z = prior.truncated(2000, 0.5, generator=torch.Generator().manual_seed(0))
    assert z.abs().max() <= 0.5 and z.shape == (2000, 64)
    assert z.std() > 0.2  # resampled, not clamped: values spread over (-0.5, 0.5)
    assert (z.abs() == 0.5).sum() == 0


def test_orthogonal_regularization_is_zero_for_orthogonal_rows_and_its_formula_otherwise():
    net = torch.nn.Linear(3, 3, bias=False)
    with torch.no_grad():
        net.weight.copy_(torch.eye(3) * 2)  # orthogonal rows of any norm: no off-diagonal
    term = Orthogonal(beta=1e-4)
    assert term.generator_penalty(net) == 0
    with torch.no_grad():
        net.weight.copy_(torch.tensor([[1.0, 1.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]))
    # W W^T = [[2,1,0],[1,1,0],[0,0,1]]: off-diagonal squares sum to 2
    assert torch.isclose(term.generator_penalty(net), torch.tensor(2e-4))


def test_ema_copies_the_network_until_its_start_iteration():
    net = torch.nn.Linear(2, 2)
    ema = NetworkEMA(net, decay=0.9999, warmup=0, start=3)
    for iteration in range(3):
        with torch.no_grad():
            net.weight.add_(1.0)
        ema.update(net, iteration)
        assert torch.equal(ema.module.weight, net.weight)
    with torch.no_grad():
        net.weight.add_(1.0)
    ema.update(net, 3)
    assert not torch.equal(ema.module.weight, net.weight)


@pytest.fixture(scope="module")
def mnist_scores():
    """The class-aware metrics on the shipped digits with the shipped classifier, for samplers
    that are real digits: of the class asked for, or of any class."""
    cfg = compose_config(
        ["data=mnist", "data.root=builtin", "model=cdcgan", "metrics.per_class=200"]
    )
    dm = restore.datamodule(cfg)
    measurement = Measurement(cfg, dm)
    aware = measurement.class_aware(measurement.images())
    images, labels = dm.dataset.images, dm.dataset.labels
    by_class = [images[labels == c] for c in range(10)]
    pick = torch.Generator().manual_seed(1)

    def as_signed(x):
        return x.float() / 127.5 - 1

    def obedient(n, labels, generator):
        return torch.cat(
            [as_signed(by_class[int(c)][torch.randint(800, (1,), generator=pick)]) for c in labels]
        )

    def ignores_labels(n, labels, generator):
        return as_signed(images[torch.randint(len(images), (n,), generator=pick)])

    return aware.evaluate(obedient, "cpu"), aware.evaluate(ignores_labels, "cpu")


def test_conditional_accuracy_is_chance_for_a_generator_that_ignores_its_labels(mnist_scores):
    obedient, ignores = mnist_scores
    assert obedient["cond_acc"] > 0.9
    assert abs(ignores["cond_acc"] - 0.1) < 0.05
    assert ignores["intra_fid"] > 10 * max(obedient["intra_fid"], 1.0)


@pytest.mark.parametrize(
    "overrides",
    [
        ["model=cgan", *CGAN_TINY],
        ["model=acgan"],
        ["model=acgan", "model.auxiliary=tac", "model.discriminator.aux_heads=2"],
        ["model=cdcgan"],
        ["model=sagan", "data.image_size=32", *RESNET_TINY],
        ["model=biggan", "data.image_size=32", *RESNET_TINY, "regularizer=orthogonal"],
    ],
    ids=["cgan", "acgan", "acgan-tac", "cdcgan", "sagan", "biggan"],
)
def test_two_iterations_of_each_conditional_model_write_a_checkpoint_and_a_per_class_grid(
    tmp_path, overrides
):
    base = [] if overrides[0] == "model=cgan" else TINY  # CGAN_TINY: TINY for its MLPs
    cfg = compose_config(
        [*base, *overrides, "iterations=2", "logger=none", f"paths.run_dir={tmp_path}"]
    )
    summary = train(cfg)
    assert summary["iterations"] == 2
    assert (tmp_path / "checkpoints" / "last.ckpt").is_file()
    grid = tmp_path / "samples" / "classes_000002.png"
    assert grid.is_file()
    from PIL import Image

    rows = (Image.open(grid).height - 2) // (cfg.data.image_size + 2)
    assert rows == 10  # one row per digit class


@pytest.mark.parametrize("model", ["sagan", "biggan"])
def test_the_cifar10_configs_run_two_iterations_on_the_cifar_layout(tmp_path, model):
    layouts.cifar10(tmp_path / "data", per_batch=8)
    cfg = compose_config(
        [
            f"model={model}", "data=cifar10", f"data.root={tmp_path / 'data'}", "data.batch_size=8",
            "data.verify_checksums=false", "data.download=false",
            *RESNET_TINY, "iterations=2", "logger=none", "metrics=none", "sample_every=0",
            "trainer.enable_progress_bar=false", f"paths.run_dir={tmp_path / 'run'}",
        ]
    )  # fmt: skip
    assert cfg.data.image_size == 32 and cfg.model.num_classes == 10
    assert train(cfg)["iterations"] == 2
    assert (tmp_path / "run" / "samples" / "classes_000002.png").is_file()


def test_gans_sample_truncates_and_draws_a_truncation_sweep(tmp_path):
    train(
        compose_config(
            [*TINY, "model=cdcgan", "iterations=1", "logger=none", f"paths.run_dir={tmp_path}"]
        )
    )
    cfg = compose_config_sample(tmp_path / "checkpoints" / "last.ckpt", tmp_path / "out")
    written = sample_cli(cfg)
    from PIL import Image

    sweep = Image.open(written["truncation"])
    assert (sweep.height - 2) // (16 + 2) == len(cfg.truncation_sweep)


def compose_config_sample(ckpt, out):
    from hydra import compose, initialize_config_dir

    from gans.train import CONF_DIR

    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        return compose(
            config_name="sample",
            overrides=[f"ckpt={ckpt}", f"out={out}", "truncation=0.5", "search=100", "device=cpu"],
        )


def test_a_conditional_model_on_unlabelled_data_is_one_line(tmp_path):
    layouts.png_folder(tmp_path / "pngs", {"a": 12, "b": 12}, size=16)
    said = one_line_error(
        "model=acgan", "data=image_folder", f"data.root={tmp_path / 'pngs'}", "data.channels=1",
        f"hydra.run.dir={tmp_path / 'run'}",
    )  # fmt: skip
    assert "model=acgan is class-conditional but model.num_classes=0" in said
    assert "data=image_folder has no labels" in said


def test_a_label_outside_the_classes_is_named(tmp_path):
    images, labels = layouts.digits(20)
    labels = labels.copy()
    labels[7] = 12
    layouts.write_idx(tmp_path / "idx", "train", images, labels.astype(np.uint8))
    said = one_line_error(
        "model=cdcgan", "data=mnist", f"data.root={tmp_path / 'idx'}", "data.image_size=16",
        f"hydra.run.dir={tmp_path / 'run'}",
    )  # fmt: skip
    assert "data=mnist has a label 12 outside [0, 10)" in said


def test_acgan_refuses_lazy_and_joint_terms(tmp_path):
    from gans.errors import ConfigError

    with pytest.raises(ConfigError, match="no joint or lazy"):
        build_model(
            compose_config(
                [*TINY, "model=acgan", "regularizer=consensus", f"paths.run_dir={tmp_path}"]
            )
        )


class LabelAwareOutputs(torch.nn.Module):
    """A conditional discriminator whose logit is a fixed score of (image index, label): it
    records the labels it was asked about."""

    def __init__(self, table):
        super().__init__()
        self.table = table  # (batch, classes) logits
        self.asked = []
        self.weight = torch.nn.Parameter(torch.zeros(()))

    def forward(self, x, y=None):
        self.asked.append(y.clone())
        rows = x.flatten(1)[:, 0].long()  # the image's index, written into its first pixel
        return self.table[rows, y] + 0 * self.weight


def test_the_matching_aware_loss_is_gan_cls_on_hand_made_logits(tmp_path):
    """Reed et al. 2016, Alg. 1: L_D = -log D(x, y) - (log(1 - D(x, y')) + log(1 - D(G(z), y))) / 2,
    y' another class."""
    cfg = compose_config(
        [*CGAN_TINY, "model=cgan", "model.matching_aware=true", f"paths.run_dir={tmp_path}"]
    )
    game = build_model(cfg)
    table = torch.randn(6, 10)
    game.discriminator = LabelAwareOutputs(table)
    y = torch.tensor([0, 3, 9])
    x = torch.zeros(3, 1, 16, 16)
    x.view(3, -1)[:, 0] = torch.tensor([0.0, 1.0, 2.0])
    fake = torch.zeros(3, 1, 16, 16)
    fake.view(3, -1)[:, 0] = torch.tensor([3.0, 4.0, 5.0])
    torch.manual_seed(0)
    loss, _, stats = game.discriminator_loss(x, fake, y)
    real_y, fake_y, wrong_y = game.discriminator.asked
    assert torch.equal(real_y, y) and torch.equal(fake_y, y)
    assert (wrong_y != y).all() and wrong_y.min() >= 0 and wrong_y.max() < 10
    s_r = torch.sigmoid(table[[0, 1, 2], y])
    s_w = torch.sigmoid(table[[0, 1, 2], wrong_y])
    s_f = torch.sigmoid(table[[3, 4, 5], y])
    expected = -s_r.log().mean() - ((1 - s_w).log().mean() + (1 - s_f).log().mean()) / 2
    assert torch.allclose(loss, expected, atol=1e-5)
    assert torch.allclose(stats["D(x, wrong y)"], table[[0, 1, 2], wrong_y])


def test_every_wrong_label_is_another_class_drawn_uniformly(tmp_path):
    cfg = compose_config(
        [*CGAN_TINY, "model=cgan", "model.matching_aware=true", f"paths.run_dir={tmp_path}"]
    )
    game = build_model(cfg)
    game.discriminator = LabelAwareOutputs(torch.zeros(1, 10))
    y = torch.full((20000,), 4)
    x = torch.zeros(20000, 1, 2, 2)
    game.discriminator_loss(x, x, y)
    wrong = game.discriminator.asked[2]
    counts = torch.bincount(wrong, minlength=10).float()
    assert counts[4] == 0
    others = counts[torch.arange(10) != 4] / len(wrong)
    assert torch.allclose(others, torch.full((9,), 1 / 9), atol=0.01)


@pytest.mark.parametrize("model", ["dcgan", "acgan"])
def test_matching_aware_needs_a_discriminator_that_takes_the_label(tmp_path, model):
    cfg = compose_config(
        [*TINY, f"model={model}", "+model.matching_aware=true", f"paths.run_dir={tmp_path}"]
    )
    with pytest.raises(ConfigError, match="model.matching_aware=true"):
        build_model(cfg)


def test_the_mode_seeking_term_is_msgans_inverse_ratio_on_known_inputs():
    """Mao et al. 2019 (the code's form): 1 / (mean|G(z2) - G(z1)| / mean|z2 - z1| + 1e-5)."""
    z1, z2 = torch.zeros(2, 3), torch.full((2, 3), 2.0)  # mean |z2 - z1| = 2
    fake1, fake2 = torch.zeros(2, 1, 2, 2), torch.full((2, 1, 2, 2), 0.5)  # mean |.| = 0.5
    assert mode_seeking_loss(fake1, fake2, z1, z2).item() == pytest.approx(1 / (0.25 + 1e-5))
    # images that do not move with z: the term is at its largest, 1 / eps
    assert mode_seeking_loss(fake1, fake1, z1, z2).item() == pytest.approx(1e5)


def test_a_mode_seeking_generator_step_draws_two_latents_per_label(tmp_path):
    cfg = compose_config(
        [*CGAN_TINY, "model=cgan", "model.mode_seeking=0.5", f"paths.run_dir={tmp_path}"]
    )
    game = build_model(cfg)
    seen = []
    original = game.generator.forward

    def recording(z, y=None):
        seen.append((z.detach().clone(), y.clone()))
        return original(z, y)

    game.generator.forward = recording
    y = torch.tensor([1, 7, 7])
    torch.manual_seed(0)
    loss = game.mode_seeking_g_loss(3, y)
    ((z, labels),) = seen
    assert z.shape[0] == 6 and torch.equal(labels, torch.tensor([1, 7, 7, 1, 7, 7]))
    assert not torch.equal(z[:3], z[3:])
    term = game.stats["reg/mode_seeking"]
    assert loss.item() == pytest.approx(game.stats["loss/g"].item() + 0.5 * term.item(), rel=1e-5)
    assert term.item() > 0


@pytest.mark.parametrize("model", ["acgan", "infogan"])
def test_mode_seeking_is_refused_by_a_game_with_its_own_generator_step(tmp_path, model):
    base = TINY if model == "acgan" else ["data=digits", "data.image_size=16", "data.batch_size=16"]
    cfg = compose_config(
        [*base, f"model={model}", "+model.mode_seeking=0.5", f"paths.run_dir={tmp_path}"]
    )
    with pytest.raises(ConfigError, match="model.mode_seeking: model=.* own generator step"):
        build_model(cfg)


def test_cgan_generator_keeps_the_papers_layers_unless_batch_norm_or_an_init_is_asked_for():
    from torch import nn

    from gans.nets.cgan import Generator

    torch.manual_seed(0)
    paper = Generator(100, (1, 8, 8), 10)
    weights = sorted(k for k in paper.state_dict() if k.endswith("weight"))
    assert weights == ["joint.1.weight", "joint.4.weight", "y_path.0.weight", "z_path.0.weight"]
    normed = Generator(100, (1, 8, 8), 10, batch_norm=True)
    widths = [m.num_features for m in normed.modules() if isinstance(m, nn.BatchNorm1d)]
    assert widths == [200, 1000, 1200]  # before each hidden ReLU: z, y and the joint layer
    ortho = Generator(100, (1, 8, 8), 10, init="ortho")
    w = ortho.joint[1].weight
    assert torch.allclose(w @ w.T, torch.eye(w.shape[0]), atol=1e-4)
    assert all(not m.bias.detach().any() for m in ortho.modules() if isinstance(m, nn.Linear))


def test_resnet_projection_embedding_is_normalised_like_the_other_layers_unless_turned_off():
    from gans.nets.resnet import Discriminator

    torch.manual_seed(0)
    normed = Discriminator(image_size=32, channels=1, base_channels=4, num_classes=10,
                           projection_sn=True)  # fmt: skip
    normed.train()
    normed(torch.randn(4, 1, 32, 32), torch.arange(4))  # a power iteration per training forward
    for _ in range(30):
        normed(torch.randn(4, 1, 32, 32), torch.arange(4))
    table = normed.projection.embed.weight
    assert float(torch.linalg.matrix_norm(table, ord=2)) == pytest.approx(1.0, abs=1e-2)
    raw = normed.projection.embed.parametrizations.weight.original  # ortho init: rows orthonormal
    assert torch.allclose(raw @ raw.T, torch.eye(10), atol=1e-4)
    plain = Discriminator(image_size=32, channels=1, base_channels=4, num_classes=10)
    assert not hasattr(plain.projection.embed, "parametrizations")
    assert float(plain.projection.embed.weight.std()) == pytest.approx(1.0, abs=0.15)  # N(0, 1)


def test_biggan_shared_embedding_starts_like_the_other_layers_when_asked():
    from gans.nets.resnet import Generator

    torch.manual_seed(0)
    kw = dict(latent_dim=20, image_size=32, channels=1, base_channels=4, num_classes=10,
              shared_dim=16, hierarchical=True)  # fmt: skip
    table = Generator(**kw, shared_init="network").shared.weight.detach()
    assert torch.allclose(table @ table.T, torch.eye(10), atol=1e-4)  # ortho: rows of norm 1
    normal = Generator(**kw).shared.weight.detach()  # PyTorch's N(0, 1): rows of norm ~ 4
    assert float(normal.norm(dim=1).mean()) == pytest.approx(16**0.5, rel=0.2)
    with pytest.raises(ConfigError, match="shared_init=ones"):
        Generator(**kw, shared_init="ones")


def test_ema_of_a_spectrally_normalised_network_copies_its_singular_vectors():
    from gans.nets.init import spectral_norm_all

    torch.manual_seed(0)
    net = spectral_norm_all(torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.Linear(8, 1)))
    ema = NetworkEMA(net, decay=0.9, warmup=0)
    for step in range(20):  # weights move, so the power iteration's u and v rotate
        with torch.no_grad():
            for p in net.parameters():
                p.add_(torch.randn_like(p))
        net.train()
        net(torch.randn(4, 8))
        ema.update(net, step)
    for name, vector in ema.module.named_buffers():
        if name.endswith(("._u", "._v")):  # unit vectors, the network's own
            assert torch.equal(vector, dict(net.named_buffers())[name])
            assert float(vector.norm()) == pytest.approx(1.0, abs=1e-5)
    weights = [p for n, p in ema.module.named_parameters() if n.endswith("original")]
    current = [p for n, p in net.named_parameters() if n.endswith("original")]
    assert not torch.equal(weights[0], current[0])  # the weights are still averaged
    ema.module.eval()
    sigma = torch.linalg.matrix_norm(ema.module[0].weight, ord=2)
    assert float(sigma) == pytest.approx(1.0, rel=0.2)  # eval mode: normalised, not inflated
