"""agentlab: reinforcement learning you can read, from a Q-table to distributed Rainbow.

Entry points: ``python -m agentlab.run`` (train), ``python -m agentlab.evaluate`` and
``python -m agentlab.plot``; in code, ``agentlab.train.train``.
"""

__version__ = "0.1.0"
