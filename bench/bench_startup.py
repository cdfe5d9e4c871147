"""Start-up of a `hygie` process: two trees of Hygie compared, alternated (docs/performance.md,
« Démarrage »).

    git archive main | tar -x -C /tmp/before
    .venv/bin/python bench/bench_startup.py --before /tmp/before --runs 20

Each side runs the code of its tree (PYTHONPATH) with this interpreter, in a private data dir on
SQLite (HYGIE_ENV=test, its own key file, migrated once). Two commands:

- `setup`: `django.setup()` and exit, what `finish-restore` and the other helper processes of a
  restore pay before their work (they run no system checks);
- `command`: `hygie keys status`, a cheap real command (Django's system checks load every URL
  pattern first, as for most commands).

For each: the processor time (user + system, getrusage of the waited child) of `--runs` runs per
side, A and B alternated (A B, then B A, …) so that a drift of the machine's load favours neither;
medians and quartiles. Then, once per side: the number of modules in sys.modules after
`django.setup()`, and the sum of the `-X importtime` self times of that start-up (microseconds,
load-dependent: an indication). Instruction counts, which do not depend on the load, are not
taken here: `valgrind --tool=callgrind --trace-children=no` on the `setup` command (see the
figures in docs/performance.md).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SETUP = ("import os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'hygie.settings'); "
         "import django; django.setup()")
COUNT = SETUP + "; import sys; print(len(sys.modules))"
COMMANDS = {"setup": ["-c", SETUP], "command": ["-m", "hygie.cli", "keys", "status"]}


def _env(tree: Path, tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "HYGIE_DATABASE_URL"}
    env.update(HYGIE_ENV="test", HYGIE_DATA_DIR=str(tmp / "var"), HYGIE_KEY_FILE=str(tmp / "keys.json"),
               PYTHONPATH=str(tree), DJANGO_SETTINGS_MODULE="hygie.settings")
    return env


def _cpu(args: list[str], env: dict[str, str], cwd: Path) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, *args], env=env, cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _imports(env: dict[str, str], cwd: Path) -> tuple[int, int]:
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", COUNT], env=env, cwd=cwd, check=True,
                          capture_output=True, text=True)
    total = sum(int(m.group(1)) for m in re.finditer(r"^import time:\s+(\d+) \|", proc.stderr, re.M))
    return int(proc.stdout.split()[-1]), total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", required=True, help="the tree of the code to compare against")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    trees = {"A": Path(args.before).resolve(), "B": ROOT}
    out: dict = {"trees": {k: str(v) for k, v in trees.items()}}
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        envs = {}
        for side, tree in trees.items():
            envs[side] = _env(tree, Path(tmp) / side)
            (Path(tmp) / side).mkdir()
            subprocess.run([sys.executable, "-c", "from pathlib import Path; import os; from hygie.lib import keyfile; "
                            "keyfile.load_or_create(Path(os.environ['HYGIE_KEY_FILE']))"],
                           env=envs[side], cwd=tree, check=True)
            subprocess.run([sys.executable, "-m", "hygie.cli", "migrate", "-v", "0"], env=envs[side], cwd=tree,
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for cmd in COMMANDS.values():  # compiled modules written, caches warm
                _cpu(cmd, envs[side], tree)
        for name, cmd in COMMANDS.items():
            cpu: dict[str, list[float]] = {"A": [], "B": []}
            for r in range(args.runs):
                for side in ("A", "B") if r % 2 == 0 else ("B", "A"):
                    cpu[side].append(_cpu(cmd, envs[side], trees[side]))
            out[name] = {
                side: {"median_s": round(statistics.median(v), 4),
                       "quartiles_s": [round(q, 4) for q in statistics.quantiles(v, n=4)],
                       "runs": [round(x, 3) for x in v]}
                for side, v in cpu.items()
            }
            out[name]["B/A"] = round(out[name]["B"]["median_s"] / out[name]["A"]["median_s"], 3)
        for side, tree in trees.items():
            modules, importtime_us = _imports(envs[side], tree)
            out.setdefault("imports", {})[side] = {"modules": modules, "importtime_self_sum_us": importtime_us}
    out["load"] = os.getloadavg()
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
