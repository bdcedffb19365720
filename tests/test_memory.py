"""Memory on the spine: state through workers and fragments, sequence modules, R2D2 replay and BPTT."""

from __future__ import annotations

import dataclasses

import gymnasium
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env

import envs  # noqa: F401  (registers the agentlab/ ids)
from agentlab.a2c.config import A2CConfig
from agentlab.a2c.losses import Batch, evaluate_rollout
from agentlab.a2c.networks import make_network
from agentlab.core import Fragment
from agentlab.dqn.config import DQNConfig
from agentlab.dqn.losses import r2d2_loss, sequence_n_step, sequence_priority
from agentlab.dqn.networks import build_q_network
from agentlab.evaluate import run_episodes
from agentlab.memory import build_memory, reset_rows
from agentlab.replay.sequences import SequenceAccumulator, SequenceBuffer
from agentlab.train import train
from agentlab.worker import Worker
from envs.tmaze import BACK, DOWN, FORWARD, UP, TMaze


class CountingActor:
    """State: steps since the episode began. Goes forward ``forward`` times then up (the episode terminates at
    the junction), or with ``forward=0`` bumps back forever (the time limit truncates it)."""

    def __init__(self, forward: int) -> None:
        self.forward = forward
        self.starts: list[np.ndarray] = []

    def initial_state(self, num_envs: int) -> dict[str, np.ndarray]:
        return {"count": np.zeros(num_envs, np.int64)}

    def act(self, obs, state, episode_start, explore=True):
        self.starts.append(np.asarray(episode_start).copy())
        count = np.where(episode_start, 0, state["count"]) + 1
        actions = np.where(count <= self.forward, FORWARD, UP) if self.forward else np.full(len(obs), BACK)
        return actions, {"count": count}, {"count": count}

    def set_weights(self, weights, version):
        pass

    def process(self, fragment):
        return fragment


def counting_worker(forward: int, num_envs: int, length: int) -> Worker:
    worker = Worker("dqn", dataclasses.asdict(DQNConfig()), "agentlab/TMaze-v0", num_envs, length, 0, 1, 0)
    worker.actor = CountingActor(forward)
    worker.state_in = worker.state = worker.actor.initial_state(num_envs)
    return worker


@pytest.mark.parametrize("forward, ends, length", [(10, "terminated", 11), (0, "truncated", 100)])
def test_the_worker_resets_state_at_every_episode_start(forward, ends, length) -> None:
    worker = counting_worker(forward, 2, 130)
    fragment = worker.sample().payload
    count = fragment.extras["count"]  # [T, E]: the state each action was picked from
    ended = getattr(fragment, ends)
    assert ended.any() and not (fragment.terminated if ends == "truncated" else fragment.truncated).any()
    assert (count[ended] == length).all()  # every episode is `length` steps from its reset
    t, e = np.nonzero(ended)
    assert (count[t + 1, e] == 1).all() and fragment.episode_start[t + 1, e].all()
    assert np.array_equal(fragment.episode_start, count == 1)
    second = worker.sample().payload  # the next fragment starts from the state carried into its first step
    assert np.array_equal(second.state["count"] + 1 - second.episode_start[0] * (second.state["count"]),
                          second.extras["count"][0])


def test_fragment_concat_joins_states_and_extras_along_the_env_axis() -> None:
    a, b = (counting_worker(10, n, 5).sample().payload for n in (1, 2))
    joined = Fragment.concat([a, b])
    assert joined.obs.shape[:2] == (5, 3) and joined.state["count"].shape == (3,)
    assert np.array_equal(joined.extras["count"], np.concatenate([a.extras["count"], b.extras["count"]], axis=1))


@pytest.mark.parametrize("kind", ["lstm", "gru", "transformer"])
def test_a_batched_sequence_equals_the_step_by_step_one(kind) -> None:
    torch.manual_seed(0)
    memory = build_memory(kind, 3, 8, window=4)
    x = torch.randn(7, 2, 3)  # [T, B, D]
    starts = torch.zeros(7, 2, dtype=torch.bool)
    starts[0, 0] = starts[4, 1] = True  # row 1 begins an episode in the middle
    state = {name: torch.randn_like(v) if v.dtype.is_floating_point else v
             for name, v in memory.initial_state(2).items()}
    out, final, kept = memory(x, state, starts, keep=True)
    stepped, s = [], state
    for t in range(7):
        y, s = memory.step(x[t], reset_rows(s, starts[t]))
        stepped.append(y)
    torch.testing.assert_close(out, torch.stack(stepped))
    for name in final:
        torch.testing.assert_close(final[name], s[name])
        torch.testing.assert_close(kept[name][-1], s[name])
    whole, _, _ = memory(x, state, torch.zeros_like(starts))  # no start after step 0: the fused path
    looped, _, _ = memory(x, state, torch.zeros_like(starts), keep=True)
    torch.testing.assert_close(whole, looped)


