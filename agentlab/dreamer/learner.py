"""The Dreamer learner (Hafner et al. 2023, DreamerV3): sequence replay, world model, behaviour in imagination.

Every ``train_every`` env steps, one update on ``batch_size`` replayed sequences:

1. World model learning (Sec. 2): filter each sequence through the RSSM from the actor's stored state
   (``losses.world_model_loss``: decoder, reward, continue, KL balancing with free bits).
2. Actor–critic learning (Sec. 3): from every posterior state, imagine ``horizon`` steps with the actor in the
   model; λ-returns from the predicted rewards, continues and critic values; the critic regresses them
   (two-hot, with its slow EMA as a regulariser); the actor follows REINFORCE with percentile-normalised
   advantages. The model gets no gradient from behaviour learning.

Sequences come from ``agentlab.replay.sequences`` (R2D2's replay): they never cross an episode, and each keeps
the actor's state ``(h, z, a)`` at its first step, so filtering restarts where the actor was (or from zeros at
an episode's start).
"""

from __future__ import annotations

import copy
import os
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from agentlab.averages import Averages
from agentlab.config import check_memory, validate
from agentlab.core import Fragment
from agentlab.dreamer.config import DreamerConfig
from agentlab.dreamer.losses import (
    actor_loss,
    critic_loss,
    lambda_returns,
    trajectory_weights,
    twohot_mean,
    unimix,
    update_return_range,
    world_model_loss,
)
from agentlab.dreamer.networks import build_networks, latent
from agentlab.memory import as_tensors
from agentlab.replay.sequences import SequenceAccumulator, SequenceBuffer, Sequences
from agentlab.saveable import from_saveable, to_saveable
from agentlab.weights import to_arrays


class Imagined(NamedTuple):
    """Imagined trajectories of ``H`` steps from ``N`` starts, and their targets (all detached)."""

    features: torch.Tensor
    """``[H + 1, N, F]`` model states ``s_0 .. s_H``."""
    actions: torch.Tensor
    """``[H, N]`` the actor's action at ``s_0 .. s_{H−1}``."""
    returns: torch.Tensor
    """``[H, N]`` λ-returns ``R_0 .. R_{H−1}``."""
    value: torch.Tensor
    """``[H, N]`` the critic's ``v(s_0) .. v(s_{H−1})``."""
    slow_value: torch.Tensor
    """``[H, N]`` the slow critic's values there."""
    weights: torch.Tensor
    """``[H, N]`` ``w_t = γ^t Π_{i≤t} c_i``: the predicted continue flags discount the later steps."""


METRICS = ("model_loss", "decoder", "reward", "continue", "kl", "actor_loss", "critic_loss", "entropy",
           "imagined_return", "return_scale")
"""The averaged metrics every row has (NaN before the first update)."""


