"""Journal: append throughput with concurrent writers, and verification speed.

Run: .venv/bin/python bench/bench_journal.py [--backend sqlite|postgresql|both] [--writers 8]
     [--events 1000] [--verify-events 1000000] [--sealing serve|inline]
     [--pg-url postgresql://postgres@127.0.0.1:5432/postgres]

For each database, in a fresh temporary data dir (and a throw-away PostgreSQL database, dropped
at the end):
- append: `--writers` processes, each writing `--events` events one transaction at a time like a
  request, through `journal.record` (chained) against plain Event inserts through the ORM
  (baseline) and against one raw parameterised INSERT per transaction, no chain (the ceiling;
  on SQLite through the driver's own cursor, like the chained append);
  the chained writers seal as the requests of `hygie serve` do (`--sealing serve`, the default:
  on PostgreSQL each process's sealer thread, hygie.audit.sealer, its processor time counted with
  the writer's and its last round, at the writer's end, within the time) or as commands and the
  worker do (`--sealing inline`: each writer right after its commit). SQLite seals inside the
  writer's transaction either way;
- verify: `--verify-events` chained events bulk-loaded, then `verify()` against just reading
  the same rows through the same cursor (baseline).
Each append round also reports the processor time per event of the writers and, for a local
PostgreSQL, of their server processes (/proc): on a shared machine it varies far less than the
throughput, and where the processor is the limit the ceiling/chained ratio of those times bounds
the throughput ratio.
Processes rather than threads: a real deployment runs several server processes, and threads
would measure the GIL. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _setup(tmp: Path, db_url: str) -> None:
    os.environ.update(HYGIE_ENV="test", HYGIE_DATA_DIR=str(tmp / "var"), HYGIE_KEY_FILE=str(tmp / "keys.json"))
    os.environ["HYGIE_DATABASE_URL"] = db_url
    os.environ["HYGIE_CHECKPOINT_FILE"] = str(tmp / "journal-checkpoints.jsonl")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hygie.settings")
    from hygie.lib import keyfile

    keyfile.load_or_create(Path(os.environ["HYGIE_KEY_FILE"]))
    import django

    django.setup()


def _writer(mode: str, events: int, barrier, results, sealing: str = "serve") -> None:
    from django.db import connections, transaction
    from django.utils import timezone

    from hygie.audit import journal
    from hygie.audit.events import Ev
    from hygie.audit.models import Event

    connections.close_all()  # never share the parent's connection
    connection = connections["default"]
    sql = (f"INSERT INTO {Event._meta.db_table} (at, actor_role, action, outcome, target_type, target_id, "
           "patient_id, request_id, channel, reason, details, chain_hash) "
           "VALUES (%s, '', %s, 'success', '', '', %s, %s, 'cli', '', %s, '')")
    server = _server_pid(connection)
    driver_sql = sql.replace("%s", "?") if connection.vendor == "sqlite" else ""
    from django.db.backends.signals import connection_created

    from hygie.audit import chain, sealer

    # Server processes of the sealer thread's connections, so that their time is counted too.
    thread_servers: list[int] = []
    if mode == "chained" and sealing == "serve":
        sealer.enable()  # what `hygie serve` does in each server process
        connection_created.connect(lambda sender, connection, **kw: thread_servers.append(
            _server_pid(connection) or 0) if connection.vendor == "postgresql" else None, weak=False)
    barrier.wait()
    cpu0, server0 = _cpu_self(), _cpu_of(server)
    start = time.perf_counter()
    for i in range(events):
        if mode == "chained":
            journal.record(Ev.PATIENT_VIEWED, patient_id=i, details={"fields": ["phone"]})
        elif mode == "raw":
            # The ceiling: one parameterised INSERT per transaction, no ORM, no chain. On SQLite
            # through the sqlite3 driver's own cursor, as the chained append does when nothing
            # observes the statements (hygie.audit.chain.append): ~10 µs less than Django's.
            params = [connection.ops.adapt_datetimefield_value(timezone.now()), str(Ev.PATIENT_VIEWED), i,
                      "0" * 32, connection.ops.adapt_json_value({"fields": ["phone"]}, None)]
            with transaction.atomic():
                if driver_sql:
                    with contextlib.closing(connection.connection.cursor()) as driver:
                        driver.execute(driver_sql, params)
                else:
                    with connection.cursor() as cursor:
                        cursor.execute(sql, params)
        else:
            with transaction.atomic():
                Event.objects.create(at=timezone.now(), action=str(Ev.PATIENT_VIEWED), patient_id=i,
                                     request_id="0" * 32, channel="cli", details={"fields": ["phone"]})
    thread_cpu = 0.0
    if sealer.enabled():
        # What the thread has not sealed yet is sealed here, on the writer's connection, while the
        # thread's server processes still exist to be read (their whole life is counted, start-up
        # included); then the thread stops (a server's normal stop), with nothing left to seal.
        chain.seal()
        thread_cpu = sum(max(_cpu_of(pid), 0.0) for pid in thread_servers if pid)
        sealer.stop()
    end = time.perf_counter()
    results.put((start, end, _cpu_self() - cpu0, _cpu_of(server) - server0 + thread_cpu))
    connections.close_all()


def _server_pid(connection) -> int | None:
    """The PostgreSQL server process of this connection, when it runs on this machine."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    return pid if _cpu_of(pid) >= 0 else None