def test_the_transformer_memory_attends_only_to_its_window() -> None:
    torch.manual_seed(0)
    memory = build_memory("transformer", 2, 8, window=3)
    x = torch.randn(6, 1, 2)
    out, _, _ = memory(x, memory.initial_state(1), torch.zeros(6, 1, dtype=torch.bool))
    changed = x.clone()
    changed[0] += 5.0  # outside the window of steps ≥ 3
    again, _, _ = memory(changed, memory.initial_state(1), torch.zeros(6, 1, dtype=torch.bool))
    torch.testing.assert_close(out[3:], again[3:])
    assert not torch.allclose(out[:3], again[:3])


def test_a_truncated_step_bootstraps_with_the_carried_state() -> None:
    torch.manual_seed(0)
    space = gymnasium.spaces.Box(-1, 1, (2,), np.float32)
    network = make_network(space, gymnasium.spaces.Discrete(2), A2CConfig(memory="lstm", memory_size=8))
    obs = torch.randn(3, 1, 2)
    next_obs = torch.randn(3, 1, 2)
    truncated = torch.tensor([[False], [True], [False]])
    batch = Batch(obs, torch.zeros(3, 1, dtype=torch.long), torch.ones(3, 1), next_obs,
                  torch.zeros(3, 1, dtype=torch.bool), truncated, torch.tensor([[True], [False], [True]]),
                  network.initial_state(1))
    _, _, bootstrap = evaluate_rollout(network, batch)
    _, _, carried, _ = network.unroll(obs[:2], network.initial_state(1), torch.tensor([[True], [False]]))
    expected = network.value_after(next_obs[1], carried)
    fresh = network.value_after(next_obs[1], network.initial_state(1))
    torch.testing.assert_close(bootstrap[1], expected)
    assert not torch.allclose(expected, fresh)  # the memory matters: a zero state gives another value


def stream_fragment(obs_values, ends, terminated=True, continues=False) -> Fragment:
    """One env whose observation ``t`` is ``[t]`` and whose state extra is ``t`` too; episodes end at ``ends``."""
    steps = len(obs_values)
    obs = np.asarray(obs_values, np.float32).reshape(steps, 1, 1)
    done = np.zeros((steps, 1), bool)
    done[list(ends), 0] = True
    base = Fragment.feedforward(obs, np.zeros((steps, 1), np.int64), np.ones((steps, 1), np.float32),
                                obs + 100, done & terminated, done & (not terminated), np.zeros((steps, 1), np.int64),
                                0, 0)
    starts = base.episode_start.copy()
    starts[0] = not continues  # a later fragment of a running episode
    return base._replace(extras={"state.h": obs.reshape(steps, 1, 1)}, episode_start=starts)


def test_sequence_replay_never_crosses_an_episode_and_masks_its_padding() -> None:
    accumulator = SequenceAccumulator(length=4, overlap=2, burn_in=1)
    sequences = accumulator.add(stream_fragment(range(12), ends=[5, 7]), 0)
    firsts = [int(s["obs"][0, 0]) for s in sequences]
    assert firsts == [0, 2, 6, 8]  # episodes: steps 0–5, 6–7, 8–11 (still running)
    episode_of = np.searchsorted([5, 7], np.arange(12), side="left")  # step -> episode
    for s in sequences:
        real = s["obs"][:-1][s["mask"]].ravel().astype(int)
        assert len(set(episode_of[real])) == 1  # one episode per sequence
        assert float(s["state"]["h"][0]) == real[0] and float(s["burn_in_state"]["h"][0]) == real[1]
    short = sequences[2]  # steps 6, 7 then padding; obs[2] is the final observation, 7 + 100
    assert short["mask"].tolist() == [True, True, False, False]
    assert short["obs"][:, 0].tolist() == [6, 7, 107, 0, 0] and short["terminated"].tolist() == [0, 1, 0, 0]
    assert [s["episode_start"] for s in sequences] == [True, False, True, True]
    # The same stream in two fragments gives the same sequences.
    split = SequenceAccumulator(4, 2, 1)
    parts = split.add(stream_fragment(range(7), [5]), 0)
    parts += split.add(stream_fragment(range(7, 12), [0], continues=True), 0)
    assert [int(s["obs"][0, 0]) for s in parts] == firsts


