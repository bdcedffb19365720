"""Train an agent: ``python -m agentlab.run [--algo A] [--env ID] [--steps N] ... [--set key=value ...]``.

With no arguments it trains the default demo and evaluates it. Every hyperparameter is a ``--set``
key (``--list-keys`` shows them with their meaning); a YAML ``--config`` gives many at once.
Command-line flags win over ``--set``, which wins over ``--config``, which wins over the algorithm's
preset for the env.

``--seeds 0 1 2`` trains one run per seed into sibling folders (``<run-dir>_s0``, ``_s1``, ...), side by side
as Ray tasks with the ray backend (each seed's driver in a task of one shared Ray, its workers actors beside
it), one after another with ``--backend local``. At the end the console says where the run folder is, its
final evaluation, and the commands to evaluate, plot and resume it (stderr; stdout keeps one JSON line a run).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import sys
from pathlib import Path
from typing import Any

from agentlab import algorithms, runs
from agentlab.backends import WorkerFailure
from agentlab.config import ConfigError, RunConfig, field_docs, load_yaml, parse_set
from envs.multiagent import is_multiagent
from perception.cli import OneLineParser

DEMO = {"algo": "ppo", "env": "CartPole-v1", "workers": 2, "steps": 100_000, "eval_every": 2_500,
        "eval_episodes": 20, "solve_return": 475.0}
"""The no-argument demo: PPO with its CartPole preset (rl-baselines3-zoo's) on two Ray workers, stopped once a
greedy evaluation solves it (7.7k–30k env steps and 22–37 s in all on 2 cores for seeds 0–4; docs/benchmarks.md)."""

FLAGS = ("algo", "env", "steps", "seed", "workers", "envs_per_worker", "backend", "address", "run_dir", "device")


def build_parser() -> argparse.ArgumentParser:
    docs = field_docs(RunConfig)
    p = OneLineParser(prog="python -m agentlab.run", description=__doc__,
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
    p.add_argument("--seeds", nargs="+", type=int, metavar="SEED",
                   help="train one run per seed, side by side, into sibling folders <run-dir>_s<seed>")
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


def summarize(result: Any) -> dict[str, Any]:
    """The one JSON line a run prints on stdout (scripts parse it)."""
    summary = {"run_dir": str(result.run_dir), "env": result.env, "env_steps": result.env_steps,
               "episodes": result.episodes, "wall_time_s": round(result.wall_time, 1)}
    if result.eval:
        summary["eval_mean_return"] = result.eval["mean_return"]
        summary["eval_std_return"] = result.eval["std_return"]
        summary["eval_episodes"] = result.eval["episodes"]
    if result.signal is not None:
        summary["stopped_by"] = signal.Signals(result.signal).name
    return summary


def next_steps(summary: dict[str, Any]) -> list[str]:
    """What a person reads at the end of a run: where it is, how it scored, and the commands to go on."""
    run_dir = shlex.quote(summary["run_dir"])
    if "eval_mean_return" in summary:
        score = (f"final eval: mean return {summary['eval_mean_return']:.4g} ± {summary['eval_std_return']:.3g} "
                 f"over {summary['eval_episodes']} greedy episodes")
    else:
        score = "final eval: none (add --set eval_episodes=N for one, eval_every=N for a best checkpoint)"
    best = runs.best_eval(summary["run_dir"])
    lines = [f"run folder: {summary['run_dir']}", score]
    if best is not None:
        lines.append(f"best checkpoint: checkpoints/{runs.BEST} (eval mean return {best['mean_return']:.4g}); "
                     "evaluate uses it unless --checkpoint latest")
    further = "" if "stopped_by" in summary else f" --steps {2 * summary['env_steps']}"  # a stopped run: to its end
    game = is_multiagent(summary.get("env", ""))
    against = " --opponent random" if game else ""
    lines += [f"  evaluate: python -m agentlab.evaluate {run_dir} --episodes 10{against}",
              f"  plot:     python -m agentlab.plot {run_dir}",
              f"  resume:   python -m agentlab.run --resume {run_dir}{further}"]
    return lines + ([f"  play:     python -m agentlab.play {run_dir}"] if game else [])


def seed_values(values: dict[str, Any], seeds: list[int]) -> list[dict[str, Any]]:
    """One run's values per seed, in sibling folders ``X_s<seed>`` (X: ``run_dir``, else runs/<time>_<algo>_<env>)."""
    if len(set(seeds)) < len(seeds):
        raise ConfigError(f"--seeds {' '.join(map(str, seeds))} repeats a seed; give each seed once")
    if "seed" in values:
        raise ConfigError("--seeds and --seed (or seed=) both set the seed; give only --seeds")
    stem = str(values.get("run_dir") or runs.run_stem(str(values.get("algo", RunConfig.algo)),
                                                     str(values.get("env", RunConfig.env))))
    return [{**values, "seed": seed, "run_dir": f"{stem}_s{seed}"} for seed in seeds]


def train_one(values: dict[str, Any]) -> dict[str, Any]:
    """One seed's run without a progress bar: its summary, or ``{"error": ...}`` for a bad input (a Ray task)."""
    from agentlab.train import train

    try:
        return summarize(train(values, progress=False))
    except ConfigError as e:
        return {"error": str(e)}


def train_seeds(values: dict[str, Any], seeds: list[int]) -> list[dict[str, Any]]:
    """Every seed's run (validated first, before Ray starts), side by side as Ray tasks unless the backend is local."""
    from agentlab.train import resolve

    per_seed = seed_values(values, seeds)
    run_cfg = [resolve(v)[0] for v in per_seed][0]  # every seed's values checked
    for seed_run in per_seed:
        if Path(seed_run["run_dir"]).exists():
            raise ConfigError(f"run folder '{seed_run['run_dir']}' exists; choose another --run-dir or --resume it")
    if run_cfg.backend == "local":
        results = [train_one(v) for v in per_seed]
    else:
        import ray

        from agentlab.backends import init_ray

        per_seed = [{**v, "run_dir": str(Path(v["run_dir"]).resolve())} for v in per_seed]  # tasks run elsewhere
        started = init_ray(run_cfg.address, run_cfg.dashboard,
                           num_cpus=max(os.cpu_count() or 1, len(seeds) * run_cfg.workers))
        try:  # the tasks hold no CPU: their workers (Ray actors, one CPU each) do the stepping
            task = ray.remote(num_cpus=0, max_retries=0)(train_one)
            results = ray.get([task.remote(v) for v in per_seed])
        finally:
            if started:
                ray.shutdown()
    errors = [r["error"] for r in results if "error" in r]
    if errors:
        raise ConfigError(errors[0])
    return results


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        values = collect_values(args)
        if args.list_keys:
            list_keys(str(values.get("algo", RunConfig.algo)))
            return 0
        if args.seeds and args.resume:
            raise ConfigError("--seeds starts new runs and --resume continues one; resume each seed's folder "
                              "on its own (python -m agentlab.run --resume RUN_DIR)")
        if not values and not args.resume:
            values = dict(DEMO)
        if args.seeds:
            summaries = train_seeds(values, args.seeds)
        else:
            from agentlab.train import train

            summaries = [summarize(train(values, progress=not args.quiet, resume=args.resume))]
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except WorkerFailure as e:  # the run checkpointed first: --resume continues it once the cause is fixed
        print(f"error: {e}", file=sys.stderr)
        return 1
    for summary in summaries:
        print("\n".join(next_steps(summary)), file=sys.stderr)
    if len(summaries) > 1:
        folders = " ".join(shlex.quote(s["run_dir"]) for s in summaries)
        print(f"  all seeds: python -m agentlab.plot {folders} --stats", file=sys.stderr)
    for summary in summaries:
        print(json.dumps(summary))
    stopped = [s for s in summaries if "stopped_by" in s]
    return 128 + signal.Signals[stopped[0]["stopped_by"]] if stopped else 0  # 130 SIGINT, 143 SIGTERM, as a shell


if __name__ == "__main__":
    sys.exit(main())
