import pytest
import torch
from torch import nn

from gans.errors import ConfigError
from gans.nets import cgan, dcgan, infogan, mlp
from gans.prior import LatentPrior


@pytest.mark.parametrize("size", [16, 32, 64, 128])
@pytest.mark.parametrize("channels", [1, 3])
def test_dcgan_shapes(size, channels):
    g = dcgan.Generator(latent_dim=10, image_size=size, channels=channels, base_channels=4)
    d = dcgan.Discriminator(image_size=size, channels=channels, base_channels=4)
    x = g(torch.randn(2, 10))
    assert x.shape == (2, channels, size, size)
    assert x.min() >= -1 and x.max() <= 1
    assert d(x).shape == (2,)


def test_dcgan_networks_mirror_each_other():
    """4x4 -> 64x64 is four stride-2 stages in G and four in D (the notes' symmetry trick)."""
    g = dcgan.Generator(latent_dim=100, image_size=64, channels=3, base_channels=64)
    d = dcgan.Discriminator(image_size=64, channels=3, base_channels=64)
    g_convs = [m for m in g.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    d_convs = [m for m in d.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in g_convs] == [512, 256, 128, 64, 3]
    assert [c.out_channels for c in d_convs] == [64, 128, 256, 512, 1]


def test_dcgan_first_generator_layer_has_batchnorm():
    g = dcgan.Generator(latent_dim=10, image_size=16, base_channels=4)
    assert isinstance(g.net[1], torch.nn.BatchNorm2d)


def test_dcgan_init_is_normal_0_02():
    g = dcgan.Generator(latent_dim=100, image_size=64, base_channels=64)
    w = g.net[0].weight
    assert w.mean().abs() < 2e-3
    assert w.std().item() == pytest.approx(0.02, rel=0.05)


@pytest.mark.parametrize("size", [8, 24, 48, 0])
def test_dcgan_rejects_unbuildable_sizes_naming_the_key(size):
    with pytest.raises(ConfigError, match=r"data\.image_size=.*powers of two >= 16"):
        dcgan.Generator(latent_dim=10, image_size=size)
    with pytest.raises(ConfigError, match=r"data\.image_size"):
        dcgan.Discriminator(image_size=size)


@pytest.mark.parametrize("shape", [(1, 16, 16), (3, 8, 8), (2,)])
def test_mlp_shapes(shape):
    g = mlp.Generator(latent_dim=5, data_shape=shape, hidden=[16])
    d = mlp.Discriminator(data_shape=shape, hidden=[16])
    x = g(torch.randn(4, 5))
    assert x.shape == (4, *shape)
    assert d(x).shape == (4,)


@pytest.mark.parametrize("family", ["dcgan", "mlp"])
def test_conditional_networks_use_the_label(family):
    torch.manual_seed(0)
    if family == "dcgan":
        g = dcgan.Generator(latent_dim=8, image_size=16, base_channels=4, num_classes=3)
        d = dcgan.Discriminator(image_size=16, base_channels=4, num_classes=3)
    else:
        g = mlp.Generator(latent_dim=8, data_shape=(1, 16, 16), hidden=[16], num_classes=3)
        d = mlp.Discriminator(data_shape=(1, 16, 16), hidden=[16], num_classes=3)
    g.eval()
    z = torch.randn(1, 8).repeat(2, 1)
    x = g(z, torch.tensor([0, 2]))
    assert not torch.allclose(x[0], x[1])
    same = x[:1].repeat(2, 1, 1, 1)
    d.eval()
    out = d(same, torch.tensor([0, 2]))
    assert out.shape == (2,) and not torch.allclose(out[0], out[1])
    with pytest.raises(ValueError, match="conditional"):
        g(z)
    with pytest.raises(ValueError, match="unconditional"):
        dcgan.Generator(latent_dim=8, image_size=16, base_channels=4)(z, torch.tensor([0, 1]))


def test_prior_kinds_and_ranges():
    u = LatentPrior(7, "uniform").sample(4000)
    assert u.shape == (4000, 7) and u.min() >= -1 and u.max() <= 1
    n = LatentPrior(7, "normal").sample(4000)
    assert n.std().item() == pytest.approx(1.0, rel=0.05)
    with pytest.raises(ConfigError, match="model.latent.prior"):
        LatentPrior(7, "cauchy")


def test_mlp_networks_take_pacgans_n02_initialisation():
    torch.manual_seed(0)
    g = mlp.Generator(2, [2], hidden=[400, 400], output="linear", init="N02")
    d = mlp.Discriminator([2], hidden=[200, 200], maxout=5, pack=4, init="N02")
    for net in (g, d):
        linears = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
        weights = torch.cat([m.weight.flatten() for m in linears])
        assert weights.std().item() == pytest.approx(0.02, rel=0.05)
        assert all(float(m.bias.abs().max()) == 0.0 for m in linears)
    default = mlp.Discriminator([2], hidden=[200], init="default").features[1].weight
    assert default.abs().max().item() == pytest.approx(
        1 / 2**0.5, rel=0.05
    )  # PyTorch: U(+-1/sqrt(fan_in))
    with pytest.raises(ConfigError, match="model.\\*.init=N01 is unknown"):
        mlp.Generator(2, [2], init="N01")


def _cbn_generator(init: str) -> dcgan.Generator:
    torch.manual_seed(0)
    return dcgan.Generator(8, 32, 1, 8, num_classes=10, conditioning="cbn", cbn_init=init)


def test_cbn_identity_start_ignores_the_label_until_trained():
    """sngan_projection's conditional BN starts at gain 1, bias 0: G(z, y) is the same for every
    y at initialisation."""
    g = _cbn_generator("identity").eval()
    z = torch.randn(1, 8).expand(10, 8)
    out = g(z, torch.arange(10))
    assert torch.allclose(out, out[:1].expand_as(out), atol=1e-6)


def test_cbn_ortho_start_is_orthogonal_and_class_dependent():
    """BigGAN-PyTorch initialises its per-class embeddings orthogonally (gain 1 + embedding)."""
    g = _cbn_generator("ortho").eval()
    tables = [m for m in g.modules() if isinstance(m, dcgan.ConditionalBatchNorm2d)]
    assert tables
    for m in tables:
        w = m.gain.weight  # (10 classes, channels): orthonormal rows, or columns if fewer
        gram = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
        assert torch.allclose(gram, torch.eye(min(w.shape)), atol=1e-5)
    z = torch.randn(1, 8).expand(10, 8)
    out = g(z, torch.arange(10))
    assert (out - out[:1]).abs().amax(dim=(1, 2, 3))[1:].min() > 1e-3


def test_cbn_network_start_is_dcgans_normal_0_02():
    g = _cbn_generator("network")
    gains = torch.cat(
        [
            m.gain.weight.flatten()
            for m in g.modules()
            if isinstance(m, dcgan.ConditionalBatchNorm2d)
        ]
    )
    assert 0.015 < gains.std().item() < 0.025 and gains.abs().mean() > 0


def test_cbn_unknown_start_is_one_line():
    with pytest.raises(ConfigError, match="model.generator.cbn_init=zero is unknown"):
        _cbn_generator("zero")


def test_infogan_networks_take_the_authors_initialisation():
    """openai/InfoGAN custom_ops: weights N(0, 0.02), biases 0, BatchNorm scales N(1, 0.02)."""
    torch.manual_seed(0)
    nets = (
        infogan.Generator(74, 28, init="dcgan"),
        infogan.Discriminator(28, init="dcgan"),
        infogan.QHead(1024, init="dcgan"),
    )
    for net in nets:
        layers = [
            m for m in net.modules() if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d))
        ]
        weights = torch.cat([m.weight.flatten() for m in layers])
        assert weights.std().item() == pytest.approx(0.02, rel=0.05)
        assert all(float(m.bias.abs().max()) == 0.0 for m in layers)
        scales = torch.cat(
            [m.weight for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        )
        assert scales.mean().item() == pytest.approx(1.0, abs=0.01)
        assert scales.std().item() == pytest.approx(0.02, rel=0.2)
    torch.manual_seed(0)
    default = infogan.Discriminator(28).body[0].weight  # PyTorch's U(+-1/sqrt(fan_in)), fan_in 16
    assert default.abs().max().item() == pytest.approx(1 / 16**0.5, rel=0.05)


def test_the_cgan_discriminator_spectral_norm_bounds_every_layer_by_one():
    torch.manual_seed(0)
    d = cgan.Discriminator((1, 8, 8), 10, x_units=16, y_units=4, joint=8, spectral_norm=True)
    d.train()
    x, y = torch.randn(32, 1, 8, 8), torch.randint(10, (32,))
    for _ in range(30):  # power iterations converge during training forwards
        d(x, y)
    linears = [m for m in d.modules() if isinstance(m, nn.Linear)]
    assert len(linears) == 4
    for m in linears:
        assert torch.linalg.matrix_norm(m.weight, ord=2).item() == pytest.approx(1.0, abs=0.02)
    plain = cgan.Discriminator((1, 8, 8), 10, x_units=16, y_units=4, joint=8)
    assert max(
        torch.linalg.matrix_norm(m.weight, ord=2).item()
        for m in plain.modules()
        if isinstance(m, nn.Linear)
    ) != pytest.approx(1.0, abs=0.02)


def test_minibatch_discrimination_equals_its_formula_and_sees_copies():
    """o(x_i)_b = sum_{j != i} exp(-||M_i,b - M_j,b||_1) + bias_b (Salimans et al. 2016)."""
    from gans.nets.minibatch import MinibatchDiscrimination

    torch.manual_seed(0)
    layer = MinibatchDiscrimination(6, kernels=3, dims=2)
    f = torch.randn(4, 6)
    m = (f @ layer.T).view(4, 3, 2)
    expected = torch.stack([
        torch.stack([
            sum(torch.exp(-(m[i, b] - m[j, b]).abs().sum()) for j in range(4) if j != i)
            for b in range(3)
        ])
        for i in range(4)
    ]) - 1.0  # fmt: skip
    out = layer(f)
    assert out.shape == (4, 6 + 3)
    assert torch.equal(out[:, :6], f)
    assert torch.allclose(out[:, 6:], expected, atol=1e-6)
    # a batch of copies: every other sample at distance 0, so o = (n - 1) + bias = 3 - 1
    copies = layer(f[:1].expand(4, 6))[:, 6:]
    assert torch.allclose(copies, torch.full((4, 3), 2.0))
    assert (copies > out[:, 6:]).all()
    assert torch.allclose(layer(f[:1])[:, 6:], layer.bias.detach().unsqueeze(0))


def test_the_cgan_discriminator_takes_minibatch_features_on_its_joint_layer():
    torch.manual_seed(0)
    d = cgan.Discriminator((1, 8, 8), 10, x_units=16, y_units=4, joint=8, minibatch_kernels=5)
    x, y = torch.randn(6, 1, 8, 8), torch.randint(10, (6,))
    d.eval()
    alone = torch.stack([d(x[i : i + 1], y[i : i + 1])[0] for i in range(6)])
    together = d(x, y)
    assert together.shape == (6,)
    assert not torch.allclose(alone, together)  # each output depends on the rest of the batch
    plain = cgan.Discriminator((1, 8, 8), 10, x_units=16, y_units=4, joint=8).eval()
    assert torch.allclose(
        torch.stack([plain(x[i : i + 1], y[i : i + 1])[0] for i in range(6)]), plain(x, y)
    )
    with pytest.raises(ConfigError, match="minibatch_kernels=-1"):
        cgan.Discriminator((1, 8, 8), 10, minibatch_kernels=-1)