def test_sequence_buffer_samples_what_was_added_with_its_states() -> None:
    accumulator = SequenceAccumulator(4, 2, 1)
    buffer = SequenceBuffer(8, 4, (1,), np.float32, seed=0, prioritized=True)
    buffer.add(accumulator.add(stream_fragment(range(12), ends=[5, 7]), 0))
    batch = buffer.sample(16)
    assert len(buffer) == 4 and batch.obs.shape == (16, 5, 1)
    np.testing.assert_array_equal(batch.state["h"][:, 0], batch.obs[:, 0, 0])
    buffer.update_priorities(batch.indices, np.full(16, 3.0))
    assert buffer.sampler.max_priority == pytest.approx(3.0 + 1e-6)


def test_the_priority_mix_on_hand_values() -> None:
    errors = torch.tensor([[1.0, -3.0, 7.0], [2.0, 2.0, 2.0]])
    mask = torch.tensor([[True, True, False], [True, True, True]])  # the 7 is padding
    priority = sequence_priority(errors, mask, eta=0.9)
    torch.testing.assert_close(priority, torch.tensor([0.9 * 3 + 0.1 * 2, 2.0]))


def test_n_step_targets_stay_inside_the_sequence() -> None:
    rewards = torch.tensor([[1.0, 1.0, 1.0, 0.0]])
    terminated = torch.tensor([[False, False, True, False]])
    mask = torch.tensor([[True, True, True, False]])
    returns, discount, next_index = sequence_n_step(rewards, terminated, mask, gamma=0.5, n=2)
    torch.testing.assert_close(returns[0, :3], torch.tensor([1.5, 1.5, 1.0]))
    torch.testing.assert_close(discount[0, :3], torch.tensor([0.25, 0.0, 0.0]))  # the last two reach the end
    assert next_index[0, :3].tolist() == [2, 3, 3]


def test_burn_in_steps_get_no_loss_and_no_gradient() -> None:
    torch.manual_seed(0)
    cfg = DQNConfig(memory="lstm", memory_size=8, hidden_sizes=(8,), sequence_length=5, burn_in=2, n_step=2)
    space = gymnasium.spaces.Box(-1, 1, (2,), np.float32)
    online = build_q_network(cfg, space, gymnasium.spaces.Discrete(2))
    target = build_q_network(cfg, space, gymnasium.spaces.Discrete(2))
    obs = torch.randn(6, 2, 2, requires_grad=True)  # [L + 1, B, 2]; sequence 0 is stale, 1 starts its episode
    starts = torch.zeros(6, 2, dtype=torch.bool)
    starts[0, 1] = True
    stored = {name: torch.randn_like(x) for name, x in online.initial_state(2).items()}
    ones = torch.ones(2, 5)
    out = r2d2_loss(online, target, obs, starts, stored, torch.zeros(2, 5, dtype=torch.long), ones,
                    torch.zeros(2, 5, dtype=torch.bool), ones.bool(), None, cfg)
    assert out.loss_mask.tolist() == [[False, False, True, True, True], [True] * 5]
    out.loss.backward()
    grad = obs.grad.abs().sum(-1)  # [L + 1, B]
    assert (grad[:2, 0] == 0).all() and (grad[2:5, 0] > 0).all()  # stale: burn-in only carries the state
    assert (grad[:5, 1] > 0).all()  # a sequence from its episode's start learns from every step


def test_evaluation_resets_the_state_every_episode() -> None:
    actor = CountingActor(forward=10)
    returns = run_episodes(actor, [gymnasium.make("agentlab/TMaze-v0")], episodes=3, seed=0)
    starts = np.concatenate(actor.starts)
    assert len(starts) == 33 and np.flatnonzero(starts).tolist() == [0, 11, 22]
    assert len(returns) == 3


def test_tmaze_rewards_the_cued_arm_only() -> None:
    env = TMaze(length=3)
    for seed in range(4):
        obs, _ = env.reset(seed=seed)
        up = bool(obs.tolist() == [0.0, 1.0, 1.0])
        for _ in range(3):
            obs, reward, terminated, _, _ = env.step(FORWARD)
            assert reward == 0.0 and not terminated
        assert obs.tolist() == [0.0, 1.0, 0.0]  # the junction looks the same whatever the cue
        _, reward, terminated, _, info = env.step(UP if up else DOWN)
        assert terminated and reward == 4.0 and info["success"]
    env.reset(seed=0)
    assert env.step(BACK)[1] == pytest.approx(-0.1)  # a wall
    assert env.step(FORWARD)[1] == 0.0 and env.step(BACK)[1] == pytest.approx(-0.1)  # only forward is free
    assert env.step(UP)[1] == pytest.approx(-0.1) and env.position == 0


