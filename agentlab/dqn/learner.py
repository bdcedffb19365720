"""The DQN learner: replay, online and target networks, Adam, and the update schedule.

Mnih et al. 2015 (replay, target network), with the Rainbow components of Hessel et al. 2018 switched
on by config flags: n-step transitions at insert time, prioritized sampling, double and distributional
targets (``losses``), dueling and noisy heads (``networks``). With ``memory`` it trains as R2D2
(Kapturowski et al. 2019): sequence replay from the actors' stored states, with burn-in.
"""

from __future__ import annotations

import copy
import os
import sys
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from agentlab.averages import Averages
from agentlab.config import check_memory, validate
from agentlab.core import Fragment
from agentlab.dqn.config import DQNConfig
from agentlab.dqn.losses import c51_loss, r2d2_loss, sequence_priority, td_loss
from agentlab.dqn.networks import build_q_network, update_target
from agentlab.encoders import is_image, obs_moments, update_obs_norms
from agentlab.memory import TensorState, as_tensors
from agentlab.replay import NStepAccumulator, ReplayBatch, ReplayBuffer, replay_nbytes
from agentlab.replay.sequences import SequenceAccumulator, SequenceBuffer, Sequences
from agentlab.saveable import from_saveable, to_saveable
from agentlab.weights import to_arrays
from envs.masks import split_mask


def frame_stack_for(cfg: DQNConfig, obs_space: gym.Space) -> int:
    """``frame_stack = -1`` (auto): a CHW uint8 stack ``[k, H, W]`` is stored frame by frame, else whole."""
    if cfg.frame_stack >= 0:
        return cfg.frame_stack
    shape = obs_space.shape
    return int(shape[0]) if is_image(obs_space) and len(shape) == 3 and 1 < shape[0] < shape[-1] else 0


