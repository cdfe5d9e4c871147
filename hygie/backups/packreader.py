"""A pack of a backup in a folder read by a child process: decrypted, checked and (for a restore) written
there, so that the packs of one restore use every core.

Why. In one process the packs read side by side share one interpreter: decryption, hashing and
the system's copies release the global lock, but the Python around each member (tar headers,
names, sinks, hand-over to the writer threads) does not, and a restore of 2 GB (20,000
documents in 9 packs) kept about one core busy out of two, where restic keeps ~1.5. A child per
pack has an interpreter of its own. It imports this module, hygie.lib.backuparchive and the
folder store only (no Django: ~0.1 s of processor to start), reads the pack as the parent would
(DirectoryStore.reader), writes the members under
the same folder as the parent would, and hands back what `backuparchive.read` returns: the
members' sizes and hashes, the manifest and its signature, which the parent checks as before
(the signature against the practice's key, each document against the snapshot). Nothing else
crosses: the decrypted bytes never go through a pipe.

The conversation, over the child's standard streams:
- stdin, one JSON object, then closed: the folder and the pack's name, its label for messages, the folder to
  write under (or none: check only), the names to write, the backup identity (a secret: never
  on a command line, which other users of the machine can read in /proc);
- stdout, lines: `P <bytes>` as members are read (progress, every 4 MiB at most), then one
  `R <json>`: the outcome, `{"checked": …}`, `{"archive": message}` (ArchiveError, French),
  `{"store": message}` (StoreError: the pack missing or unreadable) or `{"os": [errno,
  strerror, filename]}` (a disk full while writing): each raised again in the parent as the
  same class with the same message, as if read in-process.
Anything else (the child killed, a bug) is an ArchiveError naming the pack; the child is killed
if the parent stops waiting for it (an exception, Ctrl+C). What the child wrote stays where it
is, each member complete or absent, as in-process: the restore removes its target on failure.
"""

from __future__ import annotations

import base64
import gc
import json
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Collection
from pathlib import Path
from typing import Any

from hygie.backups.stores import StoreError
from hygie.backups.stores.directory import DirectoryStore
from hygie.lib import backuparchive
from hygie.lib.backuparchive import ArchiveError, Checked, Progress

# Progress is reported by the child at most every this many bytes (one line, one wake-up of
# the parent's thread).
PROGRESS_STEP = 4 * 1024 * 1024


def read_in_child(
    store: DirectoryStore,
    name: str,
    identity: str,
    *,
    label: str,
    extract_to: Path | None,
    names: Collection[str],
    progress: Progress,
) -> Checked:
    """`backuparchive.read(store.reader(name), identity, label=…, extract_to=…, select=names)`
    run by a child process; same result, same errors (StoreError, ArchiveError, OSError)."""
    request = json.dumps({
        "root": str(store.root),
        "name": name,
        "label": label,
        "extract_to": str(extract_to) if extract_to is not None else None,
        "names": sorted(names),
        "identity": identity,
    }).encode()
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(  # noqa: S603 - this interpreter, our own module
            _command(),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors,
        )
        outcome: dict[str, Any] | None = None
        try:
            assert proc.stdin is not None and proc.stdout is not None
            try:
                proc.stdin.write(request)
                proc.stdin.close()
            except BrokenPipeError:  # died at start: reported below
                pass
            for line in proc.stdout:
                tag, _, body = line.partition(b" ")
                if tag == b"P":
                    progress(int(body))
                elif tag == b"R":
                    outcome = json.loads(body)
            proc.wait()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    if outcome is None:
        raise ArchiveError(f"Sauvegarde {label} : lecture interrompue (processus de lecture arrêté).")
    if "archive" in outcome:
        raise ArchiveError(outcome["archive"])
    if "store" in outcome:
        raise StoreError(outcome["store"])
    if "os" in outcome:
        number, message, filename = outcome["os"]
        raise OSError(number, message, filename)
    checked = outcome["checked"]
    manifest_raw = base64.b64decode(checked["manifest_raw"])
    return Checked(
        backuparchive.parse_manifest(label, manifest_raw),
        manifest_raw,
        base64.b64decode(checked["signature"]),
        {name: (int(size), str(sha)) for name, (size, sha) in checked["members"].items()},
    )


def _command() -> list[str]:
    # -P: not the current folder first on the module path; the same interpreter and environment
    # (PYTHONPATH included) as this process.
    return [sys.executable, "-P", "-m", __name__]


def _child() -> int:
    gc.disable()  # a short life, few objects kept: the collector would only slow it down
    request = json.loads(sys.stdin.buffer.read())
    out = sys.stdout.buffer
    lock = threading.Lock()
    unreported = 0

    def say(tag: bytes, body: bytes) -> None:
        with lock:
            out.write(tag + b" " + body + b"\n")
            out.flush()

    def progress(n: int) -> None:  # called by the writer threads
        nonlocal unreported
        with lock:
            unreported += n
            if unreported < PROGRESS_STEP:
                return
            n, unreported = unreported, 0
            out.write(b"P %d\n" % n)
            out.flush()

    extract_to = request["extract_to"]
    outcome: dict[str, Any]
    try:
        with DirectoryStore(request["root"]).reader(request["name"]) as fh:
            checked = backuparchive.read(
                fh,
                request["identity"],
                label=request["label"],
                extract_to=Path(extract_to) if extract_to is not None else None,
                select=frozenset(request["names"]).__contains__,
                progress=progress,
            )
    except ArchiveError as exc:
        outcome = {"archive": str(exc)}
    except StoreError as exc:
        outcome = {"store": str(exc)}
    except OSError as exc:
        outcome = {"os": [exc.errno, exc.strerror, exc.filename]}
    else:
        outcome = {"checked": {
            "manifest_raw": base64.b64encode(checked.manifest_raw).decode(),
            "signature": base64.b64encode(checked.signature).decode(),
            "members": checked.members,
        }}
    if unreported:
        say(b"P", b"%d" % unreported)
    say(b"R", json.dumps(outcome).encode())
    return 0


if __name__ == "__main__":
    code = _child()
    sys.stdout.flush()
    os._exit(code)  # no interpreter teardown: nothing left to release, and it is not free
