"""The environment worker of a multi-agent run: a batch of PettingZoo games, one actor per policy.

Each (game, agent) pair is a stream of its own, row ``g * K + k``: a transition runs from the agent's
observation when it moves to its next turn (or to the end of its episode), with the reward the game gave the
agent in between (AEC ``last()``). Actions are chosen one batched call per policy for every game at once.
A fragment for policy ``p`` holds ``T = fragment_length`` consecutive transitions of each of its streams,
``[T, E_p]``, so every learner reads it as a single-agent fragment; the sample's payload is ``{p: payload}``.

Streams move at different rates (in tic-tac-toe the first player makes one move more in half the games), so a
game is stepped only while one of its streams still lacks ``T`` transitions, and a stream more than ``2 T``
transitions ahead drops its newest finished episode rather than fall further behind.

``self_play_pool > 0``: every ``POOL_EVERY``-th weight update is kept as a snapshot (the last
``self_play_pool`` of them); at each game's start, with probability one half, one random seat of that game is
played greedily by a snapshot and its moves are not trained on.

``random_opening = N > 0``: exploring starts (Sutton & Barto 2018, Sec. 5.3), a random state and a random action to
start from. Every game opens with a uniformly drawn number ``k``, 0 to N, of uniformly random legal moves: the first
``k − 1`` are no one's transitions, the ``k``-th is its mover's first for an algorithm that learns action values
(``Algorithm.action_values``: ``Q(s, a)`` is learnt for any ``a`` taken), and no one's for the others, and the
policy plays from there. Self-play alone reaches only the openings its own policy plays, so an opponent that opens
otherwise meets positions it never learnt (perfect play picking among drawing moves beat tic-tac-toe policies there,
three plies in), and a move its own policy never tries in a position is never valued. No transition spans an
unlearnt move of the other side, so none learns a random reply as the game's. An opening that ends the game is
replayed without one. A sample's ``env_steps`` counts every move made, the unlearnt ones (and a snapshot's)
included.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from agentlab import algorithms
from agentlab.core import Episode, Fragment, Sample
from agentlab.opponents import legal_actions
from agentlab.policies import policy_ids, policy_map
from envs.multiagent import GameSpaces, make_aec

POOL_EVERY = 20
"""Weight updates between two snapshots of the self-play pool."""


class GameWorker:
    def __init__(self, algo: str, algo_config: dict[str, Any], env_id: str, num_envs: int, fragment_length: int,
                 worker_index: int, num_workers: int, seed: int, policies: str = "self_play",
                 self_play_pool: int = 0, random_opening: int = 0, single_thread: bool = False):
        if single_thread:
            import torch

            torch.set_num_threads(1)
        algorithm = algorithms.get(algo)
        config = algorithm.config_cls(**algo_config)
        self.index, self.fragment_length = worker_index, fragment_length
        base = seed * 10_007 + worker_index * num_envs
        self.games = [make_aec(env_id) for _ in range(num_envs)]
        self.spaces = GameSpaces(self.games[0], agent_id=policies == "shared")
        self.agents = self.spaces.agents
        self.mapping = policy_map(self.agents, policies)
        obs_space, action_space = self.spaces.observation_space, self.spaces.action_space
        self.actors = {p: algorithm.make_actor(config, obs_space, action_space, worker_index, num_workers,
                                               seed + 7919 * i) for i, p in enumerate(policy_ids(self.mapping))}
        self.pool_size = self_play_pool if policies == "self_play" else 0
        self.pool: list[Any] = []
        self.pool_actor = algorithm.make_actor(config, obs_space, action_space, worker_index, num_workers, seed + 1)
        self.rng = np.random.default_rng(base)
        self.random_opening = random_opening
        self.unlearnt_moves = 0  # moves made since the last sample that no stream holds (openings, snapshots')
        self.learns_random_move = algorithm.action_values
        self.random_first = np.zeros(num_envs, bool)  # the game's next move ends its opening: a random, learnt one
        self.weight_updates = 0
        K = len(self.agents)
        self.rows = num_envs * K
        self.queues: list[list[tuple]] = [[] for _ in range(self.rows)]  # finished transitions per stream
        self.open: list[list | None] = [None] * self.rows  # [obs, action, start]: waiting for the next turn
        self.ended: list[tuple[int, list, np.ndarray]] = []  # (row, transition, final obs) waiting for a drawn a'
        self.episode_from = [0] * self.rows  # where the stream's current episode starts in its queue (-1: shipped)
        self.starts = np.ones(self.rows, bool)
        self.returns = np.zeros(self.rows)
        self.lengths = np.zeros(self.rows, np.int64)
        self.frozen = np.zeros(self.rows, bool)  # played by a pool snapshot this episode
        self.version = 0
        for g, env in enumerate(self.games):
            env.reset(seed=base + g)
            self.open_randomly(g)

    def row(self, game: int, agent: str) -> int:
        return game * len(self.agents) + self.agents.index(agent)

    def set_weights(self, weights: dict[str, Any], version: int) -> None:
        for policy, actor in self.actors.items():
            actor.set_weights(weights[policy], version)
        self.version = version
        self.weight_updates += 1
        if self.pool_size and self.weight_updates % POOL_EVERY == 1:
            self.pool = [*self.pool, weights["main"]][-self.pool_size:]
            self.pool_actor.set_weights(self.pool[self.rng.integers(len(self.pool))], version)

    def get_state(self) -> dict[str, Any]:
        """PettingZoo games cannot be captured without pickling them: a resume starts fresh games."""
        return {"envs": None}

    def set_state(self, state: dict[str, Any]) -> bool:
        return False

    def needs_steps(self, game: int) -> bool:
        K, T = len(self.agents), self.fragment_length
        return any(len(self.queues[r]) < T for r in range(game * K, game * K + K))

    def sample(self) -> Sample:
        episodes: list[Episode] = []
        while True:
            games = [g for g in range(len(self.games)) if self.needs_steps(g)]
            if not games:
                break
            movers = [self.advance(g, episodes) for g in games]  # (row, obs) of each game's agent to move
            rows = np.array([r for r, _ in movers] + [r for r, _, _ in self.ended])
            obs = np.stack([o for _, o in movers] + [o for _, _, o in self.ended])
            actions = self.choose(rows, obs)
            for i in np.flatnonzero(self.random_first[games]):
                actions[i] = self.rng.choice(legal_actions(self.games[games[i]]))
            self.random_first[games] = False
            for (r, pending, o), a in zip(self.ended, actions[len(movers):], strict=True):
                self.close(r, pending, o, a)  # the a' of a finished episode, drawn but never taken
            self.ended = []
            for g, (r, o), a in zip(games, movers, actions, strict=False):
                if self.open[r] is not None:
                    self.close(r, self.open[r] + [False, False], o, a)
                    self.open[r] = None
                if not self.frozen[r]:
                    self.open[r] = [o, int(a), bool(self.starts[r])]
                else:
                    self.unlearnt_moves += 1
                self.starts[r] = False
                self.lengths[r] += 1
                self.games[g].step(int(a))
        payload = {p: self.actors[p].process(self.fragment(p)) for p in self.actors}
        env_steps, self.unlearnt_moves = self.fragment_length * self.rows + self.unlearnt_moves, 0
        return Sample(payload, env_steps, self.index, episodes)

    def advance(self, game: int, episodes: list[Episode]) -> tuple[int, np.ndarray]:
        """Step past finished agents (closing their streams' episodes) and finished games (a reset), to the agent
        that moves next; its row and observation, with the reward it got since its last move credited."""
        env = self.games[game]
        while True:
            if not env.agents:
                self.new_game(game, episodes)
                continue
            agent = env.agent_selection
            obs, reward, terminated, truncated, _ = env.last()
            r = self.row(game, agent)
            self.returns[r] += reward
            encoded = self.spaces.encode(obs, agent)
            if self.open[r] is not None:
                self.open[r].append(float(reward))
            if not (terminated or truncated):
                return r, encoded
            if self.open[r] is not None:  # its last move's transition ends here: a' is drawn with the next batch
                self.ended.append((r, self.open[r] + [bool(terminated), bool(truncated)], encoded))
                self.open[r] = None
            env.step(None)

    def new_game(self, game: int, episodes: list[Episode]) -> None:
        """Record every agent's episode and start the game again."""
        for agent in self.agents:
            r = self.row(game, agent)
            if not self.frozen[r]:
                episodes.append(Episode(self.index, float(self.returns[r]), int(self.lengths[r]), agent))
            self.returns[r], self.lengths[r], self.starts[r] = 0.0, 0, True
        self.games[game].reset()
        self.open_randomly(game)
        self.frozen[game * len(self.agents):(game + 1) * len(self.agents)] = False
        if self.pool and self.rng.random() < 0.5:
            self.frozen[self.row(game, self.agents[self.rng.integers(len(self.agents))])] = True

    def open_randomly(self, game: int) -> None:
        """Play the freshly reset game's random opening (``random_opening``), but for a last move that the sample loop
        plays as a learnt one (``action_values``); an opening that ends the game is undone by a reset, and the game
        starts from its first position."""
        if not self.random_opening:
            return
        env, k = self.games[game], int(self.rng.integers(self.random_opening + 1))
        learnt = k > 0 and self.learns_random_move
        for _ in range(k - learnt):
            env.step(int(self.rng.choice(legal_actions(env))))
            self.unlearnt_moves += 1
            if not env.agents or any(env.terminations[a] or env.truncations[a] for a in env.agents):
                env.reset()
                return
        self.random_first[game] = learnt

    def choose(self, rows: np.ndarray, obs: np.ndarray) -> np.ndarray:
        """One batched act per policy (and one for the pool snapshot's seats)."""
        actions = np.zeros(len(rows), np.int64)
        K = len(self.agents)
        groups: dict[Any, list[int]] = {}
        for i, r in enumerate(rows):
            key = None if self.frozen[r] else self.mapping[self.agents[r % K]]
            groups.setdefault(key, []).append(i)
        for key, index in groups.items():
            actor = self.pool_actor if key is None else self.actors[key]
            starts = np.zeros(len(index), bool)
            actions[index] = actor.act(obs[index], {}, starts, explore=key is not None)[0]
        return actions

    def close(self, r: int, pending: list, next_obs: np.ndarray, next_action: int) -> None:
        """Queue stream ``r``'s transition ``[obs, action, start, reward, terminated, truncated]``, which ended at
        ``next_obs`` (its next turn, or its episode's end)."""
        obs, action, start, reward, terminated, truncated = pending
        queue = self.queues[r]
        queue.append((obs, action, reward, next_obs, terminated, truncated, int(next_action), start))
        if terminated or truncated:
            if self.episode_from[r] >= 2 * self.fragment_length:  # too far ahead: drop this whole episode
                del queue[self.episode_from[r]:]
            self.episode_from[r] = len(queue)

    def fragment(self, policy: str) -> Fragment:
        """The first ``T`` transitions of each of ``policy``'s streams, ``[T, E_p]``."""
        T, K = self.fragment_length, len(self.agents)
        rows = [r for r in range(self.rows) if self.mapping[self.agents[r % K]] == policy]
        steps = [self.queues[r][:T] for r in rows]
        for r in rows:
            del self.queues[r][:T]
            self.episode_from[r] = self.episode_from[r] - T if self.episode_from[r] >= T else -1

        def column(i: int, dtype: Any) -> np.ndarray:
            return np.array([[s[t][i] for s in steps] for t in range(T)], dtype)

        obs = column(0, np.float32)
        return Fragment(obs, column(1, np.int64), column(2, np.float32), column(3, np.float32), column(4, bool),
                        column(5, bool), column(6, np.int64), column(7, bool), {}, {}, self.version, self.index)
