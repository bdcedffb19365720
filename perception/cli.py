"""The command-line parser every entry point here, in ``generative/`` and in ``agentlab`` uses.

A usage error is one line, ``error: <what is wrong>; see <prog> --help``, on stderr, with exit status 2, like every
other bad input; ``argparse``'s own prints the whole usage first.
"""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn


class OneLineParser(argparse.ArgumentParser):
    """``argparse`` whose usage errors are one line, ``error: ...``, and exit status 2."""

    def error(self, message: str) -> NoReturn:
        print(f"error: {message}; see {self.prog} --help", file=sys.stderr)
        raise SystemExit(2)