def _cpu_self() -> float:
    t = os.times()
    return t.user + t.system


def _cpu_of(pid: int | None) -> float:
    """Processor time (user + system, s) of another process of this machine, from /proc; 0 when
    there is none (SQLite: the database works inside the writer), -1 when unreadable."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return -1.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# Per round and mode: processor time per event, µs, of the writers and of their server processes.
_CPU: dict[str, list[tuple[float, float]]] = {"plain": [], "raw": [], "chained": []}


# Per chained round: events still pending when the last writer ended, sealed by the final seal().
_LEFT: list[int] = []


def _append(mode: str, writers: int, events: int, sealing: str) -> float:
    from django.db import connections

    from hygie.audit.chain import seal
    from hygie.audit.models import ChainHead, Event

    Event.objects.all().delete()
    ChainHead.objects.all().delete()
    connections.close_all()
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(writers), ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(mode, events, barrier, results, sealing)) for _ in range(writers)]
    for p in procs:
        p.start()
    spans = [results.get() for _ in procs]
    end = max(e for _, e, _, _ in spans)
    # The chained writers' time includes the sealing they (or their sealer thread) do; the final
    # seal() below is not counted (nothing was left to it in the runs of docs/performance.md).
    client, server = sum(c for *_, c, _ in spans), sum(s for *_, s in spans)
    _CPU[mode].append((client / (writers * events) * 1e6, server / (writers * events) * 1e6 if server >= 0 else -1))
    if mode == "chained":
        # An append counts once its event is sealed: the clock stops when nothing is pending
        # (sealing here what the writers' commit hooks left pending is part of the time).
        sealed_now = seal()
        end = time.perf_counter()
        _LEFT.append(sealed_now)
    elapsed = end - min(s for s, *_ in spans)
    for p in procs:
        p.join()
        assert p.exitcode == 0
    assert Event.objects.count() == writers * events
    assert mode != "chained" or not Event.objects.filter(seq__isnull=True).exists()
    return writers * events / elapsed


def _bulk_load(n: int) -> None:
    """n chained events, hashed here with the same canonical form, inserted in bulk."""
    from django.db import connection

    from hygie.audit import checkpoint
    from hygie.audit.chain import table
    from hygie.audit.models import ChainHead, Checkpoint, Event
    from hygie.lib import hashchain

    Event.objects.all().delete()
    Checkpoint.objects.all().delete()
    ChainHead.objects.all().delete()
    canon = hashchain.DetailsCanon()
    base = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    shapes = ['{}', '{"fields": ["phone", "email"]}', '{"count": 12}']
    previous = hashchain.GENESIS
    cols = ("seq", "chain_hash", "at", "actor_id", "actor_role", "action", "outcome", "target_type", "target_id",
            "patient_id", "ip", "request_id", "channel", "reason", "details")
    batch: list[tuple] = []

    def flush() -> None:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                with cursor.cursor.copy(f"COPY {table()} ({', '.join(cols)}) FROM STDIN") as copy:
                    for row in batch:
                        copy.write_row(row)
            else:
                marks = ", ".join(["%s"] * len(cols))
                cursor.executemany(f"INSERT INTO {table()} ({', '.join(cols)}) VALUES ({marks})", batch)
        batch.clear()

    with connection.cursor():
        pass
    for seq in range(1, n + 1):
        at = base + timedelta(microseconds=seq * 2_000_003)
        fields = (at, None, "titulaire", "patient:record:viewed", "success", "patients.patient", str(seq % 5000),
                  seq % 5000, "192.168.1.20", f"{seq:032x}", "web", "", shapes[seq % 3])
        payload = hashchain.canonical_event(
            seq=seq, at=hashchain.format_time(at), actor=None, actor_role=fields[2], action=fields[3],
            outcome=fields[4], target_type=fields[5], target_id=fields[6], patient=fields[7], ip=fields[8],
            request_id=fields[9], channel=fields[10], reason=fields[11], details=canon(fields[12]),
        )
        previous = hashchain.next_hash(previous, payload)
        stored_at = at if connection.vendor == "postgresql" else at.replace(tzinfo=None).isoformat(" ")
        batch.append((seq, previous.hex(), stored_at, *fields[1:]))
        if len(batch) == 50_000:
            flush()
    flush()
    ChainHead.objects.create(pk=1, seq=n, chain_hash=previous.hex())
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {table()}")
    checkpoint.make_checkpoint()


def _read_all() -> int:
    """Baseline of verification: stream the same rows through the same cursor, no hashing."""
    from django.db import connection

    from hygie.audit import chain, verify

    count = 0
    with connection.chunked_cursor() as cursor:
        cursor.execute(chain.select_sql(connection.vendor, "seq, chain_hash", "seq > %s", "seq"), [0])
        for _ in verify._stream(cursor):
            count += 1
    return count


def child(backend: str, args: argparse.Namespace, db_url: str) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="hygie-bench-journal-"))
    _setup(tmp, db_url)
    from django.core.management import call_command
    from django.db import connection

    from hygie.audit.verify import verify

    call_command("migrate", verbosity=0)
    out: dict = {"backend": backend}
    # Rounds in alternate order (plain, raw, chained, then chained, raw, plain, …): a machine
    # whose load drifts during the run favours no side. Each figure is the best of its rounds.
    rates: dict[str, list[float]] = {"plain": [], "raw": [], "chained": []}
    for r in range(args.rounds):
        for mode in (["plain", "raw", "chained"] if r % 2 == 0 else ["chained", "raw", "plain"]):
            rates[mode].append(_append(mode, args.writers, args.events, args.sealing))
    out["baseline_eps"], out["raw_eps"], out["chained_eps"] = (max(rates[m]) for m in ("plain", "raw", "chained"))
    out["rounds"] = rates
    out["cpu"] = _CPU
    out["left"] = _LEFT
    report = verify()
    assert report.ok, report.summary()
    _bulk_load(args.verify_events)
    connection.close()
    start = time.perf_counter()
    assert _read_all() == args.verify_events
    out["read_s"] = time.perf_counter() - start
    for jobs, key in ((1, "verify1_s"), (None, "verify_s")):
        connection.close()
        start = time.perf_counter()
        report = verify(jobs=jobs)
        out[key] = time.perf_counter() - start
        assert report.ok and report.events == args.verify_events, report.summary()
    print(json.dumps(out))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--events", type=int, default=1000, help="events per writer")
    parser.add_argument("--verify-events", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=2, help="append rounds, alternate order")
    parser.add_argument("--sealing", choices=["serve", "inline"], default="serve",
                        help="chained writers: a sealer thread per process (hygie serve) or sealing after each commit")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--db-url", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args, args.db_url)
        return

    import psycopg

    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    print(f"writers: {args.writers} × {args.events} events, verify: {args.verify_events} events, "
          f"sealing: {args.sealing}, cpus: {os.cpu_count()}")
    for backend in backends:
        db_url, dbname = "", f"bench_journal_{os.getpid()}"
        if backend == "postgresql":
            with psycopg.connect(args.pg_url, autocommit=True) as admin:
                admin.execute(f"CREATE DATABASE {dbname}")
            db_url = args.pg_url.rsplit("/", 1)[0] + "/" + dbname
        try:
            run = subprocess.run(
                [sys.executable, __file__, "--child", backend, "--db-url", db_url, "--writers", str(args.writers),
                 "--events", str(args.events), "--verify-events", str(args.verify_events),
                 "--rounds", str(args.rounds), "--sealing", args.sealing],
                capture_output=True, text=True, check=False,
            )
        finally:
            if backend == "postgresql":
                with psycopg.connect(args.pg_url, autocommit=True) as admin:
                    admin.execute(f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)")
        if run.returncode != 0:
            print(run.stdout, run.stderr)
            sys.exit(f"{backend}: échec")
        r = json.loads(run.stdout.strip().splitlines()[-1])
        print(f"\n[{backend}]")
        print(f"append, plain inserts (baseline): {r['baseline_eps']:8.0f} events/s")
        print(f"append, raw SQL inserts (ceiling): {r['raw_eps']:8.0f} events/s")
        print(f"append, chained (journal.record):  {r['chained_eps']:8.0f} events/s"
              f"  ratio chained/baseline: {r['chained_eps'] / r['baseline_eps']:.2f}"
              f"  chained/ceiling: {r['chained_eps'] / r['raw_eps']:.2f}")
        rounds = r["rounds"]
        print("rounds (events/s): " + "; ".join(f"{m} " + ", ".join(f"{v:.0f}" for v in rounds[m]) for m in rounds))
        # Each chained round against the ceiling round run next to it (same moment of the machine).
        pairs = [c / w for c, w in zip(rounds["chained"], rounds["raw"], strict=True)]
        print("chained/ceiling per round: " + ", ".join(f"{v:.2f}" for v in pairs)
              + f"  (median {statistics.median(pairs):.2f})")
        # Processor time per event is far less sensitive to a shared machine's load than
        # throughput; when the processor is the limit, the ratio of the totals bounds the
        # throughput ratio (the writers and the server share the same cores).
        for m, per_round in r["cpu"].items():
            print(f"processor time per event, {m}: " + "; ".join(
                f"writers {c:.0f} µs + server {s:.0f} µs = {c + s:.0f} µs" if s > 0 else f"writers {c:.0f} µs"
                for c, s in per_round))
        totals = {m: statistics.median(c + max(s, 0) for c, s in v) for m, v in r["cpu"].items()}
        print(f"processor time ratio ceiling/chained (medians): {totals['raw'] / totals['chained']:.2f}")
        print("chained: events still pending when the last writer ended (sealed within the time): "
              + ", ".join(str(n) for n in r["left"]))
        print(f"read {args.verify_events} rows, 1 stream (baseline): {r['read_s']:6.2f} s")
        print(f"verify, 1 process:                {r['verify1_s']:6.2f} s"
              f"  ratio verify/read: {r['verify1_s'] / r['read_s']:.2f}")
        print(f"verify, default (1 per CPU, ≤ 4): {r['verify_s']:6.2f} s"
              f"  ratio verify/read: {r['verify_s'] / r['read_s']:.2f}")


if __name__ == "__main__":
    main()