@pytest.mark.parametrize("env_id", ["agentlab/MaskedCartPole-v1", "agentlab/TMaze-v0", "agentlab/TMazeLong-v0"])
def test_memory_envs_pass_check_env(env_id) -> None:
    env = gymnasium.make(env_id)
    check_env(env.unwrapped, skip_render_check=True)
    assert env.spec.max_episode_steps == {"agentlab/MaskedCartPole-v1": 500}.get(env_id, env.spec.max_episode_steps)


def test_masked_cartpole_observes_position_and_angle_of_cartpole() -> None:
    masked, full = gymnasium.make("agentlab/MaskedCartPole-v1"), gymnasium.make("CartPole-v1")
    a, _ = masked.reset(seed=3)
    b, _ = full.reset(seed=3)
    for _ in range(5):
        np.testing.assert_array_equal(a, b[[0, 2]])
        a, _, _, _, _ = masked.step(1)
        b, _, _, _, _ = full.step(1)


@pytest.mark.parametrize("algo, memory", [("dqn", "lstm"), ("rainbow", "gru"), ("rainbow", "transformer"),
                                          ("a2c", "transformer"), ("a3c", "lstm"), ("ppo", "gru")])
def test_every_deep_agent_trains_with_memory(algo, memory, tmp_path) -> None:
    result = train({"algo": algo, "env": "agentlab/TMaze-v0", "memory": memory, "memory_size": 16,
                    "memory_window": 8, "backend": "local", "workers": 1, "envs_per_worker": 2, "steps": 600,
                    "learning_starts": 100, "batch_size": 4, "sequence_length": 8, "sequence_overlap": 4,
                    "burn_in": 2, "eval_episodes": 1, "run_dir": str(tmp_path / "run")} if algo in ("dqn", "rainbow")
                   else {"algo": algo, "env": "agentlab/TMaze-v0", "memory": memory, "memory_size": 16,
                         "memory_window": 8, "backend": "local", "workers": 1, "envs_per_worker": 2, "steps": 600,
                         "eval_episodes": 1, "run_dir": str(tmp_path / "run")}, progress=False)
    assert result.env_steps >= 600 and result.learner.version > 0


@pytest.mark.slow
def test_memory_learns_masked_cartpole_where_the_feed_forward_agent_cannot(tmp_path) -> None:
    """A2C with an LSTM balances CartPole from positions alone; the same A2C without memory stays near 44."""
    common = {"algo": "a2c", "env": "agentlab/MaskedCartPole-v1", "backend": "local", "seed": 4, "eval_every": 10_000,
              "eval_episodes": 20, "solve_return": 450}
    # Within the 300k budget: seed 4 solved at 80k on one 2-core box and at 190k on another (same code,
    # same torch; the CPUs' float results differ and the runs diverge), so a tighter budget tests the machine.
    with_memory = train({**common, "memory": "lstm", "steps": 300_000, "run_dir": str(tmp_path / "m")}, progress=False)
    assert with_memory.solved_at is not None and with_memory.eval["mean_return"] >= 400
    without = train({**common, "steps": 50_000, "run_dir": str(tmp_path / "f")}, progress=False)
    assert without.solved_at is None and without.eval["mean_return"] < 150


def test_a_run_with_memory_resumes_with_its_sequence_replay(tmp_path) -> None:
    values = {"algo": "rainbow", "env": "agentlab/TMaze-v0", "memory": "lstm", "memory_size": 8, "backend": "local",
              "workers": 1, "envs_per_worker": 2, "learning_starts": 100, "batch_size": 4, "sequence_length": 8,
              "sequence_overlap": 4, "burn_in": 2, "run_dir": str(tmp_path / "run")}
    first = train({**values, "steps": 400}, progress=False)
    sequences = len(first.learner.replay)
    resumed = train({"steps": 800}, progress=False, resume=tmp_path / "run")
    # Restored, then grown by as many steps again: about twice as many (a fresh buffer would hold about as many).
    assert sequences > 0 and len(resumed.learner.replay) > 1.5 * sequences and resumed.env_steps >= 800


def test_an_unknown_memory_gets_one_line_naming_the_choices(capsys) -> None:
    from agentlab import run

    assert run.main(["--algo", "dqn", "--env", "CartPole-v1", "--set", "memory=rnn", "--backend", "local"]) == 2
    assert "memory 'rnn' is not one of '', lstm, gru, transformer; use --set memory=''" in capsys.readouterr().err
