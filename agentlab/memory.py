"""Memory: a sequence module between an agent's encoder and its heads, for tasks an agent cannot see whole.

DRQN (Hausknecht & Stone 2015) puts an LSTM after the encoder instead of stacking frames; R2D2
(Kapturowski et al. 2019) trains it from stored states. ``--set memory=lstm|gru|transformer`` builds one
of perception's sequence encoders here (``perception.sequence``): ``lstm`` and ``gru`` carry their hidden
state, ``transformer`` attends causally over the last ``memory_window`` steps it keeps in its state.

Every memory's state is a dict of tensors ``[B, ...]`` (batch first, as the worker stores it), zero at an
episode's start, so resetting rows is one ``masked_fill``. Sequences are time-major ``[T, B, ...]``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from agentlab.config import ConfigError
from perception.sequence import RecurrentEncoder, TransformerEncoder

KINDS = ("", "lstm", "gru", "transformer")
"""``memory`` values: none, or the sequence module after the encoder."""

TensorState = dict[str, torch.Tensor]


def reset_rows(state: TensorState, starts: torch.Tensor) -> TensorState:
    """Zero (the initial state) every row where ``starts`` ``[B]`` is True."""
    return {name: value.masked_fill(starts.view(-1, *[1] * (value.dim() - 1)), 0) for name, value in state.items()}


def as_tensors(state: dict[str, np.ndarray], device: torch.device | str = "cpu") -> TensorState:
    return {name: torch.as_tensor(value, device=device) for name, value in state.items()}


def as_arrays(state: TensorState) -> dict[str, np.ndarray]:
    return {name: value.detach().cpu().numpy() for name, value in state.items()}


def stack_states(states: list[TensorState]) -> TensorState:
    """Per-step states ``[B, ...]`` → ``[T, B, ...]``."""
    return {name: torch.stack([s[name] for s in states]) for name in states[0]} if states else {}


class Memory(nn.Module):
    """``features [T, B, D]`` → ``[T, B, features_dim]``, carrying a state that restarts at episode starts."""

    features_dim: int
    prefix: str

    def initial_state(self, batch: int, device: torch.device | str = "cpu") -> TensorState:
        raise NotImplementedError

    def step(self, x: torch.Tensor, state: TensorState) -> tuple[torch.Tensor, TensorState]:
        """One step ``[B, D]`` → ``[B, features_dim]`` from ``state`` (no reset)."""
        raise NotImplementedError

    def whole(self, x: torch.Tensor, state: TensorState) -> tuple[torch.Tensor, TensorState]:
        """A sequence with no episode start after its first step; the fused kernel where there is one."""
        outs = []
        for t in range(x.shape[0]):
            out, state = self.step(x[t], state)
            outs.append(out)
        return torch.stack(outs), state

    def forward(self, x: torch.Tensor, state: TensorState, starts: torch.Tensor, keep: bool = False,
                ) -> tuple[torch.Tensor, TensorState, TensorState]:
        """Outputs ``[T, B, H]``, the final state, and (``keep``) the state after every step ``[T, B, ...]``.

        ``starts[t]`` ``[T, B]`` resets a row before step ``t``: an episode began at ``x[t]``."""
        if not keep and not bool(starts[1:].any()):
            out, state = self.whole(x, reset_rows(state, starts[0]))
            return out, state, {}
        outs, kept = [], []
        for t in range(x.shape[0]):
            out, state = self.step(x[t], reset_rows(state, starts[t]))
            outs.append(out)
            kept.append(state)
        return torch.stack(outs), state, stack_states(kept) if keep else {}


class RecurrentMemory(Memory):
    """An LSTM or GRU (``perception.sequence.RecurrentEncoder``); state ``h`` (and ``c``) ``[B, 1, H]``."""

    def __init__(self, input_dim: int, size: int, cell: str, prefix: str = "") -> None:
        super().__init__()
        self.encoder = RecurrentEncoder(input_dim, size, cell)
        self.cell, self.features_dim, self.prefix = cell, size, prefix
        self.names = [prefix + "h"] + ([prefix + "c"] if cell == "lstm" else [])

    def initial_state(self, batch: int, device: torch.device | str = "cpu") -> TensorState:
        return {name: torch.zeros(batch, 1, self.features_dim, device=device) for name in self.names}

    def _run(self, x: torch.Tensor, state: TensorState) -> tuple[torch.Tensor, TensorState]:
        """``x [T, B, D]`` through the fused kernel; the state travels as ``[layers, B, H]``."""
        carried = tuple(state[name].transpose(0, 1).contiguous() for name in self.names)  # [1, B, H] each
        out, new = self.encoder(x.transpose(0, 1), carried if self.cell == "lstm" else carried[0])  # [B, T, H]
        new = new if self.cell == "lstm" else (new,)
        return out.transpose(0, 1), {name: s.transpose(0, 1) for name, s in zip(self.names, new, strict=True)}

    def step(self, x: torch.Tensor, state: TensorState) -> tuple[torch.Tensor, TensorState]:
        out, state = self._run(x[None], state)
        return out[0], state

    def whole(self, x: torch.Tensor, state: TensorState) -> tuple[torch.Tensor, TensorState]:
        return self._run(x, state)


class WindowMemory(Memory):
    """A causal transformer (``perception.sequence.TransformerEncoder``) over the last ``window`` steps.

    The state is those steps' features ``window`` ``[B, W, D]`` (oldest first, zero-padded on the left) and
    which of them are real, ``valid`` ``[B, W]``; the output is the transformer's at the newest step."""

    def __init__(self, input_dim: int, size: int, window: int, prefix: str = "", num_heads: int = 4,
                 num_layers: int = 1) -> None:
        super().__init__()
        self.encoder = TransformerEncoder(input_dim, d_model=size, num_heads=num_heads, num_layers=num_layers,
                                          ff_dim=2 * size, max_len=window, causal=True)
        self.input_dim, self.window, self.features_dim, self.prefix = input_dim, window, size, prefix

    def initial_state(self, batch: int, device: torch.device | str = "cpu") -> TensorState:
        return {self.prefix + "window": torch.zeros(batch, self.window, self.input_dim, device=device),
                self.prefix + "valid": torch.zeros(batch, self.window, dtype=torch.bool, device=device)}

    def step(self, x: torch.Tensor, state: TensorState) -> tuple[torch.Tensor, TensorState]:
        window = torch.cat([state[self.prefix + "window"][:, 1:], x[:, None]], dim=1)  # [B, W, D]
        valid = torch.cat([state[self.prefix + "valid"][:, 1:], torch.ones_like(x[:, :1], dtype=torch.bool)], 1)
        out, _ = self.encoder(window, key_mask=valid)  # [B, W, size]
        return out[:, -1], {self.prefix + "window": window, self.prefix + "valid": valid}


def build_memory(kind: str, input_dim: int, size: int, window: int, prefix: str = "") -> Memory | None:
    """The ``memory`` setting's module on ``input_dim`` features, or None for ``memory=""``."""
    if kind == "":
        return None
    if kind in ("lstm", "gru"):
        return RecurrentMemory(input_dim, size, kind, prefix)
    if kind == "transformer":
        return WindowMemory(input_dim, size, window, prefix)
    raise ConfigError(f"memory must be one of {', '.join(repr(k) for k in KINDS)}, got {kind!r}")


def encode(encoder: nn.Module, memory: Memory | None, obs: torch.Tensor, state: TensorState, starts: torch.Tensor,
           keep: bool = False) -> tuple[torch.Tensor, TensorState, TensorState]:
    """``obs [T, B, ...]`` → features ``[T, B, F]`` through the encoder (all ``T·B`` at once), then the memory.

    Without memory the state passes through untouched (``{}``) and ``starts`` is ignored."""
    steps, batch = obs.shape[:2]
    features = encoder(obs.flatten(0, 1)).view(steps, batch, -1)  # [T, B, F]
    if memory is None:
        return features, state, {}
    return memory(features, state, starts, keep)
