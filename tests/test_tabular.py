"""Tabular update rules on hand-computed values, the ε schedule, and SARSA's next-action plumbing."""

import numpy as np
import pytest

from agentlab.core import Fragment
from agentlab.tabular import losses
from agentlab.tabular.config import TabularConfig
from agentlab.tabular.learner import TabularLearner


def one_step(s, a, r, s2, a2=0, terminated=False, truncated=False):
    arr = lambda v, dt: np.array([[v]], dtype=dt)  # noqa: E731  [T=1, E=1]
    return Fragment.feedforward(arr(s, np.int64), arr(a, np.int64), arr(r, np.float32), arr(s2, np.int64),
                    arr(terminated, bool), arr(truncated, bool), arr(a2, np.int64), 0, 0)


def learner(rule, q_rows, **cfg):
    config = TabularConfig(**{"alpha": 0.5, "gamma": 0.9, "epsilon": 0.2, **cfg})
    lrn = TabularLearner(rule, config, num_states=len(q_rows), num_actions=2, seed=0)
    lrn.q[:] = np.array(q_rows, dtype=float)
    if lrn.q_b is not None:
        lrn.q_b[:] = np.array(q_rows, dtype=float)
    return lrn


def test_q_learning_uses_max_of_next_state():
    lrn = learner("q_learning", [[1.0, 0.0], [2.0, 4.0]])
    lrn.update(one_step(0, 0, r=-1.0, s2=1, a2=0))
    # target = -1 + 0.9 * max(2, 4) = 2.6 ; Q = 1 + 0.5 (2.6 - 1) = 1.8
    assert lrn.q[0, 0] == pytest.approx(1.8)


def test_sarsa_uses_the_action_taken_next():
    lrn = learner("sarsa", [[1.0, 0.0], [2.0, 4.0]])
    lrn.update(one_step(0, 0, r=-1.0, s2=1, a2=0))
    # target = -1 + 0.9 * Q(s'=1, a'=0) = 0.8 ; Q = 1 + 0.5 (0.8 - 1) = 0.9
    assert lrn.q[0, 0] == pytest.approx(0.9)


def test_expected_sarsa_averages_under_epsilon_greedy():
    lrn = learner("expected_sarsa", [[1.0, 0.0], [2.0, 4.0]])
    lrn.update(one_step(0, 0, r=-1.0, s2=1))
    # π(s') = [ε/2, 1-ε+ε/2] = [0.1, 0.9]; E[Q] = 0.2 + 3.6 = 3.8; target = 2.42; Q = 1 + 0.5 * 1.42 = 1.71
    assert lrn.q[0, 0] == pytest.approx(1.71)


def test_expected_sarsa_splits_greedy_mass_on_ties():
    probs = losses.epsilon_greedy_probs(np.array([3.0, 3.0, 1.0]), 0.3)
    np.testing.assert_allclose(probs, [0.1 + 0.35, 0.1 + 0.35, 0.1])


def test_double_q_selects_with_one_table_and_evaluates_with_the_other():
    lrn = learner("double_q", [[0.0, 0.0], [0.0, 0.0]])
    lrn.q[1] = [5.0, 1.0]    # Q_A picks action 0 at s'
    lrn.q_b[1] = [2.0, 10.0]  # Q_B values it at 2 (not its own max 10)
    coin = np.random.default_rng(0).random() < 0.5  # the learner's first draw decides which table updates
    lrn.update(one_step(0, 1, r=1.0, s2=1))
    updated, other = (lrn.q, lrn.q_b) if coin else (lrn.q_b, lrn.q)
    # A updated: 1 + 0.9 * Q_B(1, argmax Q_A(1)) = 1 + 0.9 * 2 = 2.8 -> 0.5 * 2.8 = 1.4
    # B updated: 1 + 0.9 * Q_A(1, argmax Q_B(1)) = 1 + 0.9 * 1 = 1.9 -> 0.5 * 1.9 = 0.95
    assert updated[0, 1] == pytest.approx(1.4 if coin else 0.95)
    assert other[0, 1] == 0.0


@pytest.mark.parametrize("rule", ["q_learning", "sarsa", "expected_sarsa", "double_q"])
def test_termination_cuts_bootstrap_but_truncation_does_not(rule):
    term = learner(rule, [[0.0, 0.0], [10.0, 10.0]])
    term.update(one_step(0, 0, r=1.0, s2=1, terminated=True))
    assert term.behaviour_q()[0, 0] == pytest.approx(0.5)  # 0 + 0.5 * (1 - 0)
    trunc = learner(rule, [[0.0, 0.0], [10.0, 10.0]])
    trunc.update(one_step(0, 0, r=1.0, s2=1, truncated=True))
    assert trunc.behaviour_q()[0, 0] == pytest.approx(0.5 * (1 + 0.9 * 10))


