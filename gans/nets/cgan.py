"""Mirza & Osindero's conditional GAN MLPs ("Conditional Generative Adversarial Nets", 2014,
Sec. 4.1, MNIST): the one-hot label is a second input of each network, mapped by its own layer
and joined with the noise (G) or the image (D) in a shared hidden layer."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gans.errors import ConfigError
from gans.nets.conditioning import check_condition
from gans.nets.init import initialise, spectral_norm_all
from gans.nets.minibatch import MinibatchDiscrimination
from gans.nets.mlp import Maxout


def _classes(num_classes: int) -> int:
    if int(num_classes) < 2:
        raise ConfigError(
            f"model.num_classes={num_classes}: the cGAN networks need labelled data with >= 2 "
            "classes (model.num_classes=${data.num_classes})"
        )
    return int(num_classes)


class Generator(nn.Module):
    """(z, y) -> sample: z -> ``z_units`` ReLU, one_hot(y) -> ``y_units`` ReLU, concatenated ->
    ``joint`` ReLU -> tanh output reshaped to ``data_shape`` (the paper: 200, 1000, 1200 and a
    sigmoid; tanh here because images are in [-1, 1]). ``batch_norm`` puts BatchNorm before each
    hidden ReLU (not in the paper; Radford et al. 2016's and the notes' G); ``init`` names the
    weight initialisation (:func:`gans.nets.init.initialise`)."""

    def __init__(
        self,
        latent_dim: int,
        data_shape: Sequence[int],
        num_classes: int,
        z_units: int = 200,
        y_units: int = 1000,
        joint: int = 1200,
        dropout: float = 0.0,
        batch_norm: bool = False,
        init: str = "default",
    ) -> None:
        super().__init__()
        self.num_classes = _classes(num_classes)
        self.data_shape = tuple(int(s) for s in data_shape)

        def dense(cin: int, cout: int) -> list[nn.Module]:  # the paper's layer keys unchanged
            return [
                nn.Linear(cin, cout),
                *([nn.BatchNorm1d(cout)] if batch_norm else []),
                nn.ReLU(),
            ]

        self.z_path = nn.Sequential(*dense(int(latent_dim), z_units))
        self.y_path = nn.Sequential(*dense(self.num_classes, y_units))
        self.joint = nn.Sequential(
            nn.Dropout(dropout),
            *dense(z_units + y_units, joint),
            nn.Dropout(dropout),
            nn.Linear(joint, math.prod(self.data_shape)),
            nn.Tanh(),
        )
        initialise(self, init)

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        check_condition(y, self.num_classes, "generator")
        assert y is not None
        one_hot = F.one_hot(y, self.num_classes).to(z.dtype)
        h = torch.cat([self.z_path(z), self.y_path(one_hot)], dim=1)
        return self.joint(h).view(z.shape[0], *self.data_shape)


class Discriminator(nn.Module):
    """(x, y) -> logit: flatten(x) -> maxout ``x_units`` x ``pieces``, one_hot(y) -> maxout
    ``y_units`` x ``pieces``, concatenated -> maxout ``joint`` x ``joint_pieces`` -> one logit,
    with dropout before each layer: ``input_dropout`` on the inputs, ``dropout`` on hidden units
    (the paper: 240x5, 50x5, 240x4, dropout 0.5); ``spectral_norm`` divides every weight by its
    largest singular value (Miyato et al. 2018; not in the paper); ``minibatch_kernels`` > 0
    appends that many minibatch-discrimination features (Salimans et al. 2016, Sec. 3.2,
    :class:`~gans.nets.minibatch.MinibatchDiscrimination`, ``minibatch_dims`` each) to the joint
    layer's output, which holds the label too: a batch whose samples of one label are near-copies
    looks unlike real data (not in the paper)."""

    def __init__(
        self,
        data_shape: Sequence[int],
        num_classes: int,
        x_units: int = 240,
        y_units: int = 50,
        joint: int = 240,
        pieces: int = 5,
        joint_pieces: int = 4,
        dropout: float = 0.5,
        input_dropout: float = 0.2,
        spectral_norm: bool = False,
        minibatch_kernels: int = 0,
        minibatch_dims: int = 5,
    ) -> None:
        super().__init__()
        self.num_classes = _classes(num_classes)
        if int(minibatch_kernels) < 0:
            raise ConfigError(
                f"model.discriminator.minibatch_kernels={minibatch_kernels} must be >= 0"
            )
        size = math.prod(int(s) for s in data_shape)
        self.x_path = nn.Sequential(
            nn.Flatten(), nn.Dropout(input_dropout), Maxout(size, x_units, pieces)
        )
        self.y_path = nn.Sequential(
            nn.Dropout(input_dropout), Maxout(self.num_classes, y_units, pieces)
        )
        batch = (
            [MinibatchDiscrimination(joint, int(minibatch_kernels), int(minibatch_dims))]
            if int(minibatch_kernels)
            else []
        )
        self.joint = nn.Sequential(
            nn.Dropout(dropout),
            Maxout(x_units + y_units, joint, joint_pieces),
            *batch,
            nn.Dropout(dropout),
            nn.Linear(joint + int(minibatch_kernels), 1),
        )
        if spectral_norm:
            spectral_norm_all(self)

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        check_condition(y, self.num_classes, "discriminator")
        assert y is not None
        one_hot = F.one_hot(y, self.num_classes).to(x.dtype)
        return self.joint(torch.cat([self.x_path(x), self.y_path(one_hot)], dim=1)).flatten()
