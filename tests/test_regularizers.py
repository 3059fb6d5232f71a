import pytest
import torch
from torch import nn

from gans.ema import NetworkEMA, ema_decay
from gans.nets import dcgan, mlp
from gans.regularizers import R1, R2, Drift, GradientPenalty, WeightClip


class Linear(nn.Module):
    """D(x) = <w, x> + b: its input gradient is w everywhere."""

    def __init__(self, w: torch.Tensor) -> None:
        super().__init__()
        self.lin = nn.Linear(w.numel(), 1)
        with torch.no_grad():
            self.lin.weight.copy_(w.flatten()[None])
            self.lin.bias.fill_(0.3)

    def forward(self, x, y=None):
        return self.lin(x.flatten(1)).flatten()


def batch(n=8, shape=(1, 2, 2)):
    torch.manual_seed(0)
    return torch.randn(n, *shape), torch.randn(n, *shape)


def call(reg, d, real, fake):
    return reg.penalty(d, real, fake, None, d(real), d(fake))


def test_gradient_penalty_is_zero_for_a_unit_norm_linear_critic():
    w = torch.tensor([0.6, 0.0, 0.8, 0.0])
    real, fake = batch()
    assert call(GradientPenalty(10.0), Linear(w), real, fake).item() == pytest.approx(0, abs=1e-10)


def test_gradient_penalty_is_lambda_times_squared_norm_gap():
    w = torch.tensor([3.0, 0.0, 4.0, 0.0])  # ||w|| = 5
    real, fake = batch()
    got = call(GradientPenalty(10.0), Linear(w), real, fake).item()
    assert got == pytest.approx(10.0 * (5 - 1) ** 2)
    assert call(GradientPenalty(2.0, target=5.0), Linear(w), real, fake).item() == pytest.approx(0)


def test_gradient_penalty_backpropagates_into_the_critic():
    w = torch.tensor([3.0, 0.0, 4.0, 0.0])
    d = Linear(w)
    real, fake = batch()
    call(GradientPenalty(10.0), d, real, fake).backward()
    # d/dw 10 (||w|| - 1)^2 = 20 (||w|| - 1) w / ||w||
    assert torch.allclose(d.lin.weight.grad.flatten(), 20 * 4 * w / 5, atol=1e-4)


@pytest.mark.parametrize("cls", [R1, R2])
def test_r1_r2_are_half_gamma_squared_norm_for_a_linear_critic(cls):
    w = torch.tensor([1.0, -2.0, 0.5, 2.0])
    real, fake = batch()
    got = call(cls(gamma=3.0), Linear(w), real, fake).item()
    assert got == pytest.approx(3.0 / 2 * float(w @ w))


def test_r1_uses_real_and_r2_fake_data():
    """D(x) = sum x^2 / 2 has input gradient x, so the penalty is gamma/2 * E||x||^2."""

    class Quadratic(nn.Module):
        def forward(self, x, y=None):
            return 0.5 * (x**2).flatten(1).sum(1)

    real, fake = batch()
    d = Quadratic()
    want_real = 0.5 * (real.flatten(1) ** 2).sum(1).mean().item()
    want_fake = 0.5 * (fake.flatten(1) ** 2).sum(1).mean().item()
    assert call(R1(gamma=1.0), d, real, fake).item() == pytest.approx(want_real, rel=1e-5)
    assert call(R2(gamma=1.0), d, real, fake).item() == pytest.approx(want_fake, rel=1e-5)


def test_drift_is_epsilon_times_mean_squared_real_output():
    real, fake = batch()
    d = Linear(torch.ones(4))
    want = 0.001 * (d(real) ** 2).mean().item()
    assert call(Drift(0.001), d, real, fake).item() == pytest.approx(want)


def test_weight_clipping_keeps_every_critic_weight_in_range_after_a_step():
    d = dcgan.Discriminator(image_size=16, base_channels=4)
    opt = torch.optim.RMSprop(d.parameters(), lr=0.5)
    clip = WeightClip(0.01)
    real, _ = batch(4, (1, 16, 16))
    for _ in range(3):
        opt.zero_grad()
        (-d(real).mean()).backward()
        opt.step()
        clip.after_step(d)
        for p in d.parameters():
            assert p.abs().max().item() <= 0.01 + 1e-9
    assert any(p.abs().max().item() == pytest.approx(0.01) for p in d.parameters())


@pytest.mark.parametrize("family", ["dcgan", "mlp"])
def test_spectral_norm_makes_the_top_singular_value_about_one(family):
    torch.manual_seed(0)
    if family == "dcgan":
        d = dcgan.Discriminator(image_size=16, base_channels=8, norm="none", spectral_norm=True)
        x = torch.randn(4, 1, 16, 16)
    else:
        d = mlp.Discriminator(data_shape=(2,), hidden=[64, 64], spectral_norm=True)
        x = torch.randn(4, 2)
    for _ in range(30):  # power iterations run on training-mode forwards
        d(x)
    layers = [m for m in d.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert layers
    for layer in layers:
        sigma = torch.linalg.matrix_norm(layer.weight.detach().flatten(1), ord=2).item()
        assert sigma == pytest.approx(1.0, abs=0.05)


def test_ema_follows_its_formula_with_warmup():
    g = nn.Linear(2, 1)
    ema = NetworkEMA(g, decay=0.999, warmup=10)
    with torch.no_grad():
        g.weight.fill_(1.0)
    ema.update(g, 1)  # the first update copies
    assert torch.equal(ema.module.weight, g.weight)
    with torch.no_grad():
        g.weight.fill_(3.0)
    ema.update(g, 2)
    beta = ema_decay(0.999, 10, 2)
    assert beta == pytest.approx(3 / 12)
    assert torch.allclose(ema.module.weight, torch.full_like(g.weight, beta * 1 + (1 - beta) * 3))
    assert ema_decay(0.999, 10, 10**6) == 0.999
    assert not any(p.requires_grad for p in ema.module.parameters())


def test_consensus_penalty_is_half_gamma_squared_joint_gradient_on_the_dirac_gan():
    """minimax Dirac-GAN: dL_D/dpsi = s theta, dL_G/dtheta = -s psi, s = sigmoid(psi theta)."""
    from gans.losses import Minimax
    from gans.nets import dirac
    from gans.regularizers import Consensus

    theta, psi = 0.7, -1.3
    g, d = dirac.Generator(theta), dirac.Discriminator(psi)
    got = Consensus(gamma=2.0).joint_penalty(
        g, d, Minimax(), torch.zeros(1, 1), torch.zeros(1, 1), None
    )
    s = torch.sigmoid(torch.tensor(psi * theta)).item()
    assert got.item() == pytest.approx(2.0 / 2 * s**2 * (theta**2 + psi**2), rel=1e-5)
    got.backward()
    assert g.theta.grad is not None and d.psi.grad is not None


def test_instance_noise_perturbs_with_the_given_std():
    from gans.regularizers import InstanceNoise

    torch.manual_seed(0)
    x = torch.full((100_000, 1), 3.0)
    noisy = InstanceNoise(0.7).perturb(x)
    assert noisy.mean().item() == pytest.approx(3.0, abs=0.01)
    assert noisy.std().item() == pytest.approx(0.7, rel=0.02)
