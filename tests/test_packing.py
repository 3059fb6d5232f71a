"""PacGAN's packing: what the discriminator sees, and the settings it refuses."""

from __future__ import annotations

import pytest
import torch
from omegaconf import OmegaConf

from gans.errors import ConfigError
from gans.nets import dcgan, mlp
from gans.nets.pack import pack
from gans.train import build_model
from gans.validate import validate
from tests.conftest import compose_config


def test_pack_concatenates_consecutive_samples_along_features():
    x = torch.arange(12.0).view(6, 2)
    packed = pack(x, 3)
    assert packed.shape == (2, 6)
    assert packed[0].tolist() == [0, 1, 2, 3, 4, 5] and packed[1].tolist() == list(range(6, 12))
    images = torch.randn(8, 3, 16, 16)
    stacked = pack(images, 4)
    assert stacked.shape == (2, 12, 16, 16)
    assert torch.equal(stacked[1, 3:6], images[5])  # second pack, second image's RGB
    assert pack(x, 1) is x


def test_pack_refuses_a_batch_it_cannot_split():
    with pytest.raises(ConfigError, match="model.pack=4 needs batches divisible by 4, got 6"):
        pack(torch.zeros(6, 2), 4)


@pytest.mark.parametrize("m", [1, 2, 4])
def test_packed_discriminators_take_m_times_wider_inputs(m):
    d2 = mlp.Discriminator([2], hidden=[16, 16], maxout=5, pack=m)
    assert d2.features[1].linear.in_features == 2 * m
    assert d2(pack(torch.randn(8, 2), m)).shape == (8 // m,)
    d_img = dcgan.Discriminator(image_size=16, channels=3, base_channels=8, pack=m)
    assert d_img.features[0].in_channels == 3 * m
    assert d_img(pack(torch.randn(8, 3, 16, 16), m)).shape == (8 // m,)


def test_maxout_takes_the_max_over_pieces():
    unit = mlp.Maxout(1, 1, 3)
    with torch.no_grad():
        unit.linear.weight.copy_(torch.tensor([[1.0], [-1.0], [0.0]]))
        unit.linear.bias.copy_(torch.tensor([0.0, 0.0, 0.5]))
    got = unit(torch.tensor([[2.0], [-3.0], [0.1]])).flatten()
    assert got.tolist() == pytest.approx([2.0, 3.0, 0.5])


def test_gan_with_pack_judges_one_value_per_pack():
    cfg = compose_config(
        ["paths.run_dir=/tmp/x", "model=gan2d", "data=grid", "data.batch_size=8", "model.pack=4"]
    )
    OmegaConf.resolve(cfg)
    model = build_model(cfg)
    assert model.pack == 4
    assert model.judge(torch.randn(8, 2), None).shape == (2,)
    fake = model.generator(model.prior.sample(8, "cpu"), None)
    loss, fake_out, stats = model.discriminator_loss(torch.randn(8, 2), fake, None)
    assert fake_out.shape == (2,) and loss.ndim == 0


def test_pack_settings_that_cannot_work_are_refused():
    cfg = compose_config(
        ["paths.run_dir=/tmp/x", "model=gan2d", "data=grid", "data.batch_size=10", "model.pack=4"]
    )
    with pytest.raises(ConfigError, match="model.pack=4 needs data.batch_size divisible"):
        validate(cfg)
    cfg = compose_config(
        ["paths.run_dir=/tmp/x", "model=gan2d", "data=grid", "model.pack=2", "model.num_classes=25"]
    )
    OmegaConf.resolve(cfg)
    with pytest.raises(ConfigError, match="model.pack=2 with model.num_classes > 0"):
        build_model(cfg)
    cfg = compose_config(
        [
            "paths.run_dir=/tmp/x",
            "model=gan2d",
            "data=grid",
            "model.pack=2",
            "regularizer=consensus",
        ]
    )
    OmegaConf.resolve(cfg)
    with pytest.raises(ConfigError, match="cannot run regularizer.consensus"):
        build_model(cfg)
