"""Patient import: what a page waits while a large CSV is imported (issue 18, item 6).

Run: .venv/bin/python bench/bench_import.py [--rows 500000] [--clients 2] [--workdir DIR] [--keep]

In a throwaway practice (its own data dir, key file and checkpoint file, SQLite):
1. generates a CSV of --rows distinct synthetic patients (names, birth date, sex, phone, a line
   of antécédents), not timed;
2. starts a real `hygie serve --no-worker` and --clients threads that request, in a loop, the
   login page and the dashboard of a signed-in titulaire (alternately by thread; every page
   opens a write transaction on SQLite: ATOMIC_REQUESTS, IMMEDIATE), first
   with nothing else running (idle latency), then during `hygie patients import FILE --json`
   run as a subprocess (check, then batches). Prints p50 / p99 / longest wait and any error
   answer (a 500 "database is locked" is counted), and the import's rows/s;
3. the baseline: the same rows as plaintext inserted by one `executemany` into an indexed
   SQLite table in one transaction (the raw ceiling: no validation, no encryption, no blind
   index, no journal), measured before and after the import (alternating order), best kept.
Exit code 0 whatever the figures: this is a measurement. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
HYGIE = str(Path(sys.executable).with_name("hygie"))
GOAL_SECONDS = 1.0


def _rows(n: int):
    letters = "abcdefghijklmnopqrstuvwxyz"
    firsts = ["Marie", "Jean", "Hélène", "Noël", "Chloé", "Louis", "Inès", "Théo", "Léa", "Hugo"]
    for i in range(n):
        word, k = "", i
        for _ in range(5):
            k, r = divmod(k, 26)
            word += letters[r]
        born = date(1930, 1, 1) + timedelta(days=(i * 7) % 32000)
        yield (f"Lef{word}", f"{firsts[i % 10]} {word[::-1].capitalize()}", born.strftime("%d/%m/%Y"),
               "FM"[i % 2], "06 12 34 56 78", f"HTA traitée depuis {1990 + i % 30}")


def _write_csv(path: Path, n: int) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        out = csv.writer(f, delimiter=";")
        out.writerow(["nom", "prenom", "date_naissance", "sexe", "telephone", "antecedents"])
        out.writerows(_rows(n))


def _baseline(n: int, workdir: Path) -> float:
    """Rows/s of one executemany into an indexed plaintext table: the raw ceiling."""
    db = workdir / "baseline.sqlite3"
    db.unlink(missing_ok=True)
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE p (id INTEGER PRIMARY KEY, nom, prenom, naissance, sexe, tel, antecedents)")
    conn.execute("CREATE INDEX p_identity ON p (nom, prenom, naissance)")
    rows = list(_rows(n))
    start = time.perf_counter()
    with conn:
        conn.executemany(
            "INSERT INTO p (nom, prenom, naissance, sexe, tel, antecedents) VALUES (?, ?, ?, ?, ?, ?)", rows
        )
    elapsed = time.perf_counter() - start
    conn.close()
    return n / elapsed


def _signed_in(user) -> str:
    """A session cookie of `user`, signed in with a second factor (as after a TOTP login)."""
    from allauth.mfa.models import Authenticator
    from django.conf import settings
    from django.test import Client

    Authenticator.objects.create(user=user, type=Authenticator.Type.TOTP, data={"secret": "JBSWY3DPEHPK3PXP"})
    client = Client()
    client.force_login(user, backend="hygie.accounts.backends.HygieBackend")
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Clients:
    """Threads requesting a page in a loop; each request's wait is recorded."""

    def __init__(self, urls: list[tuple[str, dict[str, str]]], n: int) -> None:
        self.urls, self.n = urls, n
        self.waits: list[float] = []
        self.errors: dict[str, int] = {}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def _loop(self, index: int) -> None:
        url, headers = self.urls[index % len(self.urls)]
        request = urllib.request.Request(url, headers=headers)  # noqa: S310 (local)
        while not self._stop.is_set():
            start = time.perf_counter()
            try:
                with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 (local)
                    response.read()
                    if response.url != url:  # redirected (to the login page: the session was lost)
                        self.errors["redirect"] = self.errors.get("redirect", 0) + 1
            except urllib.error.HTTPError as exc:
                self.errors[str(exc.code)] = self.errors.get(str(exc.code), 0) + 1
            except OSError as exc:
                self.errors[type(exc).__name__] = self.errors.get(type(exc).__name__, 0) + 1
            self.waits.append(time.perf_counter() - start)

    def __enter__(self) -> Clients:
        self._threads = [threading.Thread(target=self._loop, args=(i,), daemon=True) for i in range(self.n)]
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join()

    def summary(self) -> str:
        w = sorted(self.waits)
        if not w:
            return "no request"
        p99 = w[min(len(w) - 1, int(len(w) * 0.99))]
        return (f"{len(w)} requests, p50 {statistics.median(w) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
                f"longest {w[-1] * 1000:.0f} ms, errors {self.errors or 0}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--idle-seconds", type=float, default=10.0)
    parser.add_argument("--workdir")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    work = Path(args.workdir or tempfile.mkdtemp(prefix="hygie-bench-import-"))
    work.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, HYGIE_ENV="development", HYGIE_DATA_DIR=str(work / "var"),
               HYGIE_KEY_FILE=str(work / "keys.json"), HYGIE_CHECKPOINT_FILE=str(work / "checkpoints.jsonl"),
               HYGIE_IMPORT_MAX_MB="1024", PYTHONPATH=str(ROOT), DJANGO_SETTINGS_MODULE="hygie.settings")
    env.pop("HYGIE_DATABASE_URL", None)
    os.environ.update(env)
    from hygie.lib import keyfile

    keyfile.load_or_create(Path(env["HYGIE_KEY_FILE"]))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    from hygie.access.policy import Role
    from hygie.accounts.models import User
    from hygie.practices.models import Practice

    call_command("migrate", verbosity=0)
    Practice.objects.create(name="Cabinet de mesure")
    doctor = User.objects.create(username="dr.bench", role=Role.TITULAIRE)
    cookie = _signed_in(doctor)
    connections.close_all()

    csv_path = work / "patients.csv"
    _write_csv(csv_path, args.rows)
    print(f"{args.rows:,} rows, {csv_path.stat().st_size / 1e6:.1f} MB; machine: {os.cpu_count()} cores (shared)")

    baselines = [_baseline(args.rows, work)]

    port = _free_port()
    server = subprocess.Popen([HYGIE, "serve", "--no-worker", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/auth/login/"
    # The login page, and the dashboard of a signed-in titulaire: one client each (--clients 2).
    pages = [(url, {}), (f"http://127.0.0.1:{port}/", {"Cookie": cookie})]
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(url, timeout=5).read()  # noqa: S310 (local)
                break
            except OSError:
                time.sleep(0.1)
        with Clients(pages, args.clients) as idle:
            time.sleep(args.idle_seconds)
        print(f"page, nothing else running: {idle.summary()}")

        with Clients(pages, args.clients) as busy:
            start = time.perf_counter()
            done = subprocess.run([HYGIE, "patients", "import", str(csv_path), "--practitioner", "dr.bench",
                                   "--json"], env=env, capture_output=True, text=True, check=False)
            elapsed = time.perf_counter() - start
        print(f"page, during the import:     {busy.summary()}")
        if done.returncode != 0:
            print(f"import stopped (exit code {done.returncode}): {done.stderr[-2000:]}")
            return 0
        result = json.loads(done.stdout)
        imported = len(result["imported"])
        print(f"import: {imported:,} patients in {elapsed:.0f} s ({imported / elapsed:,.0f} rows/s), "
              f"{result['batches']} batches")
    finally:
        server.terminate()
        server.wait()

    baselines.append(_baseline(args.rows, work))
    best = max(baselines)
    print(f"baseline (plain executemany, indexed plaintext table): {best:,.0f} rows/s "
          f"(runs: {', '.join(f'{b:,.0f}' for b in baselines)})")
    print(f"ratio import / baseline: {imported / elapsed / best:.4f} "
          f"(baseline is {best / (imported / elapsed):.0f}x faster)")
    longest = max(busy.waits) if busy.waits else float("nan")
    print(f"goal: longest page wait < {GOAL_SECONDS:.0f} s during the import: "
          f"{'met' if longest < GOAL_SECONDS and not busy.errors else 'NOT met'} ({longest * 1000:.0f} ms); "
          f"longest / idle longest: {longest / max(idle.waits):.1f}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
