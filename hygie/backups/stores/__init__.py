"""Where backup files go. Every kind of target is a `Store`: a flat set of named files (names
like `hygie-backup-20261122T020000000000Z.age` or `packs/pack-….age`) that can be listed,
written atomically, read as a stream and deleted.

- hygie.backups.stores.directory: a local or removable directory (disk, network share).
- hygie.backups.stores.sftp: an SFTP server (paramiko), key or password, pinned host key.
- hygie.backups.stores.s3: S3-compatible object storage (boto3), with object lock when the
  bucket has it: the copies cannot be deleted before their retention date, even with the keys
  of this machine.

A store never sees anything in clear: what it is given is already age-encrypted.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import BinaryIO, Protocol


class StoreError(Exception):
    """A target cannot be reached or written. French message for the user, naming the target
    (never a secret)."""


class RetentionLocked(StoreError):
    """The object is under retention (object lock): it cannot be deleted yet. Not an error for
    pruning, which tries again on a later run."""


class Store(Protocol):
    # A short French description for messages and the journal: "dossier /mnt/usb",
    # "sftp://sauvegarde@nas.local:22/hygie", "s3://bucket/prefix". Never a secret.
    label: str

    def check(self) -> None:
        """Reachable and writable, or StoreError saying what to fix."""

    def list(self) -> dict[str, int]:
        """Every finished file: name -> size. Unfinished uploads are never listed."""

    def writer(self, name: str) -> contextlib.AbstractContextManager[BinaryIO]:
        """A file object to write `name` into. Visible under `name` only once the block exits
        without error (rename, completed multipart upload); on error nothing is left that
        `list` would show. An existing name is never overwritten (StoreError)."""

    def reader(self, name: str) -> contextlib.AbstractContextManager[BinaryIO]:
        """A file object reading `name` from its start (StoreError if missing)."""

    def delete(self, name: str) -> None:
        """Remove `name`; RetentionLocked if its retention forbids it yet."""

    def close(self) -> None:
        """Release connections."""


@contextlib.contextmanager
def opened(store: Store) -> Iterator[Store]:
    try:
        yield store
    finally:
        store.close()