def test_epsilon_schedule_decays_per_episode_to_the_floor():
    cfg = TabularConfig(epsilon=0.5, epsilon_min=0.1, epsilon_decay=0.5)
    assert [cfg.epsilon_after(n) for n in range(4)] == [0.5, 0.25, 0.125, 0.1]
    assert TabularConfig(epsilon=0.3, epsilon_decay=1.0).epsilon_after(1000) == 0.3
    lrn = learner("q_learning", [[0.0, 0.0], [0.0, 0.0]], epsilon=0.5, epsilon_min=0.1, epsilon_decay=0.5)
    lrn.update(one_step(0, 0, r=0.0, s2=1, terminated=True))
    lrn.update(one_step(0, 0, r=0.0, s2=1, truncated=True))
    assert lrn.get_weights()["epsilon"] == pytest.approx(0.125)


def test_worker_ships_the_action_actually_taken_next():
    """SARSA's a' in fragment step t must equal the action executed at step t+1 (also across fragments)."""
    from agentlab.worker import Worker

    worker = Worker("sarsa", {"epsilon": 0.5}, "agentlab/GridWorld-v0", num_envs=2, fragment_length=5,
                    worker_index=0, num_workers=1, seed=3)
    q = np.random.default_rng(1).normal(size=(25, 4))
    worker.set_weights({"q": q, "epsilon": 0.5}, 0)
    frags = [worker.sample().payload for _ in range(4)]
    actions = np.concatenate([f.actions for f in frags])
    next_actions = np.concatenate([f.next_actions for f in frags])
    ended = np.concatenate([f.terminated | f.truncated for f in frags])
    obs, next_obs = np.concatenate([f.obs for f in frags]), np.concatenate([f.next_obs for f in frags])
    cont = ~ended[:-1]
    np.testing.assert_array_equal(next_actions[:-1][cont], actions[1:][cont])
    np.testing.assert_array_equal(next_obs[:-1][cont], obs[1:][cont])


def test_optimism_apart_behaviour_is_optimistic_and_greedy_play_pessimistic():
    """``q_init`` 0.5, α 0.5, γ 0.9. Action 0 earns nothing into a state still untried (its max is the optimism's
    0.5); action 1 ends the episode with 0.3. Q, the rewards' values: 0 and 0.5 · 0.3 = 0.15. U: 0.5 + 0.5 (0.45 −
    0.5) = 0.475 and 0.5 + 0.5 (0 − 0.5) = 0.25. The behaviour acts on Q + U = (0.475, 0.4), as plain Q-learning from
    ``q_init`` does, and goes on exploring action 0; greedy play acts on Q − U = (−0.475, −0.1): the known reward."""
    from gymnasium.spaces import Discrete

    from agentlab.tabular.actor import StateIndex, TabularActor

    lrn = TabularLearner("q_learning", TabularConfig(alpha=0.5, gamma=0.9, epsilon=0.0, q_init=0.5,
                                                     optimism_apart=True), num_states=2, num_actions=2, seed=0)
    lrn.update(one_step(0, 0, r=0.0, s2=1))
    lrn.update(one_step(0, 1, r=0.3, s2=1, terminated=True))
    np.testing.assert_allclose(lrn.q[0], [0.0, 0.15])
    np.testing.assert_allclose(lrn.behaviour_q()[0], [0.475, 0.4])
    np.testing.assert_allclose(lrn.greedy_q()[0], [-0.475, -0.1])
    actor = TabularActor(StateIndex(Discrete(2)), seed=0)
    actor.set_weights(lrn.get_weights(), 0)
    obs = np.zeros(16, np.int64)
    assert (actor.act(obs, {}, np.ones(16, bool), explore=True)[0] == 0).all()
    assert (actor.act(obs, {}, np.ones(16, bool), explore=False)[0] == 1).all()


