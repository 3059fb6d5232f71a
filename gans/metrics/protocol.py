"""The protocol a score was measured under; scores with different protocols never share a key."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Protocol:
    """Everything that changes the value of FID and friends for the same generator.

    Attributes:
        features: feature network, ``inception`` (torch-fidelity's FID Inception-v3) or
            ``classifier`` (the framework's domain classifier).
        weights: first 8 hex digits of the SHA-256 of the feature network's weights.
        generated: number of generated samples.
        reference: number of real samples in the reference statistics.
        split: ``<dataset>/<split>`` the reference samples were drawn from.
        resize: how images reach the network, e.g. ``tf1-bilinear-299`` or ``native-32``.
        ema: whether the moving-average generator was measured.
    """

    features: str
    weights: str
    generated: int
    reference: int
    split: str
    resize: str
    ema: bool

    def tag(self) -> str:
        """Compact and key-safe: ``classifier-1a2b3c4d_g2000_r1797_digits-all_native-32_ema``."""
        return "_".join(
            [
                f"{self.features}-{self.weights}",
                f"g{self.generated}",
                f"r{self.reference}",
                self.split.replace("/", "-"),
                self.resize,
                "ema" if self.ema else "raw",
            ]
        )

    def key(self, metric: str) -> str:
        """The logged name of ``metric`` under this protocol, e.g. ``fid/<tag>``."""
        return f"{metric}/{self.tag()}"

    def as_dict(self) -> dict[str, object]:
        return asdict(self)
