"""Memory and time of an encrypted archive (.7z, AES-256, encrypted headers) of a large record.

Run: .venv/bin/python bench/bench_exchange.py [--mb 200] [--documents 4] [--rounds 2]

One patient with documents of `--mb` in all (random bytes behind a PDF header: incompressible,
like scans), stored encrypted as Hygie stores them. Each measure runs in a fresh child process
(its maximum RSS is its own):
  - stream:    hygie.exchange.actions.write_archive, as the page and the CLI do (each document
               decrypted while py7zr reads it);
  - in-memory: the reference a naive implementation would be: every document read whole, then
               py7zr's writestr (same filters, same passphrase length).
The order alternates each round; the best of each is kept; the ratios are printed. Also the
Python allocation peak of the stream run (tracemalloc) and the archive's size. Not part of the
test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _django(tmp: Path) -> None:
    os.environ.update(HYGIE_ENV="test", HYGIE_DATA_DIR=str(tmp / "var"), HYGIE_KEY_FILE=str(tmp / "keys.json"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hygie.settings")
    import django

    django.setup()


def setup(tmp: Path, mb: int, count: int) -> None:
    from hygie.lib import keyfile

    keyfile.create(tmp / "keys.json")
    _django(tmp)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from hygie.access.policy import Role
    from hygie.accounts.models import User
    from hygie.patients import actions

    alice = User.objects.create(username="alice", role=Role.TITULAIRE)
    patient = actions.create_patient(
        actor=alice, practitioner=alice,
        data={"birth_name": "Banc", "first_names": "Essai", "birth_date": date(1970, 1, 1), "sex": "F"},
    )
    size = mb * 1024 * 1024 // count
    chunk = 1024 * 1024

    class Random:
        def __init__(self) -> None:
            self.left = size
            self.first = True

        def read(self, n: int = -1) -> bytes:
            if self.left <= 0:
                return b""
            n = min(chunk if n < 0 else n, self.left)
            data = (b"%PDF-1.4\n" + os.urandom(n - 9)) if self.first else os.urandom(n)
            self.first = False
            self.left -= len(data)
            return data

    for i in range(count):
        actions.upload_document(actor=alice, patient=patient, title=f"Scan {i}", kind="autre", fileobj=Random())


def child(tmp: Path, mode: str) -> dict[str, float]:
    import tracemalloc

    _django(tmp)
    from django.conf import settings

    settings.UPLOAD_MAX_MB = 100_000
    from hygie.access import records
    from hygie.accounts.models import User
    from hygie.exchange import actions, content
    from hygie.lib import exchange as rules
    from hygie.lib import sevenzip

    alice = User.objects.get(username="alice")
    patient = records.patient_scope(alice).get()
    selection = content.Selection(patient=patient, documents=list(records.documents_of(alice, patient)))
    out = tmp / f"{mode}-{time.monotonic_ns()}.7z"
    tracemalloc.start()
    start = time.perf_counter()
    if mode == "stream":
        actions.write_archive(actor=alice, selection=selection, out=out)
    else:
        import py7zr

        items = content.items(selection)
        blobs = []
        for item in items:
            with item.open() as fh:
                blobs.append((item.name, fh.read()))
        with py7zr.SevenZipFile(out, "w", password=rules.new_passphrase(), header_encryption=True,
                                filters=sevenzip.FILTERS) as archive:
            for name, data in blobs:
                archive.writestr(data, name)
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    size = out.stat().st_size
    out.unlink()
    return {
        "seconds": seconds,
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "tracemalloc_peak_mb": peak / 1024 / 1024,
        "archive_mb": size / 1024 / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--documents", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--child", choices=["stream", "in-memory"])
    parser.add_argument("--dir")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(Path(args.dir), args.child)))
        return
    tmp = Path(tempfile.mkdtemp(prefix="hygie-bench-exchange-"))
    try:
        _compare(tmp, args)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _compare(tmp: Path, args: argparse.Namespace) -> None:
    setup(tmp, args.mb, args.documents)
    results: dict[str, list[dict[str, float]]] = {"stream": [], "in-memory": []}
    for n in range(args.rounds):
        order = ["stream", "in-memory"] if n % 2 == 0 else ["in-memory", "stream"]
        for mode in order:
            run = subprocess.run(
                [sys.executable, __file__, "--child", mode, "--dir", str(tmp)],
                capture_output=True, text=True, check=True,
            )
            results[mode].append(json.loads(run.stdout.strip().splitlines()[-1]))
    best = {mode: {k: min(r[k] for r in runs) for k in runs[0]} for mode, runs in results.items()}
    print(f"{args.mb} Mo en {args.documents} documents chiffrés, {args.rounds} tours (meilleur de chaque) :")
    for mode, b in best.items():
        print(
            f"  {mode:10s} RSS max {b['max_rss_mb']:7.1f} Mo   tracemalloc {b['tracemalloc_peak_mb']:7.1f} Mo   "
            f"{b['seconds']:6.1f} s   archive {b['archive_mb']:.1f} Mo"
        )
    s, m = best["stream"], best["in-memory"]
    print(f"  ratio stream / in-memory : RSS {s['max_rss_mb'] / m['max_rss_mb']:.2f}, "
          f"temps {s['seconds'] / m['seconds']:.2f}")


if __name__ == "__main__":
    main()
