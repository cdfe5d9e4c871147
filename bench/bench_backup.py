"""Backups: Hygie against restic on the same practice, side by side in one run.

Run: .venv/bin/python bench/bench_backup.py [--documents 20000] [--total-mb 2048] [--patients 500]
     [--changed 100] [--rounds 1] [--workdir DIR] [--keep] [--quick]

The `hygie` processes run the code of the tree holding this file (PYTHONPATH), so that a copy
of another commit (`git archive COMMIT | tar -x -C DIR`, this file copied in) measures that commit.

Builds a throwaway practice in a temp dir (its own data dir, key file and checkpoint file,
passed to every `hygie` process through the environment): N patients and D documents of
varied sizes (log-normal, clipped to 5 KB–5 MB, total ≈ --total-mb), PDF-like random bytes
uploaded through `hygie.patients.actions.upload_document`: encrypted blobs, database rows and
journal events exactly as the application writes them. Setup is printed, not measured.

Then, each round, with fresh destinations, each command timed around its subprocess:
1. full backup: `hygie backup run --to DIR` against `restic -r REPO backup DATA_DIR` (repository
   initialised beforehand, not timed; restic's default settings, hence its default compression).
   restic backs up the data dir as files (SQLite file + blobs); Hygie takes its own consistent
   snapshot of the database, then the blobs;
2. no-change backup: both again, nothing changed;
3. small change (--changed N, 0 to skip): N new documents, then a third backup of each;
4. restore: `hygie backup restore DIR --to NEW_DATA_DIR` against `restic -r REPO restore latest
   --target NEW_DIR`, each twice, in the order A B B A (the ratio depended on which side
   restored first after the backups), the mean of the two taken. Every restore is checked:
   the same blobs as the source, every blob the restored database references present with its
   recorded SHA-256, a sample byte-identical.
The Python files of the tree are compiled beforehand (`compileall`, not timed), as an installed
package is: with PYTHONDONTWRITEBYTECODE set (as in the development shells), every `hygie`
process would otherwise compile Hygie's modules again (0.3 to 0.6 s each, measured).
The page cache is dropped before each timed command when the process may (root); either way
the order alternates (Hygie first in one phase, restic first in the next). The N added
documents are removed after each round, so that rounds measure the same data; each restore
phase starts at least 31 s after the last deletion (ext4 without a journal is slow to create
files then). Prints medians over --rounds, ratios Hygie/restic, the goals of issue 5, backup
sizes and throughput. Exit code 0 whatever the figures: this is a measurement. Not part of the
test suite.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import math
import os
import platform
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
HYGIE = str(Path(sys.executable).with_name("hygie"))
RESTIC = shutil.which("restic") or "/usr/bin/restic"
MIN_SIZE, MAX_SIZE = 5 * 1024, 5 * 1024 * 1024
SAMPLE = 200  # blobs compared byte for byte after each restore

PHASES = ("full", "nochange", "changed", "restore")
LABELS = {
    "full": "full backup",
    "nochange": "no-change backup",
    "changed": "small change backup",
    "restore": "restore",
}


# --- Data -------------------------------------------------------------------------------------


def _sizes(rng: random.Random, n: int, total: int) -> list[int]:
    """n sizes, log-normal (sigma 1.2) clipped to [5 KB, 5 MB], rescaled to sum ≈ total."""
    sigma = 1.2
    mu = math.log(total / n) - sigma**2 / 2
    sizes = [rng.lognormvariate(mu, sigma) for _ in range(n)]
    for _ in range(8):  # clipping moves the sum: rescale and clip until it settles
        factor = total / sum(sizes)
        sizes = [min(MAX_SIZE, max(MIN_SIZE, s * factor)) for s in sizes]
    return [int(s) for s in sizes]


def _pdf_like(size: int) -> bytes:
    """A PDF header, then incompressible bytes, as the compressed streams of a scan are."""
    head = b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n"
    return head + os.urandom(max(0, size - len(head)))


def _upload(actor, patients: list, sizes: list[int], rng: random.Random) -> list[int]:
    from hygie.patients.actions import upload_document
    from hygie.patients.models import DocumentKind

    kinds = list(DocumentKind.values)
    ids = []
    for i, size in enumerate(sizes):
        document = upload_document(
            actor=actor,
            patient=patients[i % len(patients)],
            title=f"Document {i}",
            kind=rng.choice(kinds),
            fileobj=io.BytesIO(_pdf_like(size)),
        )
        ids.append(document.pk)
    return ids


def _build(args: argparse.Namespace, rng: random.Random) -> tuple:
    """The practice, its patients and documents, in the data dir set in the environment."""
    from django.db import connection
    from django.utils import timezone

    from hygie.accounts.actions import create_user
    from hygie.core import demo, startup
    from hygie.core.actions import create_practice
    from hygie.patients.actions import DuplicatePatient, create_patient

    startup.ensure_keys()
    startup.prepare_database()
    password = "Tilleul-Vert-2026!"  # a throwaway practice
    create_practice(name="Cabinet de mesure", admin_username="admin", admin_password=password)
    titulaire = create_user(actor=None, username="dr.bench", role="titulaire", password=password,
                            first_name="Claire", last_name="Mesure", profession="Médecin généraliste")  # fmt: skip
    today = timezone.localdate()
    patients = []
    while len(patients) < args.patients:
        try:
            patients.append(create_patient(actor=None, practitioner=titulaire, data=demo._identity(rng, today)))
        except DuplicatePatient:
            continue
    _upload(titulaire, patients, _sizes(rng, args.documents, args.total_mb * 1024 * 1024), rng)
    connection.close()
    return titulaire, patients


def _remove(document_ids: list[int]) -> None:
    from django.db import connection

    from hygie.patients import documents
    from hygie.patients.models import Document

    names = list(Document.objects.filter(pk__in=document_ids).values_list("storage_name", flat=True))
    Document.objects.filter(pk__in=document_ids).delete()
    for name in names:
        documents.delete_blob(name)
    connection.close()


# --- Measuring ------------------------------------------------------------------------------


def _drop_caches() -> bool:
    """Write back, then drop the page cache (root only). True if dropped."""
    os.sync()
    try:
        with open("/proc/sys/vm/drop_caches", "w") as fh:
            fh.write("3\n")
    except OSError:
        return False
    return True


def _run(cmd: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"échec : {' '.join(cmd)}\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return result


LOADS: list[float] = []  # 1-minute load average before each timed command

# ext4 without a journal (this machine's disk) skips, when it allocates an inode, every inode freed
# in the last 30 s, reading its inode table block for each: creating 2,000 files right after
# deleting 4,000 took 1.1 s (0.25 s of system time) here, 0.28 s (0.06 s) 31 s later. Whichever
# restore came first paid for the files the round before (or the run before) had just deleted.
# Each restore phase starts at least 31 s after this program's last deletion (or its start).
SETTLE = 31.0
DELETED = [time.monotonic()]


def _settle() -> None:
    wait = DELETED[0] + SETTLE - time.monotonic()
    if wait > 0:
        print(f"  waiting {wait:.0f} s: files deleted less than 30 s ago slow down file creation (ext4)", flush=True)
        time.sleep(wait)


def _timed(cmd: list[str], env: dict[str, str], drop: bool) -> float:
    LOADS.append(os.getloadavg()[0])
    if drop:
        _drop_caches()
    start = time.perf_counter()
    _run(cmd, env)
    return time.perf_counter() - start


def _tree_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def _blobs(documents_dir: Path) -> dict[str, Path]:
    return {p.name: p for p in documents_dir.iterdir() if p.is_file() and not p.name.startswith(".")}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _check_restore(label: str, data_dir: Path, source: dict[str, Path], rng: random.Random) -> None:
    """Same blobs as the source; every blob the restored database references, with its hash;
    a sample byte-identical to the source."""
    restored = _blobs(data_dir / "documents")
    if set(restored) != set(source):
        lost, extra = len(set(source) - set(restored)), len(set(restored) - set(source))
        sys.exit(f"{label} : {len(restored)} blobs restaurés, {len(source)} à la source "
                 f"({lost} manquants, {extra} en trop)")  # fmt: skip
    db = sqlite3.connect(f"file:{data_dir / 'hygie.sqlite3'}?mode=ro", uri=True)
    try:
        rows = dict(db.execute("SELECT storage_name, sha256 FROM patients_document").fetchall())
    finally:
        db.close()
    missing = set(rows) - set(restored)
    if missing:
        sys.exit(f"{label} : {len(missing)} blobs référencés par la base restaurée sont absents")
    for name in rng.sample(sorted(rows), min(SAMPLE, len(rows))):
        if _sha256(restored[name]) != rows[name] or restored[name].read_bytes() != source[name].read_bytes():
            sys.exit(f"{label} : blob {name} différent de la source")


def _round(n: int, args: argparse.Namespace, work: Path, env: dict, restic_env: dict, drop: bool, rng, actor,
           patients) -> dict:  # fmt: skip
    data_dir = Path(env["HYGIE_DATA_DIR"])
    out = work / f"round-{n}"
    hygie_dir, repo = out / "hygie", out / "restic-repo"
    hygie_dir.mkdir(parents=True)
    _run([RESTIC, "-r", str(repo), "init"], restic_env)
    source_bytes, source_blobs = _tree_bytes(data_dir), len(_blobs(data_dir / "documents"))
    times: dict[str, tuple[float, float]] = {}
    sizes: dict[str, tuple[int, int]] = {}

    def both(phase: str, hygie_cmd: list[str], restic_cmd: list[str], index: int) -> None:
        runs = [("h", hygie_cmd, env), ("r", restic_cmd, restic_env)]
        if (index + n) % 2:
            runs.reverse()
        got = {who: _timed(cmd, e, drop) for who, cmd, e in runs}
        times[phase] = (got["h"], got["r"])
        print(f"  round {n}, {LABELS[phase]}: Hygie {got['h']:.2f} s, restic {got['r']:.2f} s "
              f"({'Hygie' if runs[0][0] == 'h' else 'restic'} first)", flush=True)  # fmt: skip

    backup_h = [HYGIE, "backup", "run", "--to", str(hygie_dir)]
    backup_r = [RESTIC, "-r", str(repo), "backup", str(data_dir)]
    both("full", backup_h, backup_r, 0)
    sizes["full"] = (_tree_bytes(hygie_dir), _tree_bytes(repo))
    both("nochange", backup_h, backup_r, 1)
    sizes["nochange"] = (_tree_bytes(hygie_dir), _tree_bytes(repo))
    added: list[int] = []
    if args.changed:
        added = _upload(actor, patients, _sizes(rng, args.changed, args.changed * args.total_mb * 1024 * 1024
                                                 // args.documents), rng)  # fmt: skip
        from django.db import connection

        connection.close()
        both("changed", backup_h, backup_r, 2)
        sizes["changed"] = (_tree_bytes(hygie_dir), _tree_bytes(repo))
    _settle()
    # Each side restores twice, in the order A B B A (A: the side that goes first in this round):
    # the ratio depends on which side restores first after the backups (Hygie/restic going
    # first, then second: 1.13× and 1.01× at 2 GB, commit b5517e6; 1.21× and 0.92× at 213 MB,
    # 4f366b2), so a single pair per round would favour one side. Time: mean of the two.
    order = ["h", "r"] if (3 + n) % 2 == 0 else ["r", "h"]
    restored: dict[str, list[tuple[Path, float]]] = {"h": [], "r": []}
    for who in order + order[::-1]:
        dest = out / f"{'hygie' if who == 'h' else 'restic'}-restore-{len(restored[who]) + 1}"
        if who == "h":
            cmd, cmd_env = [HYGIE, "backup", "restore", str(hygie_dir), "--to", str(dest)], env
        else:
            cmd, cmd_env = [RESTIC, "-r", str(repo), "restore", "latest", "--target", str(dest)], restic_env
        restored[who].append((dest, _timed(cmd, cmd_env, drop)))
    times["restore"] = tuple(statistics.mean(t for _, t in restored[who]) for who in ("h", "r"))
    print(f"  round {n}, {LABELS['restore']} (order {' '.join(order + order[::-1])}, h: Hygie, r: restic): "
          f"Hygie {restored['h'][0][1]:.2f} and {restored['h'][1][1]:.2f} s, "
          f"restic {restored['r'][0][1]:.2f} and {restored['r'][1][1]:.2f} s", flush=True)  # fmt: skip
    source = _blobs(data_dir / "documents")
    for dest, _ in restored["h"]:
        _check_restore("Hygie", dest, source, rng)
    for dest, _ in restored["r"]:
        _check_restore("restic", dest / data_dir.relative_to(data_dir.anchor), source, rng)
    print(f"  round {n}: all four restores complete ({len(source)} blobs, {SAMPLE} compared byte for byte)")
    if added:
        _remove(added)
    if not args.keep:
        shutil.rmtree(out)
    DELETED[0] = time.monotonic()
    return {"times": times, "sizes": sizes, "source_bytes": source_bytes, "blobs": source_blobs}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--documents", type=int, default=20_000)
    parser.add_argument("--total-mb", type=int, default=2048)
    parser.add_argument("--patients", type=int, default=500)
    parser.add_argument("--changed", type=int, default=100, help="documents added before the third backup (0: none)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--workdir", help="an empty or new directory (default: a new one under /tmp)")
    parser.add_argument("--keep", action="store_true", help="keep the practice, backups and restores")
    parser.add_argument("--quick", action="store_true", help="2,000 documents, 200 MB, 100 patients")
    args = parser.parse_args()
    if args.quick:
        args.documents, args.total_mb, args.patients = 2000, 200, 100

    if args.workdir:
        work = Path(args.workdir).resolve()
        if work.exists() and any(work.iterdir()):
            sys.exit(f"{work} n'est pas vide")
        work.mkdir(parents=True, exist_ok=True)
    else:
        work = Path(tempfile.mkdtemp(prefix="hygie-bench-backup-", dir="/tmp"))
    keys = work / "keys"
    keys.mkdir(mode=0o700)
    os.environ.update(
        HYGIE_ENV="production",
        HYGIE_DATA_DIR=str(work / "var"),
        HYGIE_KEY_FILE=str(keys / "keys.json"),
        HYGIE_CHECKPOINT_FILE=str(keys / "journal-checkpoints.jsonl"),
        HYGIE_DATABASE_URL="",
        HYGIE_BACKUP_RECIPIENTS="",
        DJANGO_SETTINGS_MODULE="hygie.settings",
        # The `hygie` processes run the code of the tree holding this file, not the installed one.
        PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p),
    )
    env = dict(os.environ)
    # As installed: bytecode compiled once (the __pycache__ folders are ignored by git).
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "hygie")], check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    restic_env = {**env, "RESTIC_PASSWORD": "bench", "RESTIC_CACHE_DIR": str(work / "restic-cache")}
    restic_version = _run([RESTIC, "version"], restic_env).stdout.strip()
    drop = _drop_caches()

    try:
        import django

        django.setup()
        rng = random.Random(5)
        print(f"Building the practice in {work}: {args.patients} patients, {args.documents} documents, "
              f"≈ {args.total_mb} MB…", flush=True)  # fmt: skip
        start = time.perf_counter()
        actor, patients = _build(args, rng)
        data_dir = Path(env["HYGIE_DATA_DIR"])
        db_mb = (data_dir / "hygie.sqlite3").stat().st_size / 1e6
        print(f"Setup: {time.perf_counter() - start:.0f} s (not measured); data dir "
              f"{_tree_bytes(data_dir) / 1e6:.0f} MB, database {db_mb:.1f} MB", flush=True)  # fmt: skip
        results = [
            _round(n, args, work, env, restic_env, drop, rng, actor, patients) for n in range(1, args.rounds + 1)
        ]
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    _report(args, results, restic_version, drop, work)


def _report(args, results: list[dict], restic_version: str, drop: bool, work: Path) -> None:
    def med(phase: str, i: int) -> float:
        return statistics.median(r["times"][phase][i] for r in results)

    source_mb = statistics.median(r["source_bytes"] for r in results) / 1e6
    print()
    print(f"{restic_version}; Python {platform.python_version()}; {os.cpu_count()} CPUs; 1-minute load "
          f"average before the timed commands: {min(LOADS):.1f} to {max(LOADS):.1f}, "
          f"median {statistics.median(LOADS):.1f}")  # fmt: skip
    print(f"code: {ROOT}; data: {results[0]['blobs']} blobs + database, {source_mb:.0f} MB "
          f"(+{args.changed} documents before the third backup); rounds: {args.rounds} (medians)")  # fmt: skip
    cache = "dropped before every timed command" if drop else "NOT dropped (not root)"
    print(f"page cache: {cache}; order alternates by phase (Hygie first, then restic first, …); restores A B B A")
    goals = {
        "full": ("≤ 1.0× restic", lambda h, r: h <= r),
        "nochange": ("< 5 s", lambda h, r: h < 5),
        "changed": ("–", None),
        "restore": ("≤ 1.0× restic", lambda h, r: h <= r),
    }
    rows = [("phase", "Hygie s", "restic s", "Hygie/restic", "per round", "goal", "met?")]
    for phase in PHASES:
        if phase not in results[0]["times"]:
            continue
        h, r = med(phase, 0), med(phase, 1)
        goal, test = goals[phase]
        label = LABELS[phase] + (f" (+{args.changed} docs)" if phase == "changed" else "")
        ratios = [res["times"][phase][0] / res["times"][phase][1] for res in results]
        rows.append((label, f"{h:.2f}", f"{r:.2f}", f"{h / r:.2f}", f"{min(ratios):.2f}–{max(ratios):.2f}", goal,
                     "–" if test is None else ("YES" if test(h, r) else "NO")))  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for i, row in enumerate(rows):
        print(" | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
        if i == 0:
            print("-+-".join("-" * w for w in widths))
    print()
    for phase in ("full", "restore"):
        h, r = med(phase, 0), med(phase, 1)
        print(f"throughput, {LABELS[phase]}: Hygie {source_mb / h:.0f} MB/s, restic {source_mb / r:.0f} MB/s")
    for phase in ("full", "nochange", "changed"):
        if phase in results[0]["sizes"]:
            size_h = statistics.median(res["sizes"][phase][0] for res in results) / 1e6
            size_r = statistics.median(res["sizes"][phase][1] for res in results) / 1e6
            print(f"size on disk after the {LABELS[phase]}: Hygie {size_h:.0f} MB, restic repository {size_r:.0f} MB")
    if args.keep:
        print(f"kept: {work}")


if __name__ == "__main__":
    main()
