"""Running observation normalisation inside the network: ``clip((x − μ) / √(σ² + ε), ±10)``, as
Stable-Baselines3's ``VecNormalize`` does outside it, with μ and σ² the moments of every observation the
learner has trained on, merged batch by batch (Chan, Golub & LeVeque 1979's parallel update).

The moments are buffers of the network, so they travel with its weights to the actors, into checkpoints
and to evaluation. The learner merges each fragment's moments once (A3C's actors ship theirs beside the
gradient), never inside a forward pass, so acting, replay and target passes read the same statistics.

``RewardScale`` is ``VecNormalize``'s reward half, applied by a learner to the rewards it trains on (acting and
evaluation never see rewards, so nothing travels with the weights).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn

from agentlab.core import Fragment


class Moments(NamedTuple):
    """A batch's observation count, mean ``[D]`` and (population) variance ``[D]``, as plain arrays."""

    count: int
    mean: np.ndarray
    var: np.ndarray


def batch_moments(x: torch.Tensor) -> Moments:
    """The moments of a batch of feature vectors ``[N, D]``."""
    x = x.detach().double().cpu()
    return Moments(len(x), x.mean(0).numpy(), x.var(0, unbiased=False).numpy())


def merge_moments(n_a: float, mean_a: Any, var_a: Any, n_b: float, mean_b: Any, var_b: Any) -> tuple[float, Any, Any]:
    """Two sets' count, mean and (population) variance merged, arrays or numbers alike: δ = μ_b − μ_a,
    μ = μ_a + δ n_b / n, σ² = (σ²_a n_a + σ²_b n_b + δ² n_a n_b / n) / n (Chan, Golub & LeVeque 1979)."""
    n = n_a + n_b
    delta = mean_b - mean_a
    return n, mean_a + delta * (n_b / n), (var_a * n_a + var_b * n_b + delta**2 * (n_a * n_b / n)) / n


class RunningNorm(nn.Module):
    """``[B, D]`` → ``[B, D]`` standardised by the running moments; identity-like until the first update."""

    def __init__(self, dim: int, clip: float = 10.0, eps: float = 1e-8):
        super().__init__()
        self.clip, self.eps = clip, eps
        self.register_buffer("mean", torch.zeros(dim, dtype=torch.float64))
        self.register_buffer("var", torch.ones(dim, dtype=torch.float64))
        self.register_buffer("count", torch.full((1,), 1e-4, dtype=torch.float64))  # SB3's prior count: no 0/0

    @torch.no_grad()
    def update(self, batch: Moments) -> None:
        """Merge a batch's moments (``merge_moments``)."""
        # copies: moments that came through Ray are read-only arrays, which as_tensor would share (with a warning)
        mean_b = torch.tensor(batch.mean, dtype=torch.float64, device=self.mean.device)
        var_b = torch.tensor(batch.var, dtype=torch.float64, device=self.var.device)
        n, mean, var = merge_moments(self.count.item(), self.mean, self.var, float(batch.count), mean_b, var_b)
        self.mean.copy_(mean)
        self.var.copy_(var)
        self.count.fill_(n)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        std = (self.var + self.eps).sqrt().to(x.dtype)
        return ((x - self.mean.to(x.dtype)) / std).clamp(-self.clip, self.clip)


class RewardScale:
    """``r / √(Var[G] + ε)`` clipped to ±``clip``, where ``G ← γ G + r`` is each env's discounted return so far (0 again
    after its episode ends) and ``Var[G]`` the running variance of every ``G`` seen (Stable-Baselines3's
    ``VecNormalize(norm_reward=True)``; Engstrom et al. 2020, "Implementation Matters in Deep Policy Gradients",
    reward scaling). The rewards' scale, not their mean, changes: a return's sign and the policy's ranking stay."""

    def __init__(self, gamma: float, clip: float = 10.0, eps: float = 1e-8):
        self.gamma, self.clip, self.eps = gamma, clip, eps
        self.returns = np.zeros(0)  # [E] G of each env column, carried from fragment to fragment
        self.count, self.mean, self.var = 1e-4, 0.0, 1.0  # SB3's prior count: no 0/0

    def __call__(self, rewards: np.ndarray, terminated: np.ndarray, truncated: np.ndarray) -> np.ndarray:
        """Scaled rewards ``[T, E]`` (float32) for a fragment's ``[T, E]`` rewards and episode ends."""
        if self.returns.shape != rewards.shape[1:]:  # first fragment (or a different env count): G starts at 0
            self.returns = np.zeros(rewards.shape[1:])
        seen = np.empty(rewards.shape)
        for t in range(len(rewards)):
            self.returns = self.gamma * self.returns + rewards[t]
            seen[t] = self.returns
            self.returns[terminated[t] | truncated[t]] = 0.0
        self.merge(seen.ravel())
        scale = np.sqrt(self.var + self.eps)
        return np.clip(rewards / scale, -self.clip, self.clip).astype(np.float32)

    def apply(self, fragment: Fragment) -> Fragment:
        """The fragment with its rewards scaled."""
        return fragment._replace(rewards=self(fragment.rewards, fragment.terminated, fragment.truncated))

    def merge(self, x: np.ndarray) -> None:
        """The running moments with a batch of returns merged in (``merge_moments``)."""
        self.count, self.mean, self.var = (float(v) for v in merge_moments(self.count, self.mean, self.var, len(x),
                                                                             x.mean(), x.var()))

    def state_dict(self) -> dict[str, Any]:
        return {"returns": torch.from_numpy(self.returns.copy()), "count": float(self.count), "mean": float(self.mean),
                "var": float(self.var)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.returns = state["returns"].numpy().astype(np.float64)
        self.count, self.mean, self.var = float(state["count"]), float(state["mean"]), float(state["var"])


def reward_scale(normalize_reward: bool, gamma: float) -> RewardScale | None:
    """A ``RewardScale`` when ``normalize_reward`` is on, else None."""
    return RewardScale(gamma) if normalize_reward else None
