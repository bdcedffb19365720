"""TD targets of the tabular control algorithms, as pure functions of one transition.

Every rule's target is r + γ Σ_a w(a) Q(s', a); the rules differ in the weights ``w`` on the row Q(s', ·): all on
one action (Q-learning's greedy one, SARSA's a'), or Expected SARSA's ε-greedy distribution.
``terminated`` cuts the bootstrap (a truncated step still bootstraps from s'). Sutton & Barto 2018: Q-learning
eq. 6.8, SARSA eq. 6.7, Expected SARSA eq. 6.9, Double Q-learning (van Hasselt 2010) section 6.7.
"""

from __future__ import annotations

import numpy as np


def greedy_action(q_next: np.ndarray) -> int:
    """The first greedy action of Q(s', ·): Q-learning's target puts all its weight on it (max_a Q(s', a)); Double
    Q-learning takes it from the table it updates and values it with the other."""
    row = q_next.tolist()  # a list's max and index: 4× faster than numpy's argmax on a short row
    return row.index(max(row))


def epsilon_greedy_probs(q: np.ndarray, epsilon: float) -> np.ndarray:
    """π(·|s) of ε-greedy over ``q``: ε/|A| everywhere, the rest split among the greedy actions (Expected SARSA's
    weights on Q(s', ·))."""
    probs = np.full(q.shape, epsilon / q.size)
    greedy = q == q.max()
    probs[greedy] += (1.0 - epsilon) / np.count_nonzero(greedy)
    return probs


def td_target(r: float, weights: int | np.ndarray, q_next: np.ndarray, gamma: float, terminated: bool) -> float:
    """r + γ Σ_a w(a) Q(s', a), the rule's weights over s''s actions: an action (all the weight on it: Q-learning's
    greedy action, SARSA's a') or a distribution (Expected SARSA's ε-greedy π); ``terminated`` cuts the bootstrap."""
    if terminated:
        return r
    return r + gamma * float(q_next[weights] if isinstance(weights, int) else weights @ q_next)


def td_update(q: np.ndarray, s: int, a: int, target: float, alpha: float) -> float:
    """Q(s, a) ← Q(s, a) + α (target − Q(s, a)); returns the TD error."""
    delta = target - q[s, a]
    q[s, a] += alpha * delta
    return float(delta)
