"""Processor time per page, in-process: what one page of the load mix costs Hygie itself.

Run: .venv/bin/python bench/bench_pages.py [--actions 300] [--rounds 2] [--against DIR]
     [--backend sqlite|postgresql] [--pg-url postgresql://postgres@127.0.0.1:5432/postgres]
     [--profile FILE] [--instructions]

bench_load.py measures the whole server (HTTP, threads, the database, the client on the same
cores). This one isolates the application's own cost: a practice built as bench_load builds it
(8 titulaires × 10 patients), one user logged in through the real login (password, then TOTP),
then `--actions` actions drawn from bench_load's mix (upload excepted: its cost is the document's
size), each page called straight through Django's WSGI handler in this process, no socket, one
thread. Printed: CPU milliseconds per page (time.process_time, so another process's load on the
machine barely moves it), per action and overall, and the wall time per page; on a local
PostgreSQL, also the processor time of its server process for this connection (/proc).

`--against DIR`: the same workload, the same data, run alternately (A B B A…) by this tree and by
another checkout of Hygie (e.g. `git worktree add /tmp/before <commit>`), each in its own process,
and the ratio of their CPU per page. `--profile FILE`: cProfile of the measured actions (processor time) (this
tree, one round), for pstats. `--instructions`: instead of processor time, the instructions
executed per page, counted by valgrind (callgrind), which the machine's load does not move: each
side runs `--actions` actions and 20 actions, each time from the same copy of the practice (data
directory and database), and the difference divided by the difference in pages leaves out the
start, the login and the warm-up; about 50 times slower than a plain run. Not part of the test
suite; exit code 0 whatever the figures.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def measure(root: Path, data: Path, db_url: str, actions: int, who: int, profile: str) -> dict:
    """Child process: `root`'s Hygie on `data`, one user, `actions` actions. Returns the figures."""
    sys.path[:0] = [str(root), str(root / "bench")]
    import bench_load as bl

    os.environ.update(bl._server_env(data, db_url))
    os.environ["DJANGO_SETTINGS_MODULE"] = "hygie.settings"
    from django.core.management import call_command

    from hygie.wsgi import application

    call_command("createcachetable", verbosity=0)

    class InProcess(bl.Browser):
        """bench_load's browser, its requests handed to the WSGI application directly."""

        def _once(self, method: str, path: str, body: bytes | None, content_type: str) -> tuple[int, str, str]:
            bare, _, query = path.partition("?")
            environ = {
                "REQUEST_METHOD": method, "PATH_INFO": bare, "QUERY_STRING": query, "SERVER_NAME": "127.0.0.1",
                "SERVER_PORT": "8000", "HTTP_HOST": "127.0.0.1:8000", "REMOTE_ADDR": self.address,
                "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr,
                "wsgi.input": io.BytesIO(body or b""), "CONTENT_LENGTH": str(len(body or b"")),
            }
            if self.cookies:
                environ["HTTP_COOKIE"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            if body is not None:
                environ["CONTENT_TYPE"] = content_type
                environ["HTTP_REFERER"] = f"http://127.0.0.1:8000{path}"
            answer: dict = {}

            def start_response(status: str, headers: list, exc_info: object = None) -> None:
                answer["status"], answer["headers"] = int(status.split()[0]), headers

            data = b"".join(application(environ, start_response))
            location, text = self.absorb(answer["headers"], data)
            return answer["status"], location, text

    spec = json.loads((data / "logins.json").read_text())[who]
    user = bl.User(spec["username"], spec["secret"], spec["patients"], "10.14.0.1", InProcess(8000, "10.14.0.1"))
    user.browser.login(user.username, user.secret)
    mix = [a for a, w in bl.WEIGHTS.items() for _ in range(w) if a != "upload_document"]
    rng = random.Random(14)
    for action in sorted(set(mix)):  # warm: every page once (templates, URL resolvers, caches)
        bl.act(user, action, rng)
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile(time.process_time)  # processor time: waits on the database excluded
    per: dict[str, list[float]] = {}
    server = _backend_pid()
    server0 = _cpu_of(server)
    cpu0, wall0, pages0 = time.process_time(), time.perf_counter(), user.browser.pages
    for _ in range(actions):
        action = rng.choice(mix)
        c, p = time.process_time(), user.browser.pages
        if profiler:
            profiler.enable()
        bl.act(user, action, rng)
        if profiler:
            profiler.disable()
        row = per.setdefault(action, [0.0, 0])
        row[0] += time.process_time() - c
        row[1] += user.browser.pages - p
    pages = user.browser.pages - pages0
    # The same PostgreSQL server process all along (the connection is kept), or no figure.
    server_ms = 1000 * (_cpu_of(server) - server0) / pages if server and _backend_pid() == server else -1.0
    if profiler:
        profiler.dump_stats(profile)
    return {
        "cpu_ms": 1000 * (time.process_time() - cpu0) / pages,
        "server_ms": server_ms,
        "wall_ms": 1000 * (time.perf_counter() - wall0) / pages,
        "pages": pages,
        "per_action": {a: 1000 * c / max(p, 1) for a, (c, p) in sorted(per.items())},
    }


def _backend_pid() -> int | None:
    """PostgreSQL: the server process of this thread's connection (on this machine)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    return pid if Path(f"/proc/{pid}/stat").exists() else None


def _cpu_of(pid: int | None) -> float:
    """Processor time (user + system, s) of another process of this machine, from /proc."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_child(root: Path, data: Path, db_url: str, actions: int, who: int, profile: str = "") -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(root), "--data", str(data), "--db-url", db_url,
         "--actions", str(actions), "--who", str(who), "--profile", profile],
        check=True, capture_output=True, text=True, cwd=root,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