def test_optimism_apart_greedy_play_prefers_the_draw_it_knows():
    """Two moves that have only ever drawn (reward 0), one tried four times, one once: their Q is 0 alike, but U is
    0.5 · 0.5⁴ against 0.5 · 0.5, so greedy play takes the one it knows and the behaviour explores the other."""
    from gymnasium.spaces import Discrete

    from agentlab.tabular.actor import StateIndex, TabularActor

    lrn = TabularLearner("q_learning", TabularConfig(alpha=0.5, epsilon=0.0, q_init=0.5, optimism_apart=True),
                         num_states=1, num_actions=2, seed=0)
    for action in (1, 1, 1, 1, 0):
        lrn.update(one_step(0, action, r=0.0, s2=0, terminated=True))
    np.testing.assert_array_equal(lrn.q[0], [0.0, 0.0])
    actor = TabularActor(StateIndex(Discrete(1)), seed=0)
    actor.set_weights(lrn.get_weights(), 0)
    obs = np.zeros(16, np.int64)
    assert (actor.act(obs, {}, np.ones(16, bool), explore=False)[0] == 1).all()
    assert (actor.act(obs, {}, np.ones(16, bool), explore=True)[0] == 0).all()


@pytest.mark.parametrize("rule", ["q_learning", "sarsa", "expected_sarsa", "double_q"])
def test_optimism_apart_learns_the_same_behaviour_and_round_trips(rule):
    """The behaviour's values are the plain rule's from the same ``q_init``, greedy play's differ from them, and a
    checkpoint restores both. For SARSA, whose next action does not depend on the values, Q is exactly the table
    learnt from ``q_init`` 0."""
    rng = np.random.default_rng(0)
    steps = [(int(rng.integers(3)), int(rng.integers(2)), float(rng.normal()), int(rng.integers(3)),
              int(rng.integers(2)), bool(rng.random() < 0.3)) for _ in range(30)]

    def run(q_init, apart):
        lrn = TabularLearner(rule, TabularConfig(alpha=0.5, gamma=0.9, q_init=q_init, optimism_apart=apart),
                             num_states=3, num_actions=2, seed=1)
        for s, a, r, s2, a2, term in steps:
            lrn.update(one_step(s, a, r, s2, a2, terminated=term))
        return lrn

    apart, plain = run(1.0, True), run(1.0, False)
    np.testing.assert_allclose(apart.behaviour_q(), plain.behaviour_q())
    assert np.abs(apart.greedy_q() - plain.behaviour_q()).max() > 0.05
    if rule == "sarsa":
        np.testing.assert_allclose(apart.q, run(0.0, False).q)
    restored = TabularLearner(rule, apart.config, num_states=3, num_actions=2, seed=1)
    restored.load_state_dict(apart.state_dict())
    np.testing.assert_array_equal(restored.get_weights()["greedy_q"], apart.greedy_q())
    np.testing.assert_array_equal(restored.get_weights()["q"], apart.behaviour_q())


def test_evaluating_a_greedy_policy_that_loops_ends_on_an_env_without_a_time_limit():
    """gymnasium's CliffWalking-v1 has no time limit: a greedy table that always moves up walks into the wall
    forever. Evaluation truncates it at ``EVAL_STEP_LIMIT`` (−1 a step), while training envs keep the registry's
    (no) limit."""
    import envs
    from agentlab import algorithms
    from agentlab.evaluate import evaluate_weights
    from envs.make import EVAL_STEP_LIMIT

    q = np.zeros((48, 4))
    q[:, 0] = 1.0  # up
    result = evaluate_weights(algorithms.get("q_learning"), TabularConfig(), "CliffWalking-v1",
                              {"q": q, "epsilon": 0.0}, episodes=2, seed=0)
    assert result["mean_return"] == -EVAL_STEP_LIMIT
    assert envs.make("CliffWalking-v1").spec.max_episode_steps is None


def test_a_long_episode_records_at_most_max_gif_frames(monkeypatch):
    """A greedy policy that walks into the wall until the gridworld's 100-step limit: the GIF keeps its first
    ``MAX_GIF_FRAMES`` frames (30 here)."""
    from agentlab import algorithms, evaluate

    monkeypatch.setattr(evaluate, "MAX_GIF_FRAMES", 30)
    q = np.zeros((25, 4))
    q[:, 0] = 1.0  # up, into the wall
    frames: list = []
    evaluate.evaluate_weights(algorithms.get("q_learning"), TabularConfig(), "agentlab/GridWorld-v0",
                              {"q": q, "epsilon": 0.0}, episodes=1, seed=0, frames=frames,
                              env=evaluate.gif_env("agentlab/GridWorld-v0"))
    assert len(frames) == 30
