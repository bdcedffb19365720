"""The policy copy inside each worker, for A2C (ships its fragment) and A3C (ships gradients).

Mnih et al. 2016, "Asynchronous Methods for Deep Reinforcement Learning", Algorithm S3: each A3C
actor-learner computes the gradient of its own n-step rollout with its local copy of θ, and the
shared parameters are updated with it asynchronously. Here the "shared parameters" are the
learner's; ``process`` makes the gradient, ``A2CLearner.update`` applies it.
"""

from __future__ import annotations

from typing import NamedTuple

import gymnasium
import numpy as np
import torch

from agentlab.a2c.config import A2CConfig
from agentlab.a2c.losses import Batch, actor_critic_loss
from agentlab.a2c.networks import make_network
from agentlab.core import Extras, Fragment, State
from agentlab.encoders import obs_moments
from agentlab.memory import as_arrays, as_tensors, reset_rows
from agentlab.normalization import Moments, reward_scale
from agentlab.weights import load_arrays


class Gradients(NamedTuple):
    """What an A3C actor ships: one gradient of its rollout's loss, and the weights it was taken at."""

    grads: list[np.ndarray]
    """One array per trainable parameter (``requires_grad``), in ``network.parameters()`` order."""
    version: int
    """The learner version of the weights the gradient was computed with (for staleness)."""
    worker: int
    policy_loss: float
    value_loss: float
    entropy: float
    num_steps: int
    """Env steps in the rollout (the learner's clock for the learning-rate schedule)."""
    obs_moments: Moments | None = None
    """The rollout's observation moments, for the learner's normaliser (``normalize_obs``); None without one."""


class A2CActor:
    """Samples from (or, greedily, takes the argmax of) the softmax policy on CPU."""

    def __init__(
        self,
        config: A2CConfig,
        obs_space: gymnasium.Space,
        action_space: gymnasium.Space,
        worker_index: int,
        seed: int,
        ship_gradients: bool,
    ) -> None:
        self.config = config
        self.worker_index = worker_index
        self.ship_gradients = ship_gradients
        with torch.random.fork_rng(devices=[]):  # the weights are overwritten by set_weights anyway
            self.network = make_network(obs_space, action_space, config)
        stream = np.random.SeedSequence([seed, worker_index]).generate_state(1)[0]  # one stream per worker
        self.generator = torch.Generator().manual_seed(int(stream))
        self.version = -1
        self.reward_scale = reward_scale(config.normalize_reward and ship_gradients, config.gamma)  # A3C's own

    def initial_state(self, num_envs: int) -> State:
        return as_arrays(self.network.initial_state(num_envs))

    def act(self, obs: np.ndarray, state: State, episode_start: np.ndarray, explore: bool = True
            ) -> tuple[np.ndarray, State, Extras]:
        with torch.inference_mode():
            if not state:  # no memory: the policy head alone
                logits = self.network.policy(torch.as_tensor(obs))  # [E, A]
            else:  # the value trunk's memory (if it has one) steps too: the learner replays both from here
                carried = reset_rows(as_tensors(state), torch.as_tensor(episode_start))
                logits, _, carried, _ = self.network.unroll(torch.as_tensor(obs)[None], carried,
                                                            torch.zeros(1, len(obs), dtype=torch.bool))
                logits, state = logits[0], as_arrays(carried)  # [E, A]
            if not explore:
                return logits.argmax(dim=-1).numpy(), state, {}  # [E]
            # Inverse-CDF sampling: one uniform per env; several times cheaper than torch.multinomial here.
            cdf = torch.softmax(logits, dim=-1).cumsum(dim=-1)  # [E, A]
            u = torch.rand(len(cdf), 1, generator=self.generator)  # [E, 1]
            actions = (cdf < u).sum(dim=-1).clamp_(max=cdf.shape[-1] - 1)  # [E]
            # u beyond a rounded cdf's end lands on the last action: with a mask it may be illegal, so take the mode
            off = logits.gather(1, actions[:, None]).squeeze(1) <= -1e9
            return torch.where(off, logits.argmax(dim=-1), actions).numpy(), state, {}  # [E]

    def set_weights(self, weights: dict[str, np.ndarray], version: int) -> None:
        load_arrays(self.network, weights)
        self.version = version

    def process(self, fragment: Fragment) -> Fragment | Gradients:
        """A2C: the fragment itself. A3C: the gradient of this fragment's loss at the local weights."""
        if not self.ship_gradients:
            return fragment
        c = self.config
        if self.reward_scale is not None:  # an A3C actor scales by the returns of its own envs
            fragment = self.reward_scale.apply(fragment)
        out = actor_critic_loss(self.network, Batch.from_fragment(fragment), c.gamma, c.gae_lambda,
                                c.value_coef, c.entropy_coef, c.normalize_advantage)
        self.network.zero_grad(set_to_none=True)
        out.loss.backward()
        grads = [p.grad.numpy().copy() if p.grad is not None else np.zeros(p.shape, np.float32)
                 for p in self.network.parameters() if p.requires_grad]  # as the learner's ``params``
        return Gradients(grads, self.version, self.worker_index, float(out.policy_loss), float(out.value_loss),
                         float(out.entropy), fragment.num_steps, obs_moments(self.network, fragment.obs))
