"""Sequence encoders: summarise a history of observations into one feature vector per time step.

- ``RecurrentEncoder``: a GRU (Cho et al. 2014) or LSTM (Hochreiter & Schmidhuber 1997), as DRQN
  (Hausknecht & Stone 2015) puts after the conv stack instead of frame stacking.
- ``TransformerEncoder``: Vaswani et al. 2017, "Attention Is All You Need": sinusoidal positions,
  multi-head scaled dot-product self-attention (optionally causal), residual + layer norm (post-norm).

Both accept ``[B, T, input_dim]`` vectors (or, with ``frame_encoder``, ``[B, T, C, H, W]`` frames that an
image encoder such as ``NatureCNN`` embeds first) and return ``[B, T, features_dim]``. Both also run one step
at a time with a carried state (recurrent state, or the transformer's growing key/value cache); stepping
through a sequence gives the same outputs as encoding it whole (causally, for the transformer).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import nn

RecurrentState = torch.Tensor | tuple[torch.Tensor, torch.Tensor]
"""GRU: ``h`` ``[num_layers, B, H]``; LSTM: ``(h, c)``, each ``[num_layers, B, H]``."""


def _embed_frames(frame_encoder: nn.Module | None, x: torch.Tensor) -> torch.Tensor:
    """``[B, T, *obs]`` → ``[B, T, D]``, running ``frame_encoder`` on all ``B·T`` frames at once."""
    if frame_encoder is None:
        return x
    b, t = x.shape[:2]
    return frame_encoder(x.flatten(0, 1)).view(b, t, -1)  # [B·T, *obs] → [B·T, D] → [B, T, D]


class RecurrentEncoder(nn.Module):
    """GRU or LSTM over time; ``features_dim`` is the hidden size."""

    def __init__(self, input_dim: int, hidden_dim: int = 256, cell: str = "gru", num_layers: int = 1,
                 frame_encoder: nn.Module | None = None) -> None:
        super().__init__()
        if cell not in ("gru", "lstm"):
            raise ValueError(f"cell must be 'gru' or 'lstm', got {cell!r}")
        self.frame_encoder = frame_encoder
        rnn = nn.GRU if cell == "gru" else nn.LSTM
        self.rnn = rnn(input_dim, hidden_dim, num_layers=num_layers, batch_first=True)
        self.features_dim = hidden_dim

    def forward(
        self, x: torch.Tensor, state: RecurrentState | None = None
    ) -> tuple[torch.Tensor, RecurrentState]:
        """``x`` ``[B, T, ...]`` → outputs ``[B, T, hidden_dim]`` and the state after the last step."""
        out, state = self.rnn(_embed_frames(self.frame_encoder, x), state)  # [B, T, H]
        return out, state

    def step(
        self, x_t: torch.Tensor, state: RecurrentState | None = None
    ) -> tuple[torch.Tensor, RecurrentState]:
        """One time step: ``x_t`` ``[B, ...]`` → ``[B, hidden_dim]`` and the next state."""
        out, state = self.forward(x_t.unsqueeze(1), state)  # [B, 1, H]
        return out.squeeze(1), state


class SinusoidalPositionalEncoding(nn.Module):
    """``PE[p, 2i] = sin(p / 10000^(2i/d))``, ``PE[p, 2i+1] = cos(p / 10000^(2i/d))`` (Vaswani §3.5)."""

    def __init__(self, d_model: int, max_len: int = 512) -> None:
        super().__init__()
        position = torch.arange(max_len, dtype=torch.float32)[:, None]  # [L, 1]
        inv_freq = torch.exp(-math.log(10000.0) * torch.arange(0, d_model, 2, dtype=torch.float32) / d_model)
        table = torch.zeros(max_len, d_model)
        table[:, 0::2] = torch.sin(position * inv_freq)
        table[:, 1::2] = torch.cos(position * inv_freq[: d_model // 2])
        self.register_buffer("table", table, persistent=False)  # [L, d]

    def forward(self, x: torch.Tensor, start: int = 0) -> torch.Tensor:
        """Add the encodings of positions ``start .. start + T - 1`` to ``x`` ``[B, T, d]``."""
        end = start + x.shape[1]
        if end > self.table.shape[0]:
            raise ValueError(f"position {end - 1} exceeds max_len {self.table.shape[0]}")
        return x + self.table[start:end]


class MultiHeadSelfAttention(nn.Module):
    """``softmax(Q Kᵀ / sqrt(d_head) + mask) V`` in ``num_heads`` heads, then an output projection."""

    def __init__(self, d_model: int, num_heads: int) -> None:
        super().__init__()
        if d_model % num_heads:
            raise ValueError(f"d_model {d_model} is not divisible by num_heads {num_heads}")
        self.num_heads = num_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)

    def forward(self, x: torch.Tensor, causal: bool = False,
                past: tuple[torch.Tensor, torch.Tensor] | None = None, key_mask: torch.Tensor | None = None,
                ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """``x`` ``[B, T, d]`` attends to ``past`` keys/values and itself; returns output and all keys/values.

        With ``causal``, query ``t`` sees only keys up to its own position (past ones included).
        ``key_mask`` ``[B, T_past + T]`` (True: real) hides padding keys from every query but their own, so a
        padding query still attends to something and stays finite.
        """
        b, t, d = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.num_heads, d // self.num_heads).permute(2, 0, 3, 1, 4)
        # q, k, v: [B, heads, T, d_head]
        if past is not None:
            k = torch.cat([past[0], k], dim=2)  # [B, heads, T_past + T, d_head]
            v = torch.cat([past[1], v], dim=2)
        scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # [B, heads, T, T_past + T]
        if causal:
            t_all = k.shape[2]
            query_pos = torch.arange(t_all - t, t_all, device=x.device)[:, None]  # [T, 1]
            key_pos = torch.arange(t_all, device=x.device)[None, :]  # [1, T_all]
            scores = scores.masked_fill(key_pos > query_pos, float("-inf"))
        if key_mask is not None:
            t_all = k.shape[2]
            key_pos = torch.arange(t_all, device=x.device)[None, :]  # [1, T_all]
            own = key_pos == torch.arange(t_all - t, t_all, device=x.device)[:, None]  # [T, T_all]
            hidden = ~key_mask[:, None, None, :] & ~own  # [B, 1, T, T_all]
            scores = scores.masked_fill(hidden, float("-inf"))
        attended = torch.softmax(scores, dim=-1) @ v  # [B, heads, T, d_head]
        return self.out(attended.transpose(1, 2).reshape(b, t, d)), (k, v)  # [B, T, d]


class TransformerLayer(nn.Module):
    """``x = LN(x + MHSA(x))``; ``x = LN(x + FFN(x))`` with ``FFN = Linear → ReLU → Linear``."""

    def __init__(self, d_model: int, num_heads: int, ff_dim: int) -> None:
        super().__init__()
        self.attention = MultiHeadSelfAttention(d_model, num_heads)
        self.norm1 = nn.LayerNorm(d_model)
        self.ff = nn.Sequential(nn.Linear(d_model, ff_dim), nn.ReLU(), nn.Linear(ff_dim, d_model))
        self.norm2 = nn.LayerNorm(d_model)

    def forward(self, x: torch.Tensor, causal: bool = False,
                past: tuple[torch.Tensor, torch.Tensor] | None = None, key_mask: torch.Tensor | None = None,
                ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        attended, kv = self.attention(x, causal, past, key_mask)
        x = self.norm1(x + attended)
        return self.norm2(x + self.ff(x)), kv  # [B, T, d]


class TransformerCache(NamedTuple):
    """What ``TransformerEncoder.step`` carries: each layer's keys/values so far, and the next position."""

    layers: list[tuple[torch.Tensor, torch.Tensor]]
    position: int


