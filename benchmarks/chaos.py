"""Chaos: training outlives its Ray workers, killed with SIGKILL at random times or lost with their node.

For each algorithm, ``python -m agentlab.run`` trains CartPole-v1 on its preset with two Ray workers
while a killer thread SIGKILLs ``--kills`` of the run's worker processes at random env-step marks
inside the first evaluation interval (no evaluation can stop the run before them). The run then
stops at the first periodic greedy evaluation (20 episodes) averaging 500; the table shows the final
20-episode greedy mean (eval.json, other seeds; ≥ 475 passes) and the restarts metrics.csv recorded.
A kill waits until the previous victim's replacement process exists, so when replacements start
slowly the last kills can fall after the first evaluation.

``--cluster`` instead starts a two-node Ray cluster on this machine (``ray start --head`` and a second
``ray start --address``, two CPUs each so either node can hold both workers), trains with ``--address``,
so the two workers are spread over both nodes, and kills the second node (its raylet's process group
and its workers) at 5,000 env steps.

    python -m benchmarks.chaos --algos dqn a2c a3c --kills 10
    python -m benchmarks.chaos --cluster
    python -m benchmarks.chaos --overhead    # sync rounds/s with fault detection against a bare ray.get
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks import cli

SOLVE, EVAL_EPISODES = 475.0, 20
STOP = 500.0
"""A run stops at a periodic evaluation where all 20 greedy episodes reach CartPole's 500 steps: at a bare
475 the final evaluation (other seeds) fell just short (471.9 for A2C)."""
EVAL_EVERY = 10_000
"""Env steps between greedy evaluations; every kill falls inside the first interval."""
BUDGETS = {"dqn": 100_000}
"""Env-step budgets where the preset's is short for evaluations 10,000 steps apart (DQN's greedy return swings
between them on CartPole); the others keep their preset's."""
WORKER_TITLE = "ray::Worker"
"""The process title Ray gives an ``agentlab.worker.Worker`` actor."""


def ray_env() -> dict[str, str]:
    return {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}


def _proc(pid: int, name: str) -> str:
    try:
        return Path(f"/proc/{pid}/{name}").read_text()
    except OSError:  # gone meanwhile
        return ""


def parent(pid: int) -> int:
    stat = _proc(pid, "stat")
    return int(stat.rpartition(")")[2].split()[1]) if stat else 0