class DreamerLearner:
    """Consumes fragments; keeps ``updates ≈ (env_steps − learning_starts) / train_every``. ``version`` counts
    updates."""

    def __init__(self, cfg: DreamerConfig, obs_space: gym.Space, action_space: gym.Space, seed: int,
                 device: str = "cpu") -> None:
        validate(cfg)
        self.cfg = cfg
        self.device = torch.device(device)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model, actor, critic = build_networks(cfg, obs_space, action_space)  # refuses non-discrete actions
        self.num_actions = int(action_space.n)
        self.model, self.actor, self.critic = model.to(self.device), actor.to(self.device), critic.to(self.device)
        self.slow_critic = copy.deepcopy(self.critic).requires_grad_(False)
        adam = dict(eps=cfg.adam_eps, fused=True)
        self.model_opt = torch.optim.Adam(self.model.parameters(), lr=cfg.model_lr, **adam)
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=cfg.actor_lr, **adam)
        self.critic_opt = torch.optim.Adam(self.critic.parameters(), lr=cfg.critic_lr, **adam)
        self.bins = torch.linspace(-20.0, 20.0, cfg.bins, device=self.device)  # in symlog space
        self.accumulator = SequenceAccumulator(cfg.sequence_length, cfg.sequence_overlap, burn_in=0)
        capacity = max(cfg.buffer_size // (cfg.sequence_length - cfg.sequence_overlap), cfg.batch_size)
        step_bytes = int(np.prod(obs_space.shape, dtype=np.int64)) * np.dtype(obs_space.dtype).itemsize + 14
        check_memory("replay", capacity, "sequences", capacity * (cfg.sequence_length + 1) * step_bytes, "buffer_size")
        self.replay = SequenceBuffer(capacity, cfg.sequence_length, tuple(obs_space.shape), obs_space.dtype, seed)
        self.generator = torch.Generator(self.device).manual_seed(seed)
        self.return_range = torch.zeros(2, device=self.device)  # EMAs of the returns' 5th and 95th percentiles
        self.averages = Averages()
        self.version = 0
        self.env_steps = 0

    def updates_due(self) -> int:
        cfg = self.cfg
        if self.env_steps < cfg.learning_starts or len(self.replay) == 0:
            return 0
        return (self.env_steps - cfg.learning_starts) // cfg.train_every + 1 - self.version

    def update(self, fragment: Fragment) -> dict[str, float]:
        num_envs = fragment.rewards.shape[1]
        self.replay.add(self.accumulator.add(fragment, stream_offset=fragment.worker * num_envs))
        self.env_steps += fragment.num_steps
        for _ in range(self.updates_due()):
            self.averages.add({name: float(value) for name, value in self.train_step(
                self.replay.sample(self.cfg.batch_size)).items()})
        return {"buffer": float(len(self.replay))}

    def train_step(self, batch: Sequences) -> dict[str, torch.Tensor]:
        """One world-model step, then one actor and one critic step in imagination; their metrics."""
        starts, metrics = self.learn_model(batch)
        metrics.update(self.learn_behaviour(*starts))
        torch._foreach_lerp_(list(self.slow_critic.parameters()), list(self.critic.parameters()),
                             self.cfg.slow_critic_fraction)
        self.version += 1
        return metrics

    def learn_model(self, batch: Sequences) -> tuple[tuple[torch.Tensor, ...], dict[str, torch.Tensor]]:
        """Eq. 3 on the batch; returns the posterior states ``(h, z)`` ``[N, ...]`` of its real steps
        (``imagine_starts`` of them at random) and their continue flags ``[N]`` (imagination's starts), and the
        loss terms."""
        cfg, device, model = self.cfg, self.device, self.model
        obs = torch.from_numpy(batch.obs).to(device).transpose(0, 1)  # [L + 1, B, ...] time-major
        steps, size = obs.shape[:2]
        action = F.one_hot(torch.from_numpy(batch.action).to(device).T, self.num_actions).float()  # [L, B, A]
        reward, terminated, mask = (torch.from_numpy(x).to(device).T for x in
                                    (batch.reward, batch.terminated, batch.mask))  # [L, B] each
        stored = as_tensors(batch.state, device)  # the actor's (h, z, a) going into obs[0]
        # Model state t reads obs[t] after action t − 1, and predicts the reward and continue that came with obs[t].
        prev_action = torch.cat([stored["action"][None], action])  # [L + 1, B, A]
        first = torch.zeros(steps, size, dtype=torch.bool, device=device)
        first[0] = torch.from_numpy(batch.episode_start).to(device)
        none = torch.zeros(1, size, dtype=torch.bool, device=device)
        real = torch.cat([~none, mask]).float()  # [L + 1, B]: obs[t] is an observation of the episode
        reward_known = torch.cat([none, mask]).float()  # obs[0] came with a reward the sequence does not hold
        reward_t = torch.cat([none.float(), reward])  # [L + 1, B]
        cont_t = torch.cat([(~none).float(), 1.0 - terminated.float()])  # [L + 1, B]

        embed = model.encoder(obs.flatten(0, 1)).view(steps, size, -1)  # [L + 1, B, E]
        post = model.rssm.observe(embed, prev_action, stored["h"], stored["z"], first, self.generator)
        features = latent(post["h"], post["z"])  # [L + 1, B, F]
        target = model.target(obs.flatten(0, 1))  # [(L + 1)·B, ...]
        recon = model.decoder(features.flatten(0, 1)).view(steps, size, *target.shape[1:])
        out = world_model_loss(recon, target.view_as(recon), model.reward(features), reward_t,
                               model.cont(features).squeeze(-1), cont_t, post["post"], post["prior"], real,
                               reward_known, self.bins, cfg.free_bits, cfg.dyn_scale, cfg.rep_scale)
        self.step(self.model_opt, self.model, out.loss, cfg.model_grad_clip)
        keep = real.bool().flatten().nonzero().squeeze(-1)  # [N] the real steps' indices in [(L + 1)·B]
        if 0 < cfg.imagine_starts < len(keep):
            keep = keep[torch.randperm(len(keep), generator=self.generator, device=device)[:cfg.imagine_starts]]
        starts = tuple(x.detach().flatten(0, 1)[keep] for x in (post["h"], post["z"], cont_t))
        return starts, {"model_loss": out.loss.detach(),
                        **{name: out.terms[name] for name in ("decoder", "reward", "continue", "kl")}}

    @torch.no_grad()
    def imagine(self, h: torch.Tensor, z: torch.Tensor, cont_0: torch.Tensor) -> Imagined:
        """``horizon`` steps of the actor in the model from each start ``[N, ...]`` (whose real continue flag is
        ``cont_0`` ``[N]``), and what the behaviour losses need of them."""
        cfg, model = self.cfg, self.model
        features, actions = model.rssm.imagine(self.actor, h, z, cfg.horizon, cfg.unimix, self.generator)
        reward = twohot_mean(model.reward(features[1:]), self.bins)  # [H, N] r̂ of s_1 .. s_H
        cont = torch.cat([cont_0[None], torch.sigmoid(model.cont(features[1:]).squeeze(-1))])  # [H + 1, N]
        value = twohot_mean(self.critic(features), self.bins)  # [H + 1, N]
        returns = lambda_returns(reward, cfg.gamma * cont[1:], value[1:], cfg.lam)  # [H, N]
        weights = trajectory_weights(cont, cfg.gamma)[:-1]  # [H, N]
        slow_value = twohot_mean(self.slow_critic(features[:-1]), self.bins)  # [H, N]
        return Imagined(features, actions, returns, value[:-1], slow_value, weights)

    def learn_behaviour(self, h: torch.Tensor, z: torch.Tensor, cont_0: torch.Tensor) -> dict[str, torch.Tensor]:
        """Imagine from each start ``[N, ...]``, then one actor and one critic step (Sec. 3)."""
        cfg = self.cfg
        traj = self.imagine(h, z, cont_0)
        self.return_range = torch.stack(update_return_range(*self.return_range, traj.returns, cfg.return_decay))
        scale = self.return_range[1] - self.return_range[0]
        policy = unimix(self.actor(traj.features[:-1]), cfg.unimix)  # [H, N, A]
        loss_pi, extras = actor_loss(policy, traj.actions, traj.returns, traj.value, scale, traj.weights,
                                     cfg.entropy_coef)
        self.step(self.actor_opt, self.actor, loss_pi, cfg.ac_grad_clip)
        loss_v = critic_loss(self.critic(traj.features[:-1]), traj.returns, traj.slow_value, traj.weights, self.bins,
                             cfg.slow_reg)
        self.step(self.critic_opt, self.critic, loss_v, cfg.ac_grad_clip)
        return {"actor_loss": loss_pi.detach(), "critic_loss": loss_v.detach(), "entropy": extras["entropy"],
                "imagined_return": traj.returns.mean(), "return_scale": scale}

    @staticmethod
    def step(optimizer: torch.optim.Optimizer, module: nn.Module, loss: torch.Tensor, clip: float) -> None:
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(module.parameters(), clip, foreach=True)
        optimizer.step()

    def metrics(self) -> dict[str, float]:
        """Each loss term and behaviour statistic averaged over the updates since the last call."""
        means = self.averages.pop()
        return {name: means.get(name, float("nan")) for name in METRICS}

    def get_weights(self) -> dict[str, Any]:
        return {"model": to_arrays(self.model), "actor": to_arrays(self.actor)}

    def state_dict(self) -> dict[str, Any]:
        """Networks, optimizers, counters, the return range and, when it takes at most a quarter of the RAM,
        the replay with the accumulator's unfinished sequences."""
        with_replay = self.replay.nbytes <= os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 4
        state = {name: getattr(self, name).state_dict() for name in
                 ("model", "actor", "critic", "slow_critic", "model_opt", "actor_opt", "critic_opt", "averages")}
        state.update(version=self.version, env_steps=self.env_steps, return_range=self.return_range,
                     generator=self.generator.get_state(),
                     replay=to_saveable(self.replay.state_dict(contents=with_replay)))
        if with_replay:
            state["accumulator"] = to_saveable(self.accumulator.state_dict())
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for name in ("model", "actor", "critic", "slow_critic", "model_opt", "actor_opt", "critic_opt", "averages"):
            getattr(self, name).load_state_dict(state[name])
        self.version, self.env_steps = int(state["version"]), int(state["env_steps"])
        self.return_range = state["return_range"].to(self.device)
        self.generator.set_state(state["generator"])
        self.replay.load_state_dict(from_saveable(state["replay"]))
        self.accumulator.load_state_dict(from_saveable(state.get("accumulator", {})))
