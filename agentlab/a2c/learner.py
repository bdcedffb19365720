"""The owner of the actor-critic's parameters and optimizer, for both A2C and A3C.

Mnih et al. 2016, "Asynchronous Methods for Deep Reinforcement Learning": A3C applies each actor's
gradient to the shared parameters as soon as it arrives (Algorithm S3), with shared RMSprop
statistics (Section 4, "Optimization"); A2C, its synchronous variant, averages one batch from every
actor and steps once. The only difference here is whether ``update`` receives a ``Fragment`` (and
computes the gradient itself) or ``Gradients`` (computed by an actor on weights ``staleness``
updates old).
"""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np
import torch

from agentlab.a2c.actor import Gradients
from agentlab.a2c.config import A2CConfig
from agentlab.a2c.losses import Batch, actor_critic_loss
from agentlab.a2c.networks import make_network
from agentlab.averages import Averages
from agentlab.config import check_choice
from agentlab.core import Fragment
from agentlab.encoders import obs_moments, update_obs_norms
from agentlab.normalization import reward_scale
from agentlab.weights import to_arrays


def clip_gradients(params: list[torch.nn.Parameter], max_grad_norm: float) -> float:
    """The global gradient norm before clipping; clips it to ``max_grad_norm`` when that is positive."""
    return float(torch.nn.utils.clip_grad_norm_(params, max_grad_norm if max_grad_norm > 0 else float("inf")))


def make_optimizer(config: A2CConfig, params: list[torch.nn.Parameter]) -> torch.optim.Optimizer:
    check_choice("optimizer", config.optimizer, ("rmsprop", "adam", "sgd"))
    if config.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=config.learning_rate, alpha=config.rms_alpha, eps=config.eps)
    if config.optimizer == "adam":
        betas = (0.9, config.rms_alpha)
        return torch.optim.Adam(params, lr=config.learning_rate, betas=betas, eps=config.eps)
    return torch.optim.SGD(params, lr=config.learning_rate)


class A2CLearner:
    def __init__(
        self,
        config: A2CConfig,
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
        self.optimizer = make_optimizer(config, self.params)
        self.version = 0
        self.env_steps = 0
        """Env steps consumed so far, the clock of the learning-rate schedule."""
        self.averages = Averages()
        self.reward_scale = reward_scale(config.normalize_reward, config.gamma)

    def update(self, payload: Fragment | Gradients) -> dict[str, float]:
        """A2C: a fragment (all workers' rollouts side by side). A3C: one actor's gradient."""
        update_obs_norms(payload.obs_moments if isinstance(payload, Gradients) else
                         obs_moments(self.network, payload.obs), self.network)
        if isinstance(payload, Gradients):
            for p, g in zip(self.params, payload.grads, strict=True):
                p.grad = torch.tensor(g, device=self.device)  # a copy: clipping scales it in place
            metrics = {"policy_loss": payload.policy_loss, "value_loss": payload.value_loss,
                       "entropy": payload.entropy, "staleness": float(self.version - payload.version)}
        else:
            c = self.config
            if self.reward_scale is not None:
                payload = self.reward_scale.apply(payload)
            out = actor_critic_loss(self.network, Batch.from_fragment(payload, self.device), c.gamma,
                                    c.gae_lambda, c.value_coef, c.entropy_coef, c.normalize_advantage)
            self.optimizer.zero_grad(set_to_none=True)
            out.loss.backward()
            metrics = {"policy_loss": float(out.policy_loss), "value_loss": float(out.value_loss),
                       "entropy": float(out.entropy)}
        metrics["grad_norm"] = clip_gradients(self.params, self.config.max_grad_norm)
        self.env_steps += payload.num_steps
        for group in self.optimizer.param_groups:  # as Stable-Baselines3: the schedule counts this update's steps
            group["lr"] = self.config.lr_at(self.env_steps)
        self.optimizer.step()
        self.version += 1
        self.averages.add(metrics)
        return metrics

    def metrics(self) -> dict[str, float]:
        """Means over the updates since the last call."""
        return self.averages.pop()

    def get_weights(self) -> dict[str, np.ndarray]:
        return to_arrays(self.network)

    def state_dict(self) -> dict[str, Any]:
        state = {"network": self.network.state_dict(), "optimizer": self.optimizer.state_dict(),
                 "version": self.version, "env_steps": self.env_steps, "averages": self.averages.state_dict()}
        if self.reward_scale is not None:
            state["reward_scale"] = self.reward_scale.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.network.load_state_dict(state["network"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.version = int(state["version"])
        self.env_steps = int(state.get("env_steps", 0))  # checkpoints before the schedule lack it
        if "averages" in state:  # checkpoints before format 1 lack them
            self.averages.load_state_dict(state["averages"])
        if self.reward_scale is not None:
            self.reward_scale.load_state_dict(state["reward_scale"])
