"""Benchmarks: each module is a script, ``python -m benchmarks.NAME``, that prints its figures beside a baseline
measured in the same run; the results and their commands are in docs/benchmarks.md."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from agentlab.config import ConfigError


def cli(main: Callable[[], Any]) -> None:
    """Run a benchmark's ``main``: a bad setting or a used run folder (``ConfigError``) is one line and exit 2,
    as in ``agentlab.run``; ``main``'s own integer return is the exit code."""
    try:
        code = main()
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    raise SystemExit(code if isinstance(code, int) else 0)
