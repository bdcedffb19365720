"""PPO's actor is A2C's: it samples from the softmax policy on CPU and ships its fragment unchanged.

Schulman et al. 2017, Algorithm 1 needs, per step, π_θold(a_t|s_t) and V(s_t) from the policy that
acted. The fragment carries no per-step extras, so the learner recomputes both from ``fragment.obs``
with its network before the first update of the round. On the synchronous schedule that network *is*
the one that acted (every worker adopts each new version before its next fragment), so the recomputed
values are exact and the ratio π_θ/π_θold starts at 1; the learner logs ``staleness`` to show it.
"""

from __future__ import annotations

import gymnasium

from agentlab.a2c.actor import A2CActor
from agentlab.ppo.config import PPOConfig


def make_actor(config: PPOConfig, obs_space: gymnasium.Space, action_space: gymnasium.Space, worker_index: int,
               num_workers: int, seed: int) -> A2CActor:
    """A2C's actor on the same architecture (``PPOConfig`` has A2C's encoder fields); the learner's weights
    overwrite its initialisation before it acts."""
    return A2CActor(config, obs_space, action_space, worker_index, seed, ship_gradients=False)  # type: ignore[arg-type]
