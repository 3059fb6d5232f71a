"""Auxiliary-classifier losses of the ACGAN family, on class logits (pure functions).

With K classes, c the class asked for, C(x) D's class logits and CE the cross-entropy:

* ``acgan`` (Odena et al. 2017, Sec. 3): D: CE(C(x), c) + CE(C(G(z, c)), c); G: CE(C(G(z, c)), c).
  D's classifier also learns the generated samples, so G is rewarded for whatever D already
  classifies easily: the loss of diversity Odena et al. measure (Fig. 4) and Shu et al. (2017)
  explain.
* ``mod`` (ACGAN-Mod, PyTorch-StudioGAN, ``src/worker.py``: D's class loss on real samples only;
  Kang et al. 2021, "Rebooting ACGAN", Sec. 3): D: CE(C(x), c); G: CE(C(G(z, c)), c).
* ``tac`` (Gong et al. 2019, "Twin Auxiliary Classifiers GAN", Eq. 8-9): a twin classifier C_mi
  learns the generated samples' classes; D: CE(C(x), c) + CE(C_mi(G(z, c)), c);
  G: CE(C(G(z, c)), c) - CE(C_mi(G(z, c)), c), which cancels ACGAN's pull towards easily
  classified samples (the conditional entropy term).
* ``adc`` (Hou et al. 2022, "Conditional GANs with Auxiliary Discriminative Classifier", Eq. 6-7):
  one classifier over 2K labels, real class k and generated class K + k; D: CE(C(x), c) +
  CE(C(G(z, c)), K + c); G: CE(C(G(z, c)), c) - CE(C(G(z, c)), K + c).

``tac`` and ``adc`` need 2K logits (:data:`HEADS`); the first K are C's in both.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

KINDS = ("acgan", "mod", "tac", "adc")
#: class logits per class each kind needs from D's head (``model.discriminator.aux_heads``)
HEADS = {"acgan": 1, "mod": 1, "tac": 2, "adc": 2}


def d_class_loss(kind: str, real: Tensor, fake: Tensor, c: Tensor, num_classes: int) -> Tensor:
    """D's class loss (module docstring) from the class logits of real and generated samples."""
    k = int(num_classes)
    if kind == "acgan":
        return F.cross_entropy(real, c) + F.cross_entropy(fake, c)
    if kind == "mod":
        return F.cross_entropy(real, c)
    if kind == "tac":
        return F.cross_entropy(real[:, :k], c) + F.cross_entropy(fake[:, k:], c)
    if kind == "adc":
        return F.cross_entropy(real, c) + F.cross_entropy(fake, c + k)
    raise ValueError(kind)


def g_class_loss(kind: str, fake: Tensor, c: Tensor, num_classes: int) -> Tensor:
    """G's class loss (module docstring) from the class logits of its samples."""
    k = int(num_classes)
    if kind in ("acgan", "mod"):
        return F.cross_entropy(fake, c)
    if kind == "tac":
        return F.cross_entropy(fake[:, :k], c) - F.cross_entropy(fake[:, k:], c)
    if kind == "adc":
        return F.cross_entropy(fake, c) - F.cross_entropy(fake, c + k)
    raise ValueError(kind)
