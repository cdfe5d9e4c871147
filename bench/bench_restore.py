"""Restore only: one kept backup restored by two trees of Hygie and by restic, alternated.

Run (after `bench/bench_backup.py --keep --workdir DIR`, which leaves DIR/round-1/hygie and
DIR/round-1/restic-repo):

    .venv/bin/python bench/bench_restore.py --workdir DIR --before /tmp/before --pairs 3

`--before` is another tree of Hygie (`git archive COMMIT | tar -x -C /tmp/before`); the
`hygie` processes of each side run the code of their tree (PYTHONPATH), with this
interpreter. Each series restores with A (before), B (this tree) and restic, in an order that
rotates from one series to the next, the page cache dropped before each command (root only).
For each command: wall time, and the processor time of the command and all its children
(user, system: getrusage of the waited children), and the 1-minute load average before it.
Nothing is deleted until the end (ext4 without a journal is slow to create files for 30 s
after others are deleted): each series writes ~2 GB more. Exit code 0 whatever the figures.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HYGIE = str(Path(sys.executable).with_name("hygie"))
RESTIC = shutil.which("restic") or "/usr/bin/restic"

from bench_backup import _drop_caches  # noqa: E402 - same page-cache drop as the full bench


def _timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float, float, float]:
    """(wall, user, system, load) of one command and its children."""
    load = os.getloadavg()[0]
    _drop_caches()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        sys.exit(f"échec : {' '.join(cmd)}\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return wall, after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime, load


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workdir", required=True, help="a directory kept by bench_backup.py --keep")
    parser.add_argument("--before", required=True, help="the tree of the code to compare against")
    parser.add_argument("--pairs", type=int, default=3, help="series (A, B, restic) to run")
    parser.add_argument("--no-restic", action="store_true")
    args = parser.parse_args()
    work = Path(args.workdir).resolve()
    backup, repo = work / "round-1" / "hygie", work / "round-1" / "restic-repo"
    out = work / "ab"
    out.mkdir(exist_ok=True)
    base = {
        **os.environ,
        "HYGIE_ENV": "production",
        "HYGIE_DATA_DIR": str(work / "var"),
        "HYGIE_KEY_FILE": str(work / "keys" / "keys.json"),
        "HYGIE_CHECKPOINT_FILE": str(work / "keys" / "journal-checkpoints.jsonl"),
        "HYGIE_DATABASE_URL": "",
        "HYGIE_BACKUP_RECIPIENTS": "",
        "DJANGO_SETTINGS_MODULE": "hygie.settings",
    }
    trees = {"A": Path(args.before).resolve(), "B": ROOT}
    for tree in trees.values():
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree / "hygie")], check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
    restic_env = {**base, "RESTIC_PASSWORD": "bench", "RESTIC_CACHE_DIR": str(work / "restic-cache")}
    sides = ["A", "B"] + ([] if args.no_restic else ["r"])
    got: dict[str, list[tuple[float, float, float, float]]] = {s: [] for s in sides}
    time.sleep(0 if os.environ.get("BENCH_NO_SETTLE") else 31)  # anything deleted just before
    for n in range(args.pairs):
        order = sides[n % len(sides) :] + sides[: n % len(sides)]
        for side in order:
            dest = out / f"{side}-{n}-{time.time_ns()}"
            if side == "r":
                cmd, env = [RESTIC, "-r", str(repo), "restore", "latest", "--target", str(dest)], restic_env
            else:
                env = {**base, "PYTHONPATH": str(trees[side])}
                cmd = [HYGIE, "backup", "restore", str(backup), "--to", str(dest)]
            figures = _timed(cmd, env)
            got[side].append(figures)
            wall, user, system, load = figures
            print(f"series {n + 1} {side}: {wall:.2f} s, CPU {user:.2f} u + {system:.2f} s, load {load:.1f}",
                  flush=True)  # fmt: skip
    print()
    for side in sides:
        walls = [g[0] for g in got[side]]
        cpu = [g[1] + g[2] for g in got[side]]
        print(f"{side}: wall median {statistics.median(walls):.2f} s (min {min(walls):.2f}), CPU median "
              f"{statistics.median(cpu):.2f} s, user {statistics.median(g[1] for g in got[side]):.2f} s")  # fmt: skip
    for n in range(args.pairs):
        line = f"series {n + 1}: B/A {got['B'][n][0] / got['A'][n][0]:.2f}"
        if "r" in got:
            line += f", A/restic {got['A'][n][0] / got['r'][n][0]:.2f}, B/restic {got['B'][n][0] / got['r'][n][0]:.2f}"
        print(line)
    shutil.rmtree(out)


if __name__ == "__main__":
    main()