SHORT = 20  # actions of the run whose count is subtracted (start, login, warm-up)


def instructions(sides: list[tuple[str, Path]], data: Path, db_url: str, args: argparse.Namespace) -> None:
    """Instructions per page of each side (callgrind), each run from the same copy of the practice."""
    import shutil

    import psycopg

    if not shutil.which("valgrind"):
        raise SystemExit("--instructions : valgrind est nécessaire (apt-get install valgrind)")
    snapshot = ""
    if db_url:  # PostgreSQL: every run starts from a copy of the database as set up
        snapshot = db_url.rsplit("/", 1)[1] + "_snap"
        admin = args.pg_url
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{snapshot}" TEMPLATE "{db_url.rsplit("/", 1)[1]}"')
    pristine = Path(str(data) + "-pristine")
    shutil.copytree(data, pristine)
    print(f"charge moyenne au départ : {os.getloadavg()[0]:.1f} ; instructions (callgrind), "
          f"{args.actions} et {SHORT} actions par côté ({args.backend})")
    per_page: dict[str, float] = {}
    try:
        for name, root in sides:
            counts = {}
            for actions in (SHORT, args.actions):
                shutil.rmtree(data)
                shutil.copytree(pristine, data)
                run_url = db_url
                if db_url:
                    run_url = db_url + "_run"
                    with psycopg.connect(args.pg_url, autocommit=True) as conn:
                        conn.execute(f'DROP DATABASE IF EXISTS "{run_url.rsplit("/", 1)[1]}" WITH (FORCE)')
                        conn.execute(f'CREATE DATABASE "{run_url.rsplit("/", 1)[1]}" TEMPLATE "{snapshot}"')
                with tempfile.NamedTemporaryFile(prefix="callgrind-") as out:
                    done = subprocess.run(
                        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out.name}", "--dump-instr=no",
                         sys.executable, __file__, "--child", str(root), "--data", str(data), "--db-url", run_url,
                         "--actions", str(actions), "--who", "1"],
                        check=True, capture_output=True, text=True, cwd=root,
                    )
                    total = next(int(line.split()[1]) for line in Path(out.name).read_text().splitlines()
                                 if line.startswith(("summary:", "totals:")))
                pages = json.loads(done.stdout.strip().splitlines()[-1])["pages"]
                counts[actions] = (total, pages)
                print(f"{name} : {actions} actions, {pages} pages, {total / 1e6:.0f} millions d'instructions")
            (long_total, long_pages), (short_total, short_pages) = counts[args.actions], counts[SHORT]
            per_page[name] = (long_total - short_total) / (long_pages - short_pages)
            print(f"{name} ({root}) : {per_page[name] / 1e6:.2f} millions d'instructions par page")
        if args.against:
            print(f"\nrapport cet arbre / --against : {per_page['cet arbre'] / per_page['--against']:.3f}×")
    finally:
        shutil.rmtree(pristine, ignore_errors=True)
        if db_url:
            with psycopg.connect(args.pg_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{snapshot}" WITH (FORCE)')
                conn.execute(f'DROP DATABASE IF EXISTS "{db_url.rsplit("/", 1)[1]}_run" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--actions", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--against", type=Path, help="une autre copie de Hygie (ex. : git worktree)")
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--profile", default="")
    parser.add_argument("--instructions", action="store_true",
                        help="instructions par page (valgrind callgrind) au lieu du temps processeur")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--db-url", default="", help=argparse.SUPPRESS)
    parser.add_argument("--who", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.data, args.db_url, args.actions, args.who, args.profile)))
        return
    if not 10 <= args.actions <= 100_000 or not 1 <= args.rounds <= 20:
        raise SystemExit("--actions : 10 à 100 000 ; --rounds : 1 à 20")
    if args.against and not (args.against / "hygie" / "wsgi.py").is_file():
        raise SystemExit(f"--against : {args.against} n'est pas une copie de Hygie")

    import psycopg

    with tempfile.TemporaryDirectory(prefix="hygie-bench-pages-") as tmpdir:
        data = Path(tmpdir)
        db_url, dbname = "", ""
        if args.backend == "postgresql":
            dbname = f"bench_pages_{os.getpid()}"
            with psycopg.connect(args.pg_url, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{dbname}"')
            db_url = args.pg_url.rsplit("/", 1)[0] + f"/{dbname}"
        try:
            # The practice, as bench_load builds it (and by this tree: both versions read it).
            subprocess.run(
                [sys.executable, str(ROOT / "bench" / "bench_load.py"), "--setup", str(data), "--db-url", db_url,
                 "--users", "8", "--patients", "10"],
                check=True, cwd=ROOT,
            )
            sides = [("cet arbre", ROOT)] + ([("--against", args.against)] if args.against else [])
            if args.instructions:
                instructions(sides, data, db_url, args)
                return
            results: dict[str, list[dict]] = {name: [] for name, _ in sides}
            turn = 0
            print(f"charge moyenne au départ : {os.getloadavg()[0]:.1f} ; "
                  f"{args.actions} actions par tour ({args.backend})")
            for r in range(args.rounds):
                order = sides if r % 2 == 0 else sides[::-1]  # A B, then B A
                for name, root in order:
                    # A different user each time: a TOTP code is accepted once.
                    figures = run_child(root, data, db_url, args.actions, turn % 8,
                                        args.profile if (name == "cet arbre" and r == 0) else "")
                    turn += 1
                    results[name].append(figures)
                    server = (f" + {figures['server_ms']:.2f} ms du serveur PostgreSQL"
                              if figures.get("server_ms", -1) >= 0 else "")
                    print(f"tour {r + 1}, {name} : {figures['cpu_ms']:.2f} ms de processeur par page{server} "
                          f"({figures['pages']} pages), {figures['wall_ms']:.2f} ms écoulées")
            for name, root in sides:
                runs = results[name]
                print(f"\n{name} ({root}) : ms de processeur par page, par action")
                for action in runs[0]["per_action"]:
                    values = " ; ".join(f"{run['per_action'].get(action, 0):.2f}" for run in runs)
                    print(f"  {action:20s} {values}")
            if args.against:
                ours = [f["cpu_ms"] for f in results["cet arbre"]]
                theirs = [f["cpu_ms"] for f in results["--against"]]
                ratios = " ; ".join(f"{a / b:.2f}" for a, b in zip(ours, theirs, strict=True))
                print(f"\nrapport cet arbre / --against, par tour : {ratios} ; "
                      f"moyennes {sum(ours) / len(ours):.2f} / {sum(theirs) / len(theirs):.2f} ms : "
                      f"{sum(ours) / sum(theirs):.2f}×")
            print(f"charge moyenne à la fin : {os.getloadavg()[0]:.1f}")
        finally:
            if dbname:
                with psycopg.connect(args.pg_url, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


if __name__ == "__main__":
    main()
