"""The packs of a backup in a folder read by child processes: decrypted, checked and (for a
restore) written there, so that the packs of one restore use every core.

Why. In one process the packs read side by side share one interpreter: decryption, hashing and
the system's copies release the global lock, but the Python around each member (tar headers,
names, sinks, hand-over to the writer threads) does not, and a restore of 2 GB (20,000
documents in 9 packs) kept about one core busy out of two, where restic keeps ~1.5. Each child
has an interpreter of its own. It imports this module, hygie.lib.backuparchive and the folder
store only (no Django: ~0.1 s of processor to start), opens a pack as the parent would
(DirectoryStore.reader), decrypts it from a memory mapping of the file (`_mapped`: no copy of
its bytes into a buffer first; a file that shrinks under the mapping kills the child with
SIGBUS, reported like any child that dies), writes its members under the same folder as the
parent would, and hands back what `backuparchive.read` returns: the members' sizes and hashes,
the manifest and its signature, which the parent checks as before (the signature against the
practice's key, each document against the snapshot). The decrypted bytes never go through a
pipe.

The conversation, over the child's standard streams, one pack after the other:
- stdin, one JSON object per line and pack: the folder and the pack's name, its label for
  messages, the folder to write under (or none: check only), the names to write, the backup
  identity (a secret: never on a command line, which other users of the machine can read in
  /proc); closed when there is nothing more to read: the child ends;
- stdout, lines: `P <bytes>` as members are read (progress, every 4 MiB at most), then one
  `R <json>` per pack: `{"checked": …}`, `{"archive": message}` (ArchiveError, French),
  `{"store": message}` (StoreError: the pack missing or unreadable) or `{"os": [errno,
  strerror, filename]}` (a disk full while writing): each raised again in the parent as the
  same class with the same message, as if read in-process.
Anything else (the child killed, a bug: its traceback goes to the parent's standard error) is an
ArchiveError naming the pack; the child is killed if the parent stops waiting for it (an
exception, Ctrl+C), and so is one that outlives its parent at its next progress line (a broken
pipe). What a child wrote stays where it is, each member complete or absent, as in-process: the
restore removes its target on failure.
"""

from __future__ import annotations

import base64
import contextlib
import gc
import json
import mmap
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from hygie.backups.stores import StoreError
from hygie.backups.stores.directory import DirectoryStore
from hygie.lib import backuparchive
from hygie.lib.backuparchive import ArchiveError, Checked, Progress

# Progress is reported by the child at most every this many bytes (one line, one wake-up of
# the parent's thread).
PROGRESS_STEP = 4 * 1024 * 1024
# A child asked to stop (its stdin closed) is killed if it has not ended after this long.
STOP_SECONDS = 5.0


