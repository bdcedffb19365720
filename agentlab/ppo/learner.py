"""The owner of PPO's actor-critic, optimizer and schedules.

Schulman et al. 2017, Algorithm 1: each round, N actors run the old policy for T steps, advantages are
estimated, and the surrogate is optimised for K epochs of minibatch Adam steps. Here one ``update``
is one round: the synchronous schedule hands the learner every worker's fragment side by side. The
learning rate (and, optionally, the clip range) anneal linearly to 0 over ``anneal_steps`` env steps
(Huang et al. 2022, detail 4); each gradient step clips the global gradient norm (detail 11).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import gymnasium
import numpy as np
import torch

from agentlab.a2c.learner import clip_gradients
from agentlab.a2c.losses import Batch
from agentlab.averages import Averages
from agentlab.core import Fragment
from agentlab.encoders import obs_moments, update_obs_norms
from agentlab.normalization import reward_scale
from agentlab.ppo.config import PPOConfig
from agentlab.ppo.losses import ppo_loss, rollout_targets
from agentlab.ppo.networks import make_network
from agentlab.weights import to_arrays


class PPOLearner:
    def __init__(
        self,
        config: PPOConfig,
        obs_space: gymnasium.Space,
        action_space: gymnasium.Space,
        seed: int,
        device: str = "cpu",
    ) -> None:
        self.config = config
        self.device = torch.device(device)
        with torch.random.fork_rng(devices=[]):  # seeded initialisation without touching the global RNG
            torch.manual_seed(seed)
            self.network = make_network(obs_space, action_space, config)
        self.network.to(self.device)
        self.params = [p for p in self.network.parameters() if p.requires_grad]  # a frozen encoder has none
        self.optimizer = torch.optim.Adam(self.params, lr=config.learning_rate, eps=config.eps)
        self.generator = torch.Generator().manual_seed(seed)  # minibatch shuffles
        self.version = 0
        self.env_steps = 0
        """Env steps consumed so far, the clock of the annealing."""
        self.averages = Averages()
        self.reward_scale = reward_scale(config.normalize_reward, config.gamma)

    def schedule(self) -> tuple[float, float]:
        """``(learning rate, clip range)`` at ``env_steps``: the initial values times α = 1 − steps / anneal_steps."""
        alpha = self.config.fraction_left(self.env_steps)
        return self.config.learning_rate * alpha, self.config.clip_range * (alpha if self.config.anneal_clip else 1.0)

    def update(self, fragment: Fragment) -> dict[str, float]:
        """One PPO round on a fragment (every worker's rollout side by side): K epochs × minibatches."""
        c = self.config
        update_obs_norms(obs_moments(self.network, fragment.obs), self.network)
        if self.reward_scale is not None:
            fragment = self.reward_scale.apply(fragment)
        self.env_steps += fragment.num_steps
        lr, clip_range = self.schedule()  # as Stable-Baselines3: the schedule counts this round's steps
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        rollout = rollout_targets(self.network, Batch.from_fragment(fragment, self.device), c.gamma, c.gae_lambda)
        size = rollout.size
        steps_per_unit = rollout.actions.numel() // size  # T with memory (whole sequences), else 1
        per_minibatch = max(1, c.minibatch_size // steps_per_unit)
        totals: defaultdict[str, float] = defaultdict(float)
        steps = 0
        for _ in range(c.epochs):
            for index in torch.randperm(size, generator=self.generator).split(per_minibatch):
                out = ppo_loss(self.network, rollout.select(index.to(self.device)), clip_range, c.value_clip,
                               c.value_coef, c.entropy_coef, c.normalize_advantage)
                self.optimizer.zero_grad(set_to_none=True)
                out.loss.backward()
                totals["grad_norm"] += clip_gradients(self.params, c.max_grad_norm)
                self.optimizer.step()
                for key in ("policy_loss", "value_loss", "entropy", "approx_kl", "clip_fraction"):
                    totals[key] += float(getattr(out, key))
                steps += 1
        metrics = {key: total / steps for key, total in totals.items()}
        metrics.update(lr=lr, clip_range=clip_range, staleness=float(self.version - fragment.version),
                       explained_variance=explained_variance(rollout.old_values.flatten(), rollout.returns.flatten()))
        self.version += 1
        self.averages.add(metrics)
        return metrics

    def metrics(self) -> dict[str, float]:
        """Means over the rounds since the last call."""
        return self.averages.pop()

    def get_weights(self) -> dict[str, np.ndarray]:
        return to_arrays(self.network)

    def state_dict(self) -> dict[str, Any]:
        state = {"network": self.network.state_dict(), "optimizer": self.optimizer.state_dict(),
                 "version": self.version, "env_steps": self.env_steps, "generator": self.generator.get_state(),
                 "averages": self.averages.state_dict()}
        if self.reward_scale is not None:
            state["reward_scale"] = self.reward_scale.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.network.load_state_dict(state["network"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.version = int(state["version"])
        self.env_steps = int(state["env_steps"])
        self.generator.set_state(state["generator"])
        self.averages.load_state_dict(state["averages"])
        if self.reward_scale is not None:
            self.reward_scale.load_state_dict(state["reward_scale"])


def explained_variance(values: torch.Tensor, returns: torch.Tensor) -> float:
    """``1 − Var(R − V) / Var(R)``: 1 for a perfect value function, 0 for a constant one (and when R is constant)."""
    var_returns = float(returns.var()) if returns.numel() > 1 else 0.0
    if var_returns == 0.0:
        return 0.0
    return 1.0 - float((returns - values).var()) / var_returns
