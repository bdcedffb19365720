"""Train an agent: ``python -m agentlab.run [--algo A] [--env ID] [--steps N] ... [--set key=value ...]``.

With no arguments it trains the default demo and evaluates it. Every hyperparameter is a ``--set``
key (``--list-keys`` shows them with their meaning); a YAML ``--config`` gives many at once.
Command-line flags win over ``--set``, which wins over ``--config``, which wins over the algorithm's
preset for the env.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from typing import Any

from agentlab import algorithms
from agentlab.config import ConfigError, RunConfig, field_docs, load_yaml, parse_set

DEMO = {"algo": "rainbow", "env": "CartPole-v1", "workers": 2, "steps": 50_000, "eval_every": 2_500,
        "eval_episodes": 20, "solve_return": 475.0}
"""The no-argument demo: Rainbow on CartPole with two Ray workers, stopped once a greedy evaluation solves it."""

FLAGS = ("algo", "env", "steps", "seed", "workers", "envs_per_worker", "backend", "address", "run_dir", "device")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line and exit 2, as for every other bad input
        self.exit(2, f"error: {message}; see python -m agentlab.run --help\n")


def build_parser() -> argparse.ArgumentParser:
    docs = field_docs(RunConfig)
    p = _Parser(prog="python -m agentlab.run", description=__doc__,
                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--algo", help=f"{docs['algo']} One of: {', '.join(algorithms.REGISTRY)}.")
    p.add_argument("--env", help=docs["env"])
    p.add_argument("--steps", help=docs["steps"])
    p.add_argument("--seed", help=docs["seed"])
    p.add_argument("--workers", help=docs["workers"])
    p.add_argument("--envs-per-worker", dest="envs_per_worker", help=docs["envs_per_worker"])
    p.add_argument("--backend", help=docs["backend"])
    p.add_argument("--address", help=docs["address"])
    p.add_argument("--run-dir", dest="run_dir", help=docs["run_dir"])
    p.add_argument("--device", help=docs["device"])
    p.add_argument("--config", help="YAML file of key: value settings (flat, or run:/algo: sections)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override any run or algorithm key; repeatable")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue a run from its latest checkpoint")
    p.add_argument("--list-keys", action="store_true", help="print every key for the chosen --algo and exit")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def collect_values(args: argparse.Namespace) -> dict[str, Any]:
    values: dict[str, Any] = load_yaml(args.config) if args.config else {}
    values.update(parse_set(args.overrides))
    values.update({k: getattr(args, k) for k in FLAGS if getattr(args, k) is not None})
    return values


def list_keys(algo: str) -> None:
    if algo not in algorithms.REGISTRY:
        raise ConfigError(f"unknown algo '{algo}'; choose one of: {', '.join(algorithms.REGISTRY)}")
    for section, cls in (("run", RunConfig), (algo, algorithms.get(algo).config_cls)):
        print(f"[{section}]")
        for key, doc in field_docs(cls).items():
            print(f"  {key:<22} {doc}")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        values = collect_values(args)
        if args.list_keys:
            list_keys(str(values.get("algo", RunConfig.algo)))
            return 0
        if not values and not args.resume:
            values = dict(DEMO)
        from agentlab.train import train

        result = train(values, progress=not args.quiet, resume=args.resume)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    summary = {"run_dir": str(result.run_dir), "env_steps": result.env_steps, "episodes": result.episodes,
               "wall_time_s": round(result.wall_time, 1)}
    if result.eval:
        summary["eval_mean_return"] = result.eval["mean_return"]
    if result.signal is not None:
        summary["stopped_by"] = signal.Signals(result.signal).name
    print(json.dumps(summary))
    return 0 if result.signal is None else 128 + result.signal  # 130 for SIGINT, 143 for SIGTERM, as a shell


if __name__ == "__main__":
    sys.exit(main())