def worker_pids(root: int | None = None, pgid: int | None = None) -> list[int]:
    """Live Ray worker-actor processes descended from ``root`` (a driver that started its Ray) or in ``pgid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or not _proc(int(entry.name), "cmdline").startswith(WORKER_TITLE):
            continue
        pid = ancestor = int(entry.name)
        if pgid is not None:
            try:
                if os.getpgid(pid) == pgid:
                    found.append(pid)
            except ProcessLookupError:
                pass
            continue
        while ancestor > 1 and ancestor != root:
            ancestor = parent(ancestor)
        if ancestor == root:
            found.append(pid)
    return sorted(found)


def last_row(metrics_csv: Path) -> dict[str, str]:
    """The last row of a run's metrics.csv ({} before the first)."""
    try:
        with open(metrics_csv, newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError:
        return {}
    return rows[-1] if rows else {}


def env_steps_so_far(run_dir: Path) -> int:
    """The env steps of the newest row in episodes.csv or metrics.csv (episodes end often: a fine clock)."""
    steps = 0
    for name in ("episodes.csv", "metrics.csv"):
        try:
            with open(run_dir / name, "rb") as f:
                f.seek(max(f.seek(0, os.SEEK_END) - 4096, 0))
                lines = f.read().decode(errors="replace").splitlines()
        except OSError:
            continue
        for line in reversed(lines[1:] if len(lines) > 1 else []):
            with contextlib.suppress(ValueError):
                steps = max(steps, int(float(line.split(",")[0])))
                break
    return steps


class Killer(threading.Thread):
    """Sends ``sig`` (SIGKILL; SIGSTOP hangs it) to one of the run's worker processes each time its env steps
    pass the next of ``marks``, once the previous victim's replacement process is there."""

    def __init__(self, find_pids: Any, run_dir: Path, marks: list[int], rng: random.Random, done: threading.Event,
                 sig: int = signal.SIGKILL, workers: int = 2):
        super().__init__(daemon=True)
        self.find_pids, self.run_dir, self.marks, self.rng, self.done = find_pids, run_dir, marks, rng, done
        self.sig, self.workers = sig, workers
        self.kills: list[tuple[int, int]] = []  # (env_steps, pid)

    def run(self) -> None:
        killed: set[int] = set()
        for mark in self.marks:
            while not self.done.is_set():
                steps = env_steps_so_far(self.run_dir)
                live = [p for p in self.find_pids() if p not in killed]
                if steps >= mark and len(live) >= self.workers:
                    pid = self.rng.choice(live)
                    os.kill(pid, self.sig)
                    killed.add(pid)
                    self.kills.append((steps, pid))
                    break
                time.sleep(0.1)


def train_command(algo: str, run_dir: Path, seed: int, *extra: str) -> list[str]:
    return [sys.executable, "-m", "agentlab.run", "--algo", algo, "--env", "CartPole-v1", "--workers", "2",
            "--backend", "ray", "--seed", str(seed), "--run-dir", str(run_dir), "--quiet",
            "--set", f"eval_every={EVAL_EVERY}", "--set", f"eval_episodes={EVAL_EPISODES}",
            "--set", f"solve_return={STOP}", *extra]


def outcome(run_dir: Path, rc: int, wall: float, kills: list[tuple[int, int]]) -> dict[str, Any]:
    row = last_row(run_dir / "metrics.csv")
    eval_path = run_dir / "eval.json"
    greedy = json.loads(eval_path.read_text())["mean_return"] if eval_path.exists() else float("nan")
    return {"rc": rc, "kills": len(kills), "restarts": int(float(row.get("worker_restarts") or 0)),
            "env_steps": int(float(row.get("env_steps") or 0)), "greedy": greedy, "wall_s": wall,
            "kill_steps": [s for s, _ in kills]}


def chaos_run(algo: str, kills: int, seed: int, out: Path) -> dict[str, Any]:
    """One training run with ``kills`` SIGKILLs of its Ray workers; what it ended with."""
    run_dir = out / f"{algo}_s{seed}_k{kills}"
    rng = random.Random(seed)
    marks = sorted(rng.randrange(EVAL_EVERY // 10, EVAL_EVERY * 9 // 10) for _ in range(kills))
    t0 = time.perf_counter()
    budget = ["--steps", str(BUDGETS[algo])] if algo in BUDGETS else []
    proc = subprocess.Popen(train_command(algo, run_dir, seed, *budget), env=ray_env())
    done = threading.Event()
    killer = Killer(lambda: worker_pids(root=proc.pid), run_dir, marks, rng, done)
    killer.start()
    rc = proc.wait()
    done.set()
    killer.join()
    return outcome(run_dir, rc, time.perf_counter() - t0, killer.kills)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def raylet_pid(node_manager_port: int) -> int:
    """The raylet started with ``--node-manager-port``: one per node, the parent of its workers."""
    for entry in Path("/proc").iterdir():
        cmd = _proc(int(entry.name), "cmdline") if entry.name.isdigit() else ""
        if "raylet" in cmd.split("\0")[0] and f"--node_manager_port={node_manager_port}" in cmd:
            return int(entry.name)
    raise RuntimeError(f"no raylet with node manager port {node_manager_port}")


class TwoNodeCluster:
    """A head node and a second node on 127.0.0.1, two CPUs each (room for both workers on either).

    Each ``ray start`` leaves its daemons in a process group of their own; worker processes, in groups of
    their own, are children of their node's raylet. Stopping a node kills the raylet's group and its workers."""

    def __init__(self, temp_dir: Path):
        self.temp_dir = temp_dir
        self.port, head_manager, node_manager = free_port(), free_port(), free_port()
        self.address = f"127.0.0.1:{self.port}"
        common = ["--num-cpus=2", "--node-ip-address=127.0.0.1", "--disable-usage-stats"]
        self.ray_start(["--head", f"--port={self.port}", "--include-dashboard=false", f"--temp-dir={temp_dir}",
                        f"--node-manager-port={head_manager}", *common])
        self.head = raylet_pid(head_manager)
        self.second: int | None = None
        try:
            self.ray_start([f"--address={self.address}", f"--node-manager-port={node_manager}", *common])
            self.second = raylet_pid(node_manager)
        except BaseException:
            self.close()
            raise

    @staticmethod
    def ray_start(args: list[str]) -> None:
        # A session of its own, so that killing this node's process group spares ours.
        subprocess.run(["ray", "start", *args], env=ray_env(), check=True, capture_output=True, timeout=120,
                       start_new_session=True)

    def workers_on(self, raylet: int | None) -> list[int]:
        return worker_pids(root=raylet) if raylet else []

    @staticmethod
    def kill_node(raylet: int) -> None:
        workers = worker_pids(root=raylet)
        os.killpg(os.getpgid(raylet), signal.SIGKILL)
        for pid in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def stop_second(self) -> None:
        """The second node is gone at once: its raylet, object store and workers killed together."""
        if self.second is not None:
            self.kill_node(self.second)
            self.second = None

    def close(self) -> None:
        # Only this cluster's processes: `ray stop` would stop every Ray on the machine.
        self.stop_second()
        self.kill_node(self.head)
        shutil.rmtree(self.temp_dir, ignore_errors=True)


def cluster_run(algo: str, seed: int, out: Path, stop_at: int, steps: int) -> dict[str, Any]:
    """Train ``steps`` on a two-node cluster with ``--address``; kill the second node once ``stop_at`` pass."""
    run_dir = out / f"cluster_{algo}_s{seed}"
    cluster = TwoNodeCluster(Path(tempfile.mkdtemp(prefix="agentlab_ray_")))
    try:
        t0 = time.perf_counter()
        command = train_command(algo, run_dir, seed, "--address", cluster.address, "--steps", str(steps))
        proc = subprocess.Popen(command, env=ray_env())
        spread = stopped = False
        stopped_with = on_head_after = 0
        while proc.poll() is None:
            if stopped:
                on_head_after = max(on_head_after, len(cluster.workers_on(cluster.head)))
            else:
                on_second = cluster.workers_on(cluster.second)
                spread = spread or (bool(on_second) and bool(cluster.workers_on(cluster.head)))
                if int(float(last_row(run_dir / "metrics.csv").get("env_steps") or 0)) >= stop_at:
                    cluster.stop_second()
                    stopped, stopped_with = True, len(on_second)
            time.sleep(0.2)
        result = outcome(run_dir, proc.returncode, time.perf_counter() - t0, [])
        return {**result, "spread_over_both": spread, "workers_on_stopped_node": stopped_with,
                "on_head_after_stop": on_head_after}
    finally:
        cluster.close()


def overhead(rounds: int, repeats: int) -> dict[str, float]:
    """Synchronous rounds per second through ``RayBackend.sample_all`` (fault detection on) against a bare
    ``ray.get`` of the same workers' samples, interleaved in one run on A2C's CartPole preset."""
    import dataclasses

    import ray

    from agentlab import algorithms
    from agentlab.backends import RayBackend
    from agentlab.presets import preset

    os.environ.update(RAY_AUTH_MODE="disabled", RAY_USAGE_STATS_ENABLED="0")
    algorithm = algorithms.get("a2c")
    config = algorithm.config_cls(**{k: v for k, v in preset("a2c", "CartPole-v1").items()
                                     if k in algorithm.config_cls.__dataclass_fields__})
    kwargs = [dict(algo="a2c", algo_config=dataclasses.asdict(config), env_id="CartPole-v1", num_envs=4,
                   fragment_length=5, worker_index=i, num_workers=2, seed=0) for i in range(2)]
    backend = RayBackend(kwargs, worker_timeout_s=300)
    timed = {"sample_all": backend.sample_all, "bare ray.get": lambda: ray.get([w.sample.remote()
                                                                                for w in backend.workers])}
    try:
        for call in timed.values():  # workers up, both paths warm
            call()
        seconds = dict.fromkeys(timed, 0.0)
        for _ in range(repeats):
            for name, call in timed.items():
                t0 = time.perf_counter()
                for _ in range(rounds):
                    call()
                seconds[name] += time.perf_counter() - t0
    finally:
        backend.close()
    return {name: rounds * repeats / s for name, s in seconds.items()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--algos", nargs="+", default=["dqn", "a2c", "a3c"])
    p.add_argument("--kills", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--baseline", action="store_true", help="also each run with no kills, same seed and settings")
    p.add_argument("--cluster", action="store_true", help="the two-node cluster run instead")
    p.add_argument("--overhead", action="store_true", help="the normal path's cost of fault detection instead")
    p.add_argument("--steps", type=int, default=50_000, help="--cluster: the run's env-step budget")
    p.add_argument("--out", default="runs/chaos")
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.overhead:
        rates = overhead(rounds=300, repeats=5)
        base = rates["bare ray.get"]
        for name, rate in rates.items():
            print(f"{name}: {rate:,.0f} rounds/s ({rate / base:.3f} of bare ray.get)")
        return 0
    if args.cluster:
        for algo in args.algos:
            r = cluster_run(algo, args.seed, out, stop_at=EVAL_EVERY // 2, steps=args.steps)
            print(f"{algo}: rc {r['rc']}, workers spread over both nodes: {r['spread_over_both']}, "
                  f"{r['workers_on_stopped_node']} on the node stopped at step {EVAL_EVERY // 2:,}, "
                  f"restarts {r['restarts']}, {r['env_steps']:,} env steps, greedy {r['greedy']:.1f}, "
                  f"{r['wall_s']:.0f} s", flush=True)
        return 0
    print("| algo | rc | SIGKILLs | worker_restarts | env steps | final greedy (20 ep) | ≥ 475 | wall s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    ok = True
    for algo in args.algos:
        for kills in ([0] if args.baseline else []) + [args.kills]:
            r = chaos_run(algo, kills, args.seed, out)
            passed = r["rc"] == 0 and r["restarts"] == r["kills"] == kills and r["greedy"] >= SOLVE
            ok &= passed or kills == 0
            print(f"| {algo} | {r['rc']} | {r['kills']} | {r['restarts']} | {r['env_steps']:,} | {r['greedy']:.1f} | "
                  f"{'yes' if r['greedy'] >= SOLVE else 'no'} | {r['wall_s']:.0f} |", flush=True)
            print(f"<!-- {algo} kills at env steps {r['kill_steps']} -->", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    cli(main)
