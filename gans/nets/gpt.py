"""A small GPT (Radford et al. 2018; the minGPT/nanoGPT shape that taming-transformers' stage 2
uses): token and learned position embeddings, pre-norm blocks of causal self-attention and an
MLP, a linear head over the vocabulary."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class Block(nn.Module):
    """x + attn(ln(x)) then x + mlp(ln(x)), attention causal."""

    def __init__(self, width: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.mlp = nn.Sequential(
            nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width), nn.Dropout(dropout)
        )
        self.dropout = dropout

    def forward(self, x: Tensor, cache: list[Tensor] | None = None) -> Tensor:
        """``cache``: this block's keys and values of the earlier positions (``[k, v]``, filled
        and extended in place), for decoding one position at a time."""
        n, t, c = x.shape
        q, k, v = self.qkv(self.ln1(x)).reshape(n, t, 3, self.heads, c // self.heads).unbind(2)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        earlier = 0
        if cache is not None:
            if cache:
                earlier = cache[0].shape[2]
                k, v = torch.cat([cache[0], k], dim=2), torch.cat([cache[1], v], dim=2)
            cache[:] = [k, v]
        if earlier and t == 1:  # the new position sees every earlier one: no mask needed
            attended = F.scaled_dot_product_attention(q, k, v)
        elif earlier:
            raise ValueError("with a filled cache, feed one position at a time")
        else:
            attended = F.scaled_dot_product_attention(
                q, k, v, is_causal=True, dropout_p=self.dropout if self.training else 0.0
            )
        x = x + self.proj(attended.transpose(1, 2).reshape(n, t, c))
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    """tokens (N, T) -> next-token logits (N, T, vocab), T <= ``block_size``.

    Args:
        vocab: token values (the codebook size plus start tokens).
        block_size: the longest sequence (the code grid's h * w).
        width, depth, heads: embedding width, blocks, attention heads.
        dropout: on the embeddings, attention and MLP outputs.
    """

    def __init__(
        self,
        vocab: int,
        block_size: int,
        width: int = 128,
        depth: int = 4,
        heads: int = 4,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if width % heads:
            raise ValueError(f"width={width} must be divisible by heads={heads}")
        self.vocab, self.block_size = int(vocab), int(block_size)
        self.token = nn.Embedding(vocab, width)
        self.position = nn.Parameter(torch.zeros(1, block_size, width))
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.Sequential(*[Block(width, heads, dropout) for _ in range(depth)])
        self.ln = nn.LayerNorm(width)
        self.head = nn.Linear(width, vocab, bias=False)
        self.apply(self._init)

    @staticmethod
    def _init(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, 0.0, 0.02)
            if getattr(module, "bias", None) is not None:
                nn.init.zeros_(module.bias)

    def forward(self, tokens: Tensor, cache: list[list[Tensor]] | None = None) -> Tensor:
        """Logits for ``tokens``; with ``cache`` (one list per block, empty at first) the tokens
        continue the cached positions and the cache grows by them."""
        start = cache[0][0].shape[2] if cache and cache[0] else 0
        t = start + tokens.shape[1]
        if t > self.block_size:
            raise ValueError(f"a sequence of {t} tokens exceeds block_size={self.block_size}")
        x = self.drop(self.token(tokens) + self.position[:, start:t])
        for i, block in enumerate(self.blocks):
            x = block(x, cache[i] if cache is not None else None)
        return self.head(self.ln(x))


def top_k_filter(logits: Tensor, k: int | None) -> Tensor:
    """``logits`` with all but each row's ``k`` largest set to -inf (k None or 0: unchanged)."""
    if not k or k >= logits.shape[-1]:
        return logits
    kth = torch.topk(logits, k, dim=-1).values[..., -1:]
    return logits.masked_fill(logits < kth, float("-inf"))


@torch.no_grad()
def sample_tokens(
    model: GPT,
    prefix: Tensor,
    steps: int,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    limit: int | None = None,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Extend ``prefix`` (N, T0) by ``steps`` tokens, each drawn from softmax(logits / temperature)
    restricted to the ``top_k`` most likely of the first ``limit`` tokens (the codes, not the
    start tokens); returns only the new tokens (N, steps). Keys and values are cached: each
    step runs the new position only."""
    cache: list[list[Tensor]] = [[] for _ in model.blocks]
    feed, drawn = prefix, []
    for _ in range(steps):
        logits = model(feed, cache)[:, -1, :limit].float() / max(float(temperature), 1e-6)
        probs = F.softmax(top_k_filter(logits, top_k), dim=-1)
        feed = torch.multinomial(probs.cpu(), 1, generator=generator).to(prefix.device)
        drawn.append(feed)
    return torch.cat(drawn, dim=1)
