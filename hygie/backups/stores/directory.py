"""A local or removable directory as a backup target."""

from __future__ import annotations

import contextlib
import errno
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from hygie.backups.stores import StoreError

PARTIAL = ".partial"


def _fsync_dir(directory: Path) -> None:
    if os.name == "nt":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def disk_error(exc: OSError, where: str) -> StoreError:
    if exc.errno == errno.ENOSPC:
        return StoreError(
            f"Disque plein : la sauvegarde ne tient pas dans {where}. "
            "L'archive incomplète a été supprimée ; libérez de la place ou choisissez un autre support."
        )
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return StoreError(f"Écriture impossible dans {where} : droits insuffisants ou support en lecture seule.")
    return StoreError(f"Écriture impossible dans {where} ({exc.strerror}). L'archive incomplète a été supprimée.")


class DirectoryStore:
    # Several files may be read at once (a restore reads packs side by side).
    parallel_reads = True
    def __init__(self, path: Path | str) -> None:
        self.root = Path(path).expanduser()
        self.label = f"dossier {self.root}"

    def check(self) -> None:
        if not self.root.is_dir():
            raise StoreError(
                f"Dossier de destination introuvable : {self.root}. Branchez le support ou créez le dossier."
            )
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise StoreError(f"Dossier de destination non accessible en écriture : {self.root}.")

    def _path(self, name: str) -> Path:
        parts = Path(name).parts
        if not parts or name.startswith("/") or ".." in parts or any(p.startswith(".") for p in parts):
            raise StoreError(f"Nom de fichier de sauvegarde invalide : {name}")
        return self.root.joinpath(*parts)

    def list(self) -> dict[str, int]:
        self.check()
        found: dict[str, int] = {}
        for path in self.root.rglob("*"):
            rel = path.relative_to(self.root)
            if any(p.startswith(".") for p in rel.parts) or not path.is_file():
                continue
            found[rel.as_posix()] = path.stat().st_size
        return found

    @contextlib.contextmanager
    def writer(self, name: str) -> Iterator[BinaryIO]:
        final = self._path(name)
        if final.exists():
            raise StoreError(f"{self.label} : {name} existe déjà.")
        final.parent.mkdir(parents=True, exist_ok=True)
        partial = final.with_name(f".{final.name}{PARTIAL}")
        try:
            out = open(partial, "xb")  # noqa: SIM115 - closed below, after fsync
        except OSError as exc:
            raise disk_error(exc, str(self.root)) from None
        try:
            yield out  # type: ignore[misc]
            out.flush()
            os.fsync(out.fileno())
            out.close()
            os.chmod(partial, 0o600)
            os.replace(partial, final)
            _fsync_dir(final.parent)
        except OSError as exc:
            out.close()
            partial.unlink(missing_ok=True)
            raise disk_error(exc, str(self.root)) from None
        except BaseException:
            out.close()
            partial.unlink(missing_ok=True)
            raise

    @contextlib.contextmanager
    def reader(self, name: str) -> Iterator[BinaryIO]:
        try:
            fh = open(self._path(name), "rb")  # noqa: SIM115 - closed below
        except FileNotFoundError:
            raise StoreError(f"Sauvegarde introuvable : {self._path(name)}.") from None
        except OSError as exc:
            raise StoreError(f"Lecture impossible de {self._path(name)} ({exc.strerror}).") from None
        # An archive is read from start to end: told so, Linux reads twice as far ahead. Measured
        # (3 packs of 270 MB restored side by side, page cache dropped, 7 alternations on a loaded
        # machine): 0.72 s of system time instead of 1.02 s, 2.36 s instead of 3.14 s (medians).
        if hasattr(os, "posix_fadvise"):
            with contextlib.suppress(OSError):
                os.posix_fadvise(fh.fileno(), 0, 0, os.POSIX_FADV_SEQUENTIAL)
        with fh:
            yield fh

    def delete(self, name: str) -> None:
        try:
            self._path(name).unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise StoreError(f"Suppression impossible de {self._path(name)} ({exc.strerror}).") from None

    def remove_leftovers(self, older_than: float = 6 * 3600) -> int:
        """Partial files of runs killed midway (never listed, never taken for backups), once
        they are old enough not to belong to a run still going."""
        removed = 0
        limit = time.time() - older_than
        for path in self.root.rglob(f".*{PARTIAL}"):
            with contextlib.suppress(OSError):
                if path.stat().st_mtime < limit:
                    path.unlink()
                    removed += 1
        return removed

    def close(self) -> None:
        pass