class Readers:
    """Child processes reading packs, one pack at a time each, each kept for the next pack (a
    start costs ~0.1 s of processor: 9 packs, 9 starts, ~10 % of a restore's processor time).
    As many children as packs are read at once, at most; a child that fails to answer is
    killed and replaced. `close` (or leaving the `with` block) ends them all."""

    def __init__(self) -> None:
        self._idle: queue.SimpleQueue[subprocess.Popen[bytes]] = queue.SimpleQueue()
        self._started: list[subprocess.Popen[bytes]] = []
        self._lock = threading.Lock()

    def __enter__(self) -> Readers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def read(
        self,
        store: DirectoryStore,
        name: str,
        identity: str,
        *,
        label: str,
        extract_to: Path | None,
        names: Collection[str],
        progress: Progress,
    ) -> Checked:
        """`backuparchive.read(store.reader(name), identity, label=…, extract_to=…,
        select=names)` run by a child process; same result, same errors (StoreError,
        ArchiveError, OSError)."""
        request = json.dumps({
            "root": str(store.root),
            "name": name,
            "label": label,
            "extract_to": str(extract_to) if extract_to is not None else None,
            "names": sorted(names),
            "identity": identity,
        }).encode()
        proc = self._take()
        outcome = None
        try:
            outcome = _ask(proc, request, progress)
        finally:
            if outcome is not None:
                self._idle.put(proc)
            else:  # dead, or stopped mid-answer (an exception here, Ctrl+C): not reused
                _end(proc, kill=True)
        if outcome is None:
            raise ArchiveError(f"Sauvegarde {label} : lecture interrompue (processus de lecture arrêté).")
        return _result(label, outcome)

    def close(self) -> None:
        with self._lock:
            started, self._started = self._started, []
        for proc in started:
            _end(proc, kill=False)

    def _take(self) -> subprocess.Popen[bytes]:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        proc = subprocess.Popen(  # noqa: S603 - this interpreter, our own module
            _command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        with self._lock:
            self._started.append(proc)
        return proc


def _ask(proc: subprocess.Popen[bytes], request: bytes, progress: Progress) -> dict[str, Any] | None:
    """One request to a child and its answer; None if the child died or broke off."""
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write(request + b"\n")
        proc.stdin.flush()
    except (BrokenPipeError, ValueError):  # died (or already closed): reported by the caller
        return None
    for line in proc.stdout:
        tag, _, body = line.partition(b" ")
        if tag == b"P":
            progress(int(body))
        elif tag == b"R":
            outcome: dict[str, Any] = json.loads(body)
            return outcome
    return None


def _end(proc: subprocess.Popen[bytes], *, kill: bool) -> None:
    """Ask a child to stop (its stdin closed: it ends after the pack under way), or kill it."""
    if proc.poll() is None:
        if kill:
            proc.kill()
        else:
            with contextlib.suppress(OSError):
                assert proc.stdin is not None
                proc.stdin.close()
            try:
                proc.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                proc.kill()
    proc.wait()
    for stream in (proc.stdin, proc.stdout):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()


def _result(label: str, outcome: dict[str, Any]) -> Checked:
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
    """Read packs as asked on stdin, one request per line, until stdin closes."""
    gc.disable()  # few objects kept from one pack to the next: the collector would only slow it down
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

    for line in sys.stdin.buffer:
        outcome = _read_one(json.loads(line), progress)
        if unreported:
            say(b"P", b"%d" % unreported)
            unreported = 0
        say(b"R", json.dumps(outcome).encode())
    return 0


def _read_one(request: dict[str, Any], progress: Progress) -> dict[str, Any]:
    extract_to = request["extract_to"]
    try:
        with DirectoryStore(request["root"]).reader(request["name"]) as fh, _mapped(fh) as source:
            checked = backuparchive.read(
                source,
                request["identity"],
                label=request["label"],
                extract_to=Path(extract_to) if extract_to is not None else None,
                select=frozenset(request["names"]).__contains__,
                progress=progress,
            )
    except ArchiveError as exc:
        return {"archive": str(exc)}
    except StoreError as exc:
        return {"store": str(exc)}
    except OSError as exc:
        return {"os": [exc.errno, exc.strerror, exc.filename]}
    return {"checked": {
        "manifest_raw": base64.b64encode(checked.manifest_raw).decode(),
        "signature": base64.b64encode(checked.signature).decode(),
        "members": checked.members,
    }}


@contextlib.contextmanager
def _mapped(fh: BinaryIO) -> Iterator[BinaryIO | mmap.mmap]:
    """The pack mapped in memory, decrypted from there (hygie.lib.agedecrypt: no copy of its
    bytes into a buffer first); the file itself when it cannot be mapped (empty, or a file
    system that does not map). Only here, in a child: should the file shrink while mapped, the
    child dies of SIGBUS and its parent reports the pack unreadable."""
    try:
        mapped = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):
        yield fh
        return
    try:
        with contextlib.suppress(OSError):
            mapped.madvise(mmap.MADV_SEQUENTIAL)
        yield mapped
    finally:
        # A view may still be held by an exception's traceback: the mapping goes with it then.
        with contextlib.suppress(BufferError):
            mapped.close()


if __name__ == "__main__":
    code = _child()
    sys.stdout.flush()
    os._exit(code)  # no interpreter teardown: nothing left to release, and it is not free
