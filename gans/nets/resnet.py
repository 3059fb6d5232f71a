"""ResNet generator and discriminator of SNGAN/SAGAN/BigGAN at CIFAR-like sizes.

The generator (Miyato et al. 2018, App. B; Brock et al. 2019, App. B, Table 4 for 32x32) maps z
to a 4x4 map and grows it with up-sampling residual blocks (BN-ReLU-up-conv3-BN-ReLU-conv3, a
1x1 shortcut), then BN-ReLU-conv3-tanh. Class information enters through conditional BatchNorm:
per-class gains (SAGAN), or BigGAN's shared embedding concatenated with a chunk of z per block
(hierarchical latent). The discriminator is residual blocks (the first without pre-activation,
average-pooled down to 8x8 then two blocks at 8x8), ReLU, global sum pooling, a linear output and
the projection term (Miyato & Koyama 2018). A self-attention block (Zhang et al. 2019) can sit at
one resolution in each network.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gans.errors import ConfigError
from gans.nets.attention import SelfAttention
from gans.nets.cbn import ConditionalBatchNorm2d, batch_norm
from gans.nets.conditioning import (
    Projection,
    ProjectionDiscriminator,
    check_condition,
    check_num_classes,
)
from gans.nets.dcgan import num_stages
from gans.nets.init import initialise, spectral_norm_all


class GBlock(nn.Module):
    """Up-sampling residual block: x up-sampled (1x1 conv when the width changes) plus
    conv3(ReLU(BN(conv3(up(ReLU(BN(x))))))), BN conditional when a condition is given."""

    def __init__(
        self,
        cin: int,
        cout: int,
        num_classes: int = 0,
        cond_dim: int = 0,
        cbn_init: str = "identity",
    ) -> None:
        super().__init__()
        self.bn1 = batch_norm(cin, num_classes, cond_dim, cbn_init)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.bn2 = batch_norm(cout, num_classes, cond_dim, cbn_init)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def _norm(self, bn: nn.Module, x: Tensor, c: Tensor | None) -> Tensor:
        return bn(x, c) if isinstance(bn, ConditionalBatchNorm2d) else bn(x)

    def forward(self, x: Tensor, c: Tensor | None) -> Tensor:
        h = F.interpolate(F.relu(self._norm(self.bn1, x, c)), scale_factor=2.0)
        h = self.conv2(F.relu(self._norm(self.bn2, self.conv1(h), c)))
        return h + self.shortcut(F.interpolate(x, scale_factor=2.0))


class Generator(nn.Module):
    """(z, y) -> image in [-1, 1] of ``channels`` x ``image_size``^2.

    Args:
        latent_dim: z's size; with ``hierarchical`` it is split into one chunk for the input
            layer and one per block (Brock et al. 2019, Sec. 3), so it must divide evenly.
        base_channels: ch; every block is 4 ch wide (BigGAN's 32x32 architecture, Table 4).
        num_classes: > 0: class-conditional BatchNorm.
        shared_dim: > 0: BigGAN's shared class embedding of this size, projected into each
            block's BatchNorm gains with the block's z chunk; 0: per-class BN tables (SAGAN).
        hierarchical: split z across the blocks (BigGAN); needs ``shared_dim`` or no classes.
        attention: the resolution after which a self-attention block sits (0: none).
        spectral_norm: on every conv and linear layer (Zhang et al. 2019: in G too).
        init: ``ortho`` (BigGAN), ``N02``, ``xavier`` or ``default`` (PyTorch's).
        cbn_init: how the per-class BatchNorm tables start (``shared_dim`` 0):
            ``identity`` (gain 1, bias 0: every class the same at first) or ``ortho`` (gain 1 +
            an orthogonal table, as StudioGAN's SAGAN, whose cBN is 1 + an orthogonally
            initialised linear map of the one-hot label).
        shared_init: how the shared embedding (``shared_dim`` > 0) starts: ``normal`` (PyTorch's
            N(0, 1): rows of norm sqrt(shared_dim), which then outweigh z's chunk in every
            block's gains) or ``network`` (``init`` as every other layer: BigGAN-PyTorch's and
            StudioGAN's ``init_weights`` include the ``nn.Embedding``, so with ``ortho`` each
            class's row has norm 1).
    """

    def __init__(
        self,
        latent_dim: int = 128,
        image_size: int = 32,
        channels: int = 3,
        base_channels: int = 64,
        num_classes: int = 0,
        shared_dim: int = 0,
        hierarchical: bool = False,
        attention: int = 0,
        spectral_norm: bool = True,
        init: str = "ortho",
        cbn_init: str = "identity",
        shared_init: str = "normal",
    ) -> None:
        super().__init__()
        if shared_init not in ("normal", "network"):
            raise ConfigError(
                f"model.generator.shared_init={shared_init} is unknown; allowed: normal, network"
            )
        blocks = num_stages(image_size, "ResNet")
        self.num_classes = check_num_classes(num_classes)
        self.latent_dim = int(latent_dim)
        self.hierarchical = bool(hierarchical)
        chunks = blocks + 1 if self.hierarchical else 1
        if self.latent_dim <= 0 or self.latent_dim % chunks:
            raise ConfigError(
                f"model.latent.dim={latent_dim} must be a positive multiple of {chunks} "
                f"(hierarchical z: one chunk for the input and one per block)"
            )
        self.chunk = self.latent_dim // chunks
        self.shared = (
            nn.Embedding(self.num_classes, int(shared_dim))
            if self.num_classes and shared_dim
            else None
        )
        cond_dim = (int(shared_dim) if self.shared is not None else 0) + (
            self.chunk if self.hierarchical else 0
        )
        per_class = self.num_classes if self.shared is None else 0
        if per_class and self.hierarchical:
            raise ConfigError(
                "model.generator.hierarchical=true with classes needs model.generator.shared_dim"
            )
        width = 4 * int(base_channels)
        self.width = width
        self.input = nn.Linear(self.chunk, 4 * 4 * width)
        self.blocks = nn.ModuleList(
            GBlock(width, width, per_class, cond_dim, cbn_init) for _ in range(blocks)
        )
        self.attention_after = _attention_index(
            "model.generator.attention", attention, [8 * 2**i for i in range(blocks)]
        )
        self.attention = SelfAttention(width) if self.attention_after is not None else None
        self.out = nn.Sequential(
            nn.BatchNorm2d(width), nn.ReLU(), nn.Conv2d(width, channels, 3, padding=1), nn.Tanh()
        )
        initialise(self, init)
        if self.shared is not None and shared_init == "network":
            initialise(self.shared, init, embeddings=True)
        if spectral_norm:
            spectral_norm_all(self)

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        check_condition(y, self.num_classes, "generator")
        zs = z.split(self.chunk, dim=1) if self.hierarchical else (z,)
        h = self.input(zs[0]).view(z.shape[0], self.width, 4, 4)
        shared = self.shared(y) if self.shared is not None else None
        for i, block in enumerate(self.blocks):
            parts = [t for t in (shared, zs[i + 1] if self.hierarchical else None) if t is not None]
            c = torch.cat(parts, dim=1) if parts else y
            h = block(h, c)
            if i == self.attention_after:
                h = self.attention(h)
        return self.out(h)


class DBlock(nn.Module):
    """Residual block: [ReLU]-conv3-ReLU-conv3-[avgpool] plus a (1x1 conv, avgpool) shortcut;
    the first block skips the leading ReLU (Miyato et al. 2018's "optimized" block)."""

    def __init__(self, cin: int, cout: int, down: bool, preactivation: bool) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.down = down
        self.preactivation = preactivation
        self.shortcut = nn.Conv2d(cin, cout, 1) if (cin != cout or down) else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        h = F.relu(x) if self.preactivation else x
        h = self.conv2(F.relu(self.conv1(h)))
        if self.down:
            h = F.avg_pool2d(h, 2)
        s = x
        if self.preactivation:
            s = self.shortcut(s)
            s = F.avg_pool2d(s, 2) if self.down else s
        else:  # first block: pool, then the 1x1 conv (Miyato et al. 2018)
            s = self.shortcut(F.avg_pool2d(s, 2) if self.down else s)
        return h + s


class Discriminator(ProjectionDiscriminator):
    """image (B, C, S, S) -> logit (B,): residual blocks of 4 ch (down to 8x8, then two at 8x8),
    ReLU, sum over positions, linear, plus the projection <embed(y), h> when conditional.

    ``aux_classes`` > 0 adds an auxiliary classifier head on the same features
    (:meth:`judge_and_classify`, ACGAN), of ``aux_heads`` logits per class (2: TAC, ADC).
    ``projection_sn``: the projection's class embedding initialised and spectrally normalised
    like the other layers (sngan_projection's ``SNEmbedID``, BigGAN-PyTorch's ``SNEmbedding``,
    StudioGAN's ``sn_embedding``); off (the default, which checkpoints saved before the option
    was named load with), it keeps PyTorch's N(0, 1) table, unnormalised."""

    def __init__(
        self,
        image_size: int = 32,
        channels: int = 3,
        base_channels: int = 64,
        num_classes: int = 0,
        attention: int = 0,
        spectral_norm: bool = True,
        init: str = "ortho",
        aux_classes: int = 0,
        aux_heads: int = 1,
        projection_sn: bool = False,
    ) -> None:
        super().__init__()
        downs = num_stages(image_size, "ResNet") - 1
        width = 4 * int(base_channels)
        layers = [DBlock(channels, width, down=True, preactivation=False)]
        layers += [DBlock(width, width, down=True, preactivation=True) for _ in range(downs - 1)]
        layers += [DBlock(width, width, down=False, preactivation=True) for _ in range(2)]
        self.blocks = nn.ModuleList(layers)
        sizes = [int(image_size) >> min(i + 1, downs) for i in range(len(layers))]
        self.attention_after = _attention_index(
            "model.discriminator.attention", attention, sizes[:downs]
        )
        self.attention = SelfAttention(width) if self.attention_after is not None else None
        self.head = nn.Linear(width, 1)
        self.projection = Projection(num_classes, width)
        classes = int(aux_classes) * int(aux_heads)
        self.classifier = nn.Linear(width, classes) if aux_classes else None
        initialise(self, init, embeddings=projection_sn)
        if spectral_norm:
            spectral_norm_all(self, embeddings=projection_sn)

    def features(self, x: Tensor) -> Tensor:
        h = x
        for i, block in enumerate(self.blocks):
            h = block(h)
            if i == self.attention_after:
                h = self.attention(h)
        return F.relu(h).sum(dim=(2, 3))


def _attention_index(key: str, resolution: int, sizes: list[int]) -> int | None:
    """Which block's output (``sizes``: each block's output resolution) gets attention."""
    if not resolution:
        return None
    if int(resolution) not in sizes:
        raise ConfigError(
            f"{key}={resolution}: no block outputs that resolution; "
            f"allowed: 0 (none) or one of {sorted(set(sizes))}"
        )
    return sizes.index(int(resolution))