class DQNLearner:
    """Consumes fragments; keeps ``updates / (env_steps − learning_starts) ≈ replay_ratio``.

    ``version`` counts learner steps (gradient updates).
    """

    def __init__(self, cfg: DQNConfig, obs_space: gym.Space, action_space: gym.Space, seed: int,
                 device: str = "cpu") -> None:
        validate(cfg)  # also when built in code, not by resolve(): one-line errors before anything is allocated
        self.cfg = cfg
        self.obs_space = obs_space
        self.device = torch.device(device)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.online = build_q_network(cfg, obs_space, action_space).to(self.device).train()
        self.target = copy.deepcopy(self.online).requires_grad_(False)
        self.params = [p for p in self.online.parameters() if p.requires_grad]  # a frozen encoder has none
        # The fused kernel: one pass over all parameters, faster than the default on CPU and GPU alike.
        self.optimizer = torch.optim.Adam(self.params, lr=cfg.lr, eps=cfg.adam_eps, fused=True)
        priorities = dict(prioritized=cfg.prioritized, alpha=cfg.alpha, beta0=cfg.beta0, beta_steps=cfg.beta_steps,
                          priority_eps=cfg.priority_eps)
        self.accumulator: NStepAccumulator | SequenceAccumulator
        self.replay: ReplayBuffer | SequenceBuffer
        if cfg.memory:  # R2D2: sequences of stored steps; buffer_size counts their steps
            self.accumulator = SequenceAccumulator(cfg.sequence_length, cfg.sequence_overlap, cfg.burn_in)
            capacity = max(cfg.buffer_size // (cfg.sequence_length - cfg.sequence_overlap), cfg.batch_size)
            step_bytes = int(np.prod(obs_space.shape, dtype=np.int64)) * np.dtype(obs_space.dtype).itemsize + 14
            check_memory("replay", capacity, "sequences", capacity * (cfg.sequence_length + 1) * step_bytes,
                         "buffer_size")
            self.replay = SequenceBuffer(capacity, cfg.sequence_length, tuple(obs_space.shape), obs_space.dtype,
                                         seed, **priorities)
        else:
            self.accumulator = NStepAccumulator(cfg.n_step, cfg.gamma)
            frame_stack = frame_stack_for(cfg, obs_space)
            replay_bytes = replay_nbytes(cfg.buffer_size, obs_space.shape, obs_space.dtype, cfg.prioritized,
                                         frame_stack)
            check_memory("replay", cfg.buffer_size, "transitions", replay_bytes, "buffer_size")  # before allocating
            self.replay = ReplayBuffer(cfg.buffer_size, tuple(obs_space.shape), obs_space.dtype, seed,
                                       frame_stack=frame_stack, **priorities)
        self.averages = Averages()  # R2D2's stored-state Q discrepancy, between metrics rows
        self.noise_generator = torch.Generator(self.device).manual_seed(seed)
        self.version = 0
        self.env_steps = 0
        self.starts_at = (0, 0)
        """(env steps, learner steps) when the replay last started empty: at 0, or at a resume without its replay."""

    @property
    def epsilon(self) -> float:
        return 0.0 if self.cfg.noisy else self.cfg.epsilon_at(self.env_steps)

    def updates_due(self) -> int:
        """Learner steps owed: ``replay_ratio`` per env step beyond ``learning_starts``, minus those done.

        With memory a learner step trains on ``sequence_length − burn_in`` steps of each sequence, so it is owed
        that many times less often: each env step is replayed as often as without memory."""
        cfg = self.cfg
        steps_at, version_at = self.starts_at
        if self.env_steps - steps_at < cfg.learning_starts or len(self.replay) < cfg.batch_size:
            return 0
        ratio = cfg.replay_ratio / (cfg.sequence_length - cfg.burn_in if cfg.memory else 1)
        return int((self.env_steps - steps_at - cfg.learning_starts) * ratio) - (self.version - version_at)

    def update(self, fragment: Fragment) -> dict[str, float]:
        update_obs_norms(obs_moments(self.online, fragment.obs), self.online, self.target)
        num_envs = fragment.rewards.shape[1]
        self.replay.add(self.accumulator.add(fragment, stream_offset=fragment.worker * num_envs))
        self.env_steps += fragment.num_steps
        steps = self.updates_due()
        metrics = {"loss": float("nan"), "q_mean": float("nan"), "epsilon": self.epsilon, "beta": self.replay.beta,
                   "updates": float(self.version), "buffer": float(len(self.replay))}
        if steps <= 0:  # the same keys every time: the metrics log takes its columns from the first row
            return metrics
        for group in self.optimizer.param_groups:
            group["lr"] = self.cfg.lr_at(self.env_steps)
        losses, q_taken = [], []
        learn = self.learn_sequences if self.cfg.memory else self.learn_step
        for _ in range(steps):
            loss, q = learn(self.replay.sample(self.cfg.batch_size))
            losses.append(loss)
            q_taken.append(q)
        # Read back once per fragment, not per step: no host sync inside the loop (unless prioritized).
        loss_mean, q_mean = torch.stack([torch.stack(losses).mean(), torch.cat(q_taken).mean()]).tolist()
        metrics.update(loss=loss_mean, q_mean=q_mean, updates=float(self.version), beta=self.replay.beta)
        return metrics

    def learn_step(self, batch: ReplayBatch) -> tuple[torch.Tensor, torch.Tensor]:
        """One gradient step on a sampled batch; returns the loss and ``[B]`` Q of the taken actions, detached."""
        cfg, device = self.cfg, self.device
        obs_t = torch.from_numpy(batch.obs).to(device, non_blocking=True)
        next_obs = torch.from_numpy(batch.next_obs).to(device, non_blocking=True)
        action_t = torch.from_numpy(batch.action).to(device, non_blocking=True)
        reward_t = torch.from_numpy(batch.reward).to(device, non_blocking=True)
        discount_t = torch.from_numpy(batch.discount).to(device, non_blocking=True)
        weights_t = torch.from_numpy(batch.weights).to(device, non_blocking=True) if cfg.prioritized else None
        self.fresh_noise()

        if cfg.double:  # one online pass over s and s' (same noise): half the per-call overhead of two
            out_t, next_select = self.online(torch.cat([obs_t, next_obs])).split(len(obs_t))  # 2 × [B, A, N]
            next_select = next_select.detach()
        else:
            out_t = self.online(obs_t)  # [B, A, N]
        with torch.no_grad():
            next_target = self.target(next_obs)  # [B, A, N]
            q_next_select = self.online.q_values(next_select if cfg.double else next_target)  # [B, A]
            legal = split_mask(self.obs_space, next_obs)[1]  # [B, A]: the max runs over legal actions of s'
            if legal is not None:
                q_next_select = q_next_select.masked_fill(~legal, -torch.inf)
        if cfg.distributional:
            loss, extras = c51_loss(out_t, action_t, reward_t, discount_t, next_target, q_next_select,
                                    self.online.support, weights_t)
        else:
            loss, extras = td_loss(out_t.squeeze(-1), action_t, reward_t, discount_t, next_target.squeeze(-1),
                                   q_next_select, weights_t, cfg.loss)

        self.step_optimizer(loss)
        if cfg.prioritized:
            self.replay.update_priorities(batch.indices, extras["priority"].cpu().numpy())
        self.count_step()
        return loss.detach(), extras["q_taken"]

    def fresh_noise(self) -> None:
        """Independent fresh noise for the online and target nets, at every learner step (noisy nets)."""
        if self.cfg.noisy:
            self.online.reset_noise(self.noise_generator)
            self.target.reset_noise(self.noise_generator)

    def step_optimizer(self, loss: torch.Tensor) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.cfg.max_grad_norm > 0:
            torch.nn.utils.clip_grad_norm_(self.params, self.cfg.max_grad_norm, foreach=True)
        self.optimizer.step()

    def count_step(self) -> None:
        """One more learner step; the target net follows every ``target_update_period``."""
        self.version += 1
        if self.version % self.cfg.target_update_period == 0:
            update_target(self.target, self.online, self.cfg.tau)

    def learn_sequences(self, batch: Sequences) -> tuple[torch.Tensor, torch.Tensor]:
        """One R2D2 step on ``B`` stored sequences: unroll from the stored state, burn in, n-step double-Q loss.

        The loss is ``losses.r2d2_loss``; the priority of each sequence mixes its TD errors (``sequence_priority``)."""
        cfg, device = self.cfg, self.device
        tensor = {name: torch.from_numpy(getattr(batch, name)).to(device) for name in
                  ("obs", "action", "reward", "terminated", "mask", "episode_start")}
        obs = tensor["obs"].transpose(0, 1)  # [L + 1, B, ...] time-major
        steps, size = obs.shape[:2]
        # The network resets only at a sequence's first step: sequences never cross an episode.
        starts = torch.zeros(steps, size, dtype=torch.bool, device=device)
        starts[0] = tensor["episode_start"]
        stored = as_tensors(batch.state, device)
        self.fresh_noise()
        weights = torch.from_numpy(batch.weights).to(device) if cfg.prioritized else None
        out = r2d2_loss(self.online, self.target, obs, starts, stored, tensor["action"], tensor["reward"],
                        tensor["terminated"], tensor["mask"], weights, cfg)
        if cfg.burn_in:
            with torch.no_grad():
                self.q_discrepancy(obs[cfg.burn_in], batch.burn_in_state, out.recomputed, tensor["episode_start"],
                                   batch.mask[:, cfg.burn_in])
        self.step_optimizer(out.loss)
        if cfg.prioritized:
            priority = sequence_priority(out.errors, out.loss_mask, cfg.priority_eta)  # [B]
            self.replay.update_priorities(batch.indices, priority.cpu().numpy())
        self.count_step()
        return out.loss.detach(), out.q_taken

    def q_discrepancy(self, obs: torch.Tensor, burn_in_state: dict[str, Any], recomputed: TensorState,
                      fresh: torch.Tensor, mask_at: np.ndarray) -> None:
        """R2D2's ΔQ (Kapturowski et al. 2019, Sec. 3): ``‖q(o; ŝ) − q(o; s)‖₂ / |max_a q(o; s)|`` at the first
        loss step, between the actor's stored state ``ŝ`` and the one burn-in recomputed ``s`` (sequences that
        start their episode have no staleness and are left out)."""
        stale = ~fresh & torch.from_numpy(mask_at).to(obs.device)
        if not stale.any():
            return
        none = torch.zeros(1, int(stale.sum()), dtype=torch.bool, device=obs.device)
        stored = {name: x[stale] for name, x in as_tensors(burn_in_state, obs.device).items()}
        q_stored = self.online.q_values(self.online.unroll(obs[stale][None], stored, none)[0][0])  # [S, A]
        again = {name: x[stale] for name, x in recomputed.items()}
        q_again = self.online.q_values(self.online.unroll(obs[stale][None], again, none)[0][0])  # [S, A]
        delta = (q_stored - q_again).norm(dim=1) / q_again.max(dim=1).values.abs().clamp(min=1e-6)
        self.averages.add({"q_discrepancy": float(delta.mean())})

    def metrics(self) -> dict[str, float]:
        """The mean stored-state Q discrepancy since the last call (with memory and burn-in; NaN before any)."""
        means = self.averages.pop()
        return {"q_discrepancy": means.get("q_discrepancy", float("nan"))} if self.cfg.memory and self.cfg.burn_in \
            else means

    def get_weights(self) -> dict[str, Any]:
        return {"params": to_arrays(self.online), "epsilon": self.epsilon}

    def replay_in_checkpoint(self) -> bool:
        """``checkpoint_replay``: on, off, or (auto) when the buffer takes at most a quarter of the machine's RAM."""
        if self.cfg.checkpoint_replay != "auto":
            return self.cfg.checkpoint_replay == "on"
        return self.replay.nbytes <= os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 4

    def state_dict(self) -> dict[str, Any]:
        """Networks, optimizer, counters (ε follows env_steps), the replay's clocks and, per ``checkpoint_replay``,
        its contents and the n-step accumulator's pending steps."""
        with_replay = self.replay_in_checkpoint()
        state = {
            "online": self.online.state_dict(),
            "target": self.target.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "version": self.version,
            "env_steps": self.env_steps,
            "replay": to_saveable(self.replay.state_dict(contents=with_replay)),
            "noise_generator": self.noise_generator.get_state(),
            "starts_at": self.starts_at,
            "averages": self.averages.state_dict(),
        }
        if with_replay:
            state["accumulator"] = to_saveable(self.accumulator.state_dict())
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.online.load_state_dict(state["online"])
        self.target.load_state_dict(state["target"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.version = int(state["version"])
        self.env_steps = int(state["env_steps"])
        self.replay.load_state_dict(from_saveable(state["replay"]))
        self.noise_generator.set_state(state["noise_generator"])
        steps_at, version_at = state.get("starts_at", (0, 0))
        self.starts_at = (int(steps_at), int(version_at))
        if "averages" in state:  # checkpoints before memory lack them
            self.averages.load_state_dict(state["averages"])
        if "contents" in state["replay"]:
            self.accumulator.load_state_dict(from_saveable(state.get("accumulator", {})))
        else:  # an empty buffer: collect learning_starts steps again before learning
            self.starts_at = (self.env_steps, self.version)
            print(f"resume: the checkpoint holds no replay (checkpoint_replay={self.cfg.checkpoint_replay}); "
                  f"learning resumes after {self.cfg.learning_starts} new env steps", file=sys.stderr)
