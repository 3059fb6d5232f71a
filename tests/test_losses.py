import math

import pytest
import torch

from gans.losses import Minimax, NonSaturating


def sigmoid(v: float) -> float:
    return 1 / (1 + math.exp(-v))


REAL = [2.0, -1.0, 0.5]
FAKE = [0.5, -3.0, 1.5]


def expected_d_loss() -> float:
    """-mean log D(x) - mean log(1 - D(G(z))), evaluated with plain floats."""
    real = -sum(math.log(sigmoid(v)) for v in REAL) / len(REAL)
    fake = -sum(math.log(1 - sigmoid(v)) for v in FAKE) / len(FAKE)
    return real + fake


@pytest.mark.parametrize("objective", [NonSaturating(), Minimax()])
def test_discriminator_loss_is_the_bce_formula(objective):
    got = objective.d_loss(torch.tensor(REAL), torch.tensor(FAKE))
    assert got.item() == pytest.approx(expected_d_loss(), rel=1e-6)


def test_discriminator_loss_matches_torch_bce_with_logits():
    real, fake = torch.tensor(REAL), torch.tensor(FAKE)
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    want = bce(real, torch.ones(3)) + bce(fake, torch.zeros(3))
    assert NonSaturating().d_loss(real, fake).item() == pytest.approx(want.item(), rel=1e-6)


def test_nonsaturating_generator_loss_is_minus_log_d():
    want = -sum(math.log(sigmoid(v)) for v in FAKE) / len(FAKE)
    assert NonSaturating().g_loss(torch.tensor(FAKE)).item() == pytest.approx(want, rel=1e-6)


def test_minimax_generator_loss_is_log_one_minus_d():
    want = sum(math.log(1 - sigmoid(v)) for v in FAKE) / len(FAKE)
    assert Minimax().g_loss(torch.tensor(FAKE)).item() == pytest.approx(want, rel=1e-6)


def test_minimax_saturates_where_nonsaturating_does_not():
    """Where D rejects fakes confidently (logit -10), d/dl log(1 - sigmoid(l)) = -sigmoid(l) ~ 0,
    while d/dl -log sigmoid(l) = sigmoid(l) - 1 ~ -1 (the notes' early-training argument)."""
    grads = {}
    for objective in (Minimax(), NonSaturating()):
        logit = torch.tensor([-10.0], requires_grad=True)
        objective.g_loss(logit).backward()
        grads[type(objective).__name__] = logit.grad.item()
    assert abs(grads["Minimax"]) < 1e-4
    assert grads["NonSaturating"] == pytest.approx(-1.0, abs=1e-4)


def test_losses_are_finite_for_extreme_logits():
    big = torch.tensor([1e4, -1e4])
    for objective in (Minimax(), NonSaturating()):
        assert torch.isfinite(objective.d_loss(big, big))
        assert torch.isfinite(objective.g_loss(big))


def test_score_is_a_probability_for_bce_objectives():
    assert NonSaturating().score(torch.tensor([0.0])).item() == pytest.approx(0.5)


def test_wasserstein_losses():
    from gans.losses import Wasserstein

    real, fake = torch.tensor(REAL), torch.tensor(FAKE)
    w = Wasserstein()
    assert w.d_loss(real, fake).item() == pytest.approx(sum(FAKE) / 3 - sum(REAL) / 3)
    assert w.g_loss(fake).item() == pytest.approx(-sum(FAKE) / 3)
    assert w.estimates_distance and not w.probabilistic


def test_hinge_losses():
    from gans.losses import Hinge

    d = sum(max(0, 1 - v) for v in REAL) / 3 + sum(max(0, 1 + v) for v in FAKE) / 3
    assert Hinge().d_loss(torch.tensor(REAL), torch.tensor(FAKE)).item() == pytest.approx(d)
    assert Hinge().g_loss(torch.tensor(FAKE)).item() == pytest.approx(-sum(FAKE) / 3)


@pytest.mark.parametrize(("a", "b", "c"), [(0, 1, 1), (-1, 1, 0)])
def test_least_squares_losses(a, b, c):
    from gans.losses import LeastSquares

    ls = LeastSquares(a, b, c)
    d = 0.5 * sum((v - b) ** 2 for v in REAL) / 3 + 0.5 * sum((v - a) ** 2 for v in FAKE) / 3
    g = 0.5 * sum((v - c) ** 2 for v in FAKE) / 3
    assert ls.d_loss(torch.tensor(REAL), torch.tensor(FAKE)).item() == pytest.approx(d)
    assert ls.g_loss(torch.tensor(FAKE)).item() == pytest.approx(g)
