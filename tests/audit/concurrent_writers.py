"""Run as a script by test_concurrency on SQLite: the test database is in memory there, which
other processes cannot open, so this builds a real file database with the production settings
(WAL, BEGIN IMMEDIATE) and appends from threads and processes at once.

    python tests/audit/concurrent_writers.py DATA_DIR THREADS PROCESSES EVENTS
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _setup(data_dir: str) -> None:
    keys = str(Path(data_dir).parent / "keys.json")
    os.environ.update(HYGIE_ENV="test", HYGIE_DATA_DIR=data_dir, HYGIE_KEY_FILE=keys)
    os.environ.pop("HYGIE_DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hygie.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _write(events: int) -> None:
    from django.db import connections

    from hygie.audit import journal
    from hygie.audit.events import Ev

    for i in range(events):
        journal.record(Ev.PATIENT_VIEWED, patient_id=i, details={"writer": threading.get_ident() % 1000})
    connections.close_all()


def main() -> None:
    data_dir, threads, processes, events = sys.argv[1], *map(int, sys.argv[2:5])
    if os.environ.get("WRITER_ONLY"):
        _setup(data_dir)
        _write(events)
        return
    _setup(data_dir)
    from django.core.management import call_command

    from hygie.audit.models import Event
    from hygie.audit.verify import verify
    from hygie.lib import keyfile

    keyfile.load_or_create(Path(os.environ["HYGIE_KEY_FILE"]))
    call_command("migrate", verbosity=0)
    procs = [
        subprocess.Popen([sys.executable, __file__, *sys.argv[1:]], env={**os.environ, "WRITER_ONLY": "1"})
        for _ in range(processes)
    ]
    workers = [threading.Thread(target=_write, args=(events,)) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    if any(p.wait() != 0 for p in procs):
        sys.exit("un processus d'écriture a échoué")
    expected = (threads + processes) * events
    seqs = list(Event.objects.order_by("seq").values_list("seq", flat=True))
    report = verify()
    print(report.summary())
    sys.exit(0 if report.ok and seqs == list(range(1, expected + 1)) else 1)


if __name__ == "__main__":
    main()
