"""Small secret files written once: a backup identity, the journal signing key."""

from __future__ import annotations

import os
import stat
from pathlib import Path


def write_new(path: Path, text: str) -> bool:
    """Write `text` to `path`, readable by the owner only (0600, parent created 0700), unless a
    file is already there: then nothing is written and False is returned.

    Written to a temporary file, synced, then hard-linked into place: a second process racing
    us ends up with the file of whoever linked first, and no reader ever sees half a file."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
    finally:
        tmp.unlink(missing_ok=True)
    return True
