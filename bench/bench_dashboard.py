"""The dashboard, rendered by Django's test client on a practice with a big journal: statements
and CPU per role, this code against a baseline checkout (issue 14, "dashboard" task).

Run: .venv/bin/python bench/bench_dashboard.py --baseline DIR [--backend sqlite|postgresql|both]
     [--events 200000] [--renders 15] [--rounds 4] [--pg-url postgresql://postgres@127.0.0.1:5432/postgres]

DIR is another checkout of Hygie (e.g. `git archive main | tar -x -C /tmp/base`); without it
only this code is measured. For each database, in a fresh temporary data dir (and a throw-away
PostgreSQL database `bench_dashboard_<pid>`, dropped at the end), a child process with this code:
1. migrates, creates the test personas (tests.factories.Personas), a practice, 200 patients
   for alice, today's appointments, unpaid care sheets, open alerts, a pending replacement
   request, an open breach, a rights request near its deadline, backup runs (one failure),
   score records: every panel has something to show;
2. adds `--events` journal events over a year (bulk, sealed numbers; record views, logins of
   every persona and failures, daily journal verifications), then ANALYZE.
Then, each round, the two sides in alternated order (A B, B A, ...), each in its own child
process importing its own code: per role, one warm-up render, the statements of one render
(CaptureQueriesContext), then `--renders` renders timed with time.process_time (this process's
CPU: Django's side; the database's own CPU on PostgreSQL is not in it) and wall time. The
page's HTML (CSRF tokens and nonces blanked) is hashed: both sides must show the same page.
Printed: per role, the median CPU ms per render of each side over its rounds' medians, the best
(lowest) too, the ratio this/baseline, statements, and whether the pages are the same.
Not part of the test suite; exit code 0 whatever the figures.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROLES = ("adam", "alice", "fabien", "regine", "remi", "sophie")


def _env(tmp: Path, db_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYGIE_")}
    env.update(
        HYGIE_ENV="test",
        HYGIE_DATA_DIR=str(tmp / "var"),
        HYGIE_KEY_FILE=str(tmp / "keys.json"),
        HYGIE_CHECKPOINT_FILE=str(tmp / "journal-checkpoints.jsonl"),
        HYGIE_EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        DJANGO_SETTINGS_MODULE="hygie.settings",
    )
    if db_url:
        env["HYGIE_DATABASE_URL"] = db_url
    return env


def _django(code: Path) -> None:
    sys.path.insert(0, str(code))
    from hygie.lib import keyfile

    keyfile.load_or_create(Path(os.environ["HYGIE_KEY_FILE"]))
    import django

    django.setup()


# --- Child: the practice ----------------------------------------------------------------------


def setup(events: int) -> None:
    _django(ROOT)
    import random
    from datetime import timedelta

    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from hygie.accounts import actions as accounts
    from hygie.audit.events import Ev
    from hygie.audit.models import Alert, AlertKind, ChainHead, Event
    from hygie.backups.models import Run, RunKind, RunStatus
    from hygie.checklist import actions as checklist_actions
    from hygie.incidents.models import Incident
    from hygie.practices.models import Practice
    from tests.factories import Personas, make_appointment, make_care_sheet, make_patient, make_user
    from tests.rights.helpers import record as record_request

    call_command("migrate", verbosity=0)
    rng = random.Random(14)
    now = timezone.now()
    today = timezone.localdate()
    with transaction.atomic():
        Practice.objects.create(name="Cabinet de mesure")
        p = Personas()
        patients = [p.alice_patient] + [make_patient(p.alice, birth_name=f"Mesure{i:03d}") for i in range(199)]
        start = timezone.localtime(now).replace(hour=8, minute=0, second=0, microsecond=0)
        for i in range(12):
            make_appointment(patients[i], p.alice, start=start + timedelta(minutes=30 * i))
        for i in range(8):
            make_care_sheet(patients[i], p.alice)
        for i in range(3):
            Alert.objects.create(kind=AlertKind.OFF_HOURS, key=f"mesure-{i}", created_at=now - timedelta(hours=i),
                                 first_event_at=now - timedelta(hours=i + 1), last_event_at=now - timedelta(hours=i),
                                 user=p.alice)
        locum = make_user("loic", "remplacant")
        accounts.create_replacement(actor=p.adam, remplacant=locum, titulaire=p.alice,
                                    starts_at=now + timedelta(days=2), ends_at=now + timedelta(days=5))
        Incident.objects.create(title="Ordinateur portable volé", discovered_at=now - timedelta(hours=30),
                                aware_at=now - timedelta(hours=30))
        record_request(p.alice, p.alice_patient, "acces", hours_ago=28 * 24 + 1)
        for days, state in ((1, RunStatus.SUCCESS), (0, RunStatus.FAILURE)):
            finished = now - timedelta(days=days, hours=1)
            Run.objects.create(kind=RunKind.BACKUP, status=state, offsite=True, finished_at=finished,
                               started_at=finished - timedelta(minutes=5),
                               message="Disque plein." if state == RunStatus.FAILURE else "")
        for days in (40, 25, 1):
            checklist_actions.record_score(score=40 + days, counts={}, day=today - timedelta(days=days))
    users = list(p.all().values())
    seq = (Event.objects.exclude(seq=None).order_by("-seq").values_list("seq", flat=True).first() or 0) + 1
    batch: list[Event] = []
    span = 365 * 24 * 3600
    for i in range(events):
        at = now - timedelta(seconds=span * (events - i) / events)
        user = users[i % len(users)]
        roll = rng.random()
        if roll < 0.03:
            action, kw = Ev.LOGIN_SUCCEEDED, {"target_type": "accounts.user", "target_id": str(user.pk)}
        elif roll < 0.035:
            action, kw = Ev.LOGIN_FAILED, {"target_type": "accounts.user", "target_id": str(user.pk),
                                           "outcome": "failure"}
        elif roll < 0.036:
            action, kw = Ev.JOURNAL_VERIFIED, {"details": {"ok": True}}
        else:
            patient = patients[rng.randrange(len(patients))]
            action, kw = Ev.PATIENT_VIEWED, {"target_type": "patients.patient", "target_id": str(patient.public_id),
                                            "patient_id": patient.pk}
        batch.append(Event(at=at, actor=user, actor_role=user.role, action=action, ip="192.0.2.7", seq=seq + i,
                           chain_hash="0" * 64, **kw))
        if len(batch) == 5000:
            Event.objects.bulk_create(batch)
            batch = []
    Event.objects.bulk_create(batch)
    # The chain's head follows (its hash is not recomputed: nothing here verifies the chain).
    ChainHead.objects.filter(pk=1).update(seq=seq + events - 1)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    # One session per persona, signed in here: the measuring processes sign nobody in (a login
    # is a journal event, which would change the next page's "previous login").
    from django.conf import settings
    from django.test import Client
    from django.test.utils import setup_test_environment

    setup_test_environment()
    sessions = {}
    for name in ROLES:
        client = Client()
        client.force_login(getattr(p, name), backend="hygie.accounts.backends.HygieBackend")
        sessions[name] = client.cookies[settings.SESSION_COOKIE_NAME].value
    print(json.dumps({"events": Event.objects.count(), "sessions": sessions}))


# --- Child: one side's timings ------------------------------------------------------------------


_VOLATILE = re.compile(r'(csrfmiddlewaretoken" value="|nonce="|csrf-token" content=")[^"]*')


def measure(code: Path, renders: int, sessions: dict[str, str]) -> None:
    _django(code)
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    import hygie
    assert Path(hygie.__file__).resolve().is_relative_to(code.resolve()), hygie.__file__
    setup_test_environment()  # "testserver" allowed, as under pytest
    out = {}
    for name in ROLES:
        client = Client()
        client.cookies[settings.SESSION_COOKIE_NAME] = sessions[name]
        assert client.get("/").status_code == 200
        with CaptureQueriesContext(connection) as captured:
            page = client.get("/").content.decode()
        statements = len(captured.captured_queries)  # the next request empties the log
        cpu, wall = [], []
        for _ in range(renders):
            c0, w0 = time.process_time(), time.perf_counter()
            client.get("/")
            cpu.append(time.process_time() - c0)
            wall.append(time.perf_counter() - w0)
        if os.environ.get("BENCH_DASHBOARD_PAGES"):
            Path(os.environ["BENCH_DASHBOARD_PAGES"], f"{code.name}-{name}.html").write_text(page)
        out[name] = {
            "statements": statements,
            "cpu_ms": statistics.median(cpu) * 1000,
            "wall_ms": statistics.median(wall) * 1000,
            "page": hashlib.sha256(_VOLATILE.sub(r"\1", page).encode()).hexdigest()[:16],
        }
    print(json.dumps(out))


# --- Parent ------------------------------------------------------------------------------------


def _child(args: list[str], env: dict[str, str]) -> dict:
    done = subprocess.run([sys.executable, __file__, *args], env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-4000:])
        raise SystemExit(f"child {args[0]} failed")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(backend: str, db_url: str, args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as tmp_name:
        tmp = Path(tmp_name)
        env = _env(tmp, db_url)
        made = _child(["--setup", "--events", str(args.events)], env)
        print(f"\n== {backend}: {made['events']} journal events")
        sides = {"this": ROOT}
        if args.baseline:
            sides["baseline"] = Path(args.baseline).resolve()
        rounds: dict[str, list[dict]] = {side: [] for side in sides}
        for r in range(args.rounds):
            order = list(sides) if r % 2 == 0 else list(reversed(sides))
            for side in order:
                rounds[side].append(_child(["--measure", str(sides[side]), "--renders", str(args.renders),
                                            "--sessions", json.dumps(made["sessions"])], env))
            print(f"round {r + 1}: order {' '.join(order)}", flush=True)
        print(f"{'role':8} {'side':9} {'stmts':>5} {'cpu ms (median of rounds)':>26} {'best':>7} {'wall ms':>8}")
        for name in ROLES:
            figures = {}
            for side in sides:
                cpu = [x[name]["cpu_ms"] for x in rounds[side]]
                wall = [x[name]["wall_ms"] for x in rounds[side]]
                figures[side] = (statistics.median(cpu), min(cpu), statistics.median(wall))
                print(f"{name:8} {side:9} {rounds[side][0][name]['statements']:5} {figures[side][0]:26.1f} "
                      f"{figures[side][1]:7.1f} {figures[side][2]:8.1f}")
            if "baseline" in sides:
                same = {x[name]["page"] for side in sides for x in rounds[side]}
                ratio = figures["this"][0] / figures["baseline"][0]
                best = figures["this"][1] / figures["baseline"][1]
                wall = figures["this"][2] / figures["baseline"][2]
                print(f"{'':8} this/baseline: cpu {ratio:.2f} (best {best:.2f}), wall {wall:.2f}; "
                      f"same page: {'yes' if len(same) == 1 else 'NO ' + str(sorted(same))}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--setup", action="store_true")
    parser.add_argument("--measure", default="")
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--renders", type=int, default=15)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--baseline", default="")
    parser.add_argument("--sessions", default="{}")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    if args.setup:
        return setup(args.events)
    if args.measure:
        return measure(Path(args.measure), args.renders, json.loads(args.sessions))
    print(f"load: {os.getloadavg()}")
    if args.backend in ("sqlite", "both"):
        run("sqlite", "", args)
    if args.backend in ("postgresql", "both"):
        import psycopg

        name = f"bench_dashboard_{os.getpid()}"
        with psycopg.connect(args.pg_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        try:
            run("postgresql", args.pg_url.rsplit("/", 1)[0] + "/" + name, args)
        finally:
            with psycopg.connect(args.pg_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(f"load: {os.getloadavg()}")


if __name__ == "__main__":
    main()