class TransformerEncoder(nn.Module):
    """Input projection, sinusoidal positions, ``num_layers`` self-attention layers; features ``d_model``.

    ``causal=True`` makes step ``t``'s output depend only on steps ``≤ t``, which an agent acting online needs
    and which ``step`` requires. Histories longer than ``max_len`` must be cut by the caller.
    """

    def __init__(self, input_dim: int, d_model: int = 128, num_heads: int = 4, num_layers: int = 2,
                 ff_dim: int = 256, max_len: int = 512, causal: bool = True,
                 frame_encoder: nn.Module | None = None) -> None:
        super().__init__()
        self.frame_encoder = frame_encoder
        self.causal = causal
        self.input_proj = nn.Linear(input_dim, d_model)
        self.positions = SinusoidalPositionalEncoding(d_model, max_len)
        self.layers = nn.ModuleList(TransformerLayer(d_model, num_heads, ff_dim) for _ in range(num_layers))
        self.features_dim = d_model

    def forward(self, x: torch.Tensor, cache: TransformerCache | None = None, key_mask: torch.Tensor | None = None,
                ) -> tuple[torch.Tensor, TransformerCache]:
        """``x`` ``[B, T, ...]``, continuing after ``cache`` if given → ``[B, T, d_model]``, new cache.

        ``key_mask`` ``[B, T_cached + T]`` marks real steps (True) among padding (see ``MultiHeadSelfAttention``)."""
        if cache is not None and not self.causal:
            raise ValueError("a cache needs a causal transformer: earlier outputs cannot see later steps")
        start = 0 if cache is None else cache.position
        h = self.positions(self.input_proj(_embed_frames(self.frame_encoder, x)), start)  # [B, T, d]
        new_layers = []
        for i, layer in enumerate(self.layers):
            h, kv = layer(h, self.causal, None if cache is None else cache.layers[i], key_mask)
            new_layers.append(kv)
        return h, TransformerCache(new_layers, start + x.shape[1])

    def step(self, x_t: torch.Tensor, cache: TransformerCache | None = None,
             ) -> tuple[torch.Tensor, TransformerCache]:
        """One time step: ``x_t`` ``[B, ...]`` → ``[B, d_model]``, attending to every step in ``cache``."""
        out, cache = self.forward(x_t.unsqueeze(1), cache)  # [B, 1, d]
        return out.squeeze(1), cache
