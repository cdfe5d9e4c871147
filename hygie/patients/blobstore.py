"""Where the encrypted document blobs are kept: one `DocumentStore` interface, two kinds.

- `LocalStore`: a directory of this machine (settings.DOCUMENTS_DIR), the default. A blob is
  written to a hidden temporary file (".upload-…") in the same directory, fsynced, then renamed:
  complete or absent.
- `S3DocumentStore`: S3-compatible object storage (HYGIE_DOCUMENT_STORE=s3://bucket/prefix), for
  several app servers that must all serve every document. A blob is sent as a multipart upload
  in parts of 16 MiB (hygie.backups.stores.s3, the same boto3 code as the backup targets), only
  completed once the whole blob was written: complete or absent. Reading streams the object's
  body and, if the connection drops midway, asks again from the byte reached (HTTP Range), so
  that a long download survives a blip without re-reading what was already decrypted.

What a store is given is already sealed (hygie.patients.documents: per-document key wrapped by
the patient's data key, streaming AEAD): the provider never sees a clear byte, and the object
key is `prefix + 32 random hex digits`, which names neither the patient nor the document.

Blobs are written before their Document row is committed (a blob may be large; the
transaction stays short). A process killed between the two, or a transaction rolled back after
the upload, leaves an orphan blob: the worker job "documents-orphans" (hygie.patients.jobs)
deletes blobs that no Document row names once older than the grace period
(HYGIE_DOCUMENT_ORPHAN_GRACE_HOURS), and the temporary files or unfinished multipart uploads
of killed uploads.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import re
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from django.conf import settings

NAME = re.compile(r"^[0-9a-f]{32}$")
_TMP_PREFIX = ".upload-"
# A dropped connection while reading an object is resumed (Range request) this many times.
READ_RETRIES = 3


class StoreUnavailable(Exception):
    """The document store cannot be reached or refused an operation. French message naming the
    store (never a secret, never a patient)."""


@dataclass(frozen=True)
class BlobInfo:
    name: str
    size: int
    mtime_ns: int  # last modification (local file) or upload time (object)


class BlobSink(Protocol):
    def write(self, data: bytes) -> None: ...

    def commit(self) -> None:
        """Make the blob durable and visible under its name. On error nothing is visible."""

    def abort(self) -> None:
        """Forget everything written. Harmless after commit or abort."""


class DocumentStore(Protocol):
    label: str

    def create(self, name: str) -> BlobSink:
        """A new blob `name` (checked: 32 hex digits), visible only once committed."""

    def open(self, name: str) -> BinaryIO:
        """The stored bytes of `name`, streamed. FileNotFoundError if there is no such blob."""

    def delete(self, name: str) -> None:
        """Remove `name` (and every stored version of it). Nothing if it is already gone."""

    def blobs(self) -> Iterator[BlobInfo]:
        """Every committed blob, in name order."""

    def remove_leftovers(self, older_than: float) -> int:
        """Remove the unfinished writes (temporary files, multipart uploads) older than
        `older_than` seconds; how many."""

    def close(self) -> None: ...


def check_name(name: str) -> str:
    # Names come from the database or from secrets.token_hex, but nothing unchecked reaches a
    # path or an object key.
    if not NAME.match(name):
        raise ValueError("invalid storage name")
    return name


# --- Local directory ----------------------------------------------------------------------------


class _LocalSink:
    def __init__(self, directory: Path, name: str) -> None:
        self._final = directory / name
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=_TMP_PREFIX)  # created 0600
        self._tmp: Path | None = Path(tmp)
        self._out: BinaryIO | None = os.fdopen(fd, "wb")

    def write(self, data: bytes) -> None:
        assert self._out is not None, "write after commit or abort"
        self._out.write(data)

    def commit(self) -> None:
        assert self._out is not None and self._tmp is not None, "commit after commit or abort"
        try:
            self._out.flush()
            os.fsync(self._out.fileno())
            self._out.close()
            os.chmod(self._tmp, 0o600)
            os.replace(self._tmp, self._final)
        except BaseException:
            self.abort()
            raise
        self._out = self._tmp = None
        # The rename itself is durable once the directory is synced.
        with contextlib.suppress(OSError):
            fd = os.open(self._final.parent, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def abort(self) -> None:
        if self._out is not None:
            with contextlib.suppress(OSError):
                self._out.close()
            self._out = None
        if self._tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                self._tmp.unlink()
            self._tmp = None


class LocalStore:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.label = f"dossier {self.directory}"

    def _dir(self) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        return self.directory

    def path(self, name: str) -> Path:
        return self._dir() / check_name(name)

    def create(self, name: str) -> BlobSink:
        check_name(name)
        return _LocalSink(self._dir(), name)

    def open(self, name: str) -> BinaryIO:
        return self.path(name).open("rb")

    def delete(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path(name).unlink()

    def blobs(self) -> Iterator[BlobInfo]:
        if not self.directory.is_dir():
            return
        for path in sorted(self.directory.iterdir()):
            if not NAME.match(path.name):
                continue
            try:
                st = path.stat()
            except FileNotFoundError:
                continue
            yield BlobInfo(path.name, st.st_size, st.st_mtime_ns)

    def remove_leftovers(self, older_than: float) -> int:
        if not self.directory.is_dir():
            return 0
        limit = time.time() - older_than
        removed = 0
        for path in self.directory.glob(f"{_TMP_PREFIX}*"):
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_mtime < limit:
                    path.unlink()
                    removed += 1
        return removed

    def close(self) -> None:
        pass


# --- S3-compatible object storage -------------------------------------------------------------


class _S3Sink:
    def __init__(self, store: S3DocumentStore, name: str) -> None:
        self._store = store
        self._name = name
        self._stack: contextlib.ExitStack | None = contextlib.ExitStack()
        with store.errors():
            self._upload: Any = self._stack.enter_context(store.backend.writer(name))

    def write(self, data: bytes) -> None:
        assert self._stack is not None, "write after commit or abort"
        with self._store.errors():
            self._upload.write(data)

    def commit(self) -> None:
        stack, self._stack = self._stack, None
        assert stack is not None, "commit after commit or abort"
        with self._store.errors():
            stack.close()  # completes the multipart upload (or sends the single PUT)

    def abort(self) -> None:
        stack, self._stack = self._stack, None
        if stack is not None:
            with contextlib.suppress(Exception):
                stack.__exit__(RuntimeError, RuntimeError("aborted"), None)  # aborts the upload


class _ObjectReader(io.RawIOBase):
    """An object's body, streamed; a connection lost midway is resumed from the byte reached."""

    def __init__(self, store: S3DocumentStore, name: str) -> None:
        self._store = store
        self._name = name
        self._key = store.backend._key(name)
        self._position = 0
        self._retries = READ_RETRIES
        self._body: Any = self._get(None)

    def _get(self, start: int | None) -> Any:
        from botocore import exceptions as boto_errors

        arguments: dict[str, Any] = {"Bucket": self._store.backend.bucket, "Key": self._key}
        if start is not None:
            arguments["Range"] = f"bytes={start}-"
        with self._store.errors(), self._store.backend._errors(f"lecture de {self._name}"):
            try:
                return self._store.backend._client().get_object(**arguments)["Body"]
            except boto_errors.ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                    raise FileNotFoundError(self._name) from None
                raise

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        from hygie.backups.stores import StoreError

        while True:
            try:
                with self._store.backend._errors(f"lecture de {self._name}"):
                    n = self._body.readinto(buffer)
            except StoreError:
                if self._retries <= 0:
                    raise StoreUnavailable(
                        f"{self._store.label} : le document {self._name} n'a pas pu être lu (connexion perdue)."
                    ) from None
                self._retries -= 1
                with contextlib.suppress(Exception):
                    self._body.close()
                self._body = self._get(self._position)
                continue
            self._position += n
            return n

    def close(self) -> None:
        if not self.closed:
            with contextlib.suppress(Exception):
                self._body.close()
        super().close()


class S3DocumentStore:
    def __init__(
        self,
        *,
        bucket: str,
        prefix: str = "",
        endpoint_url: str = "",
        region: str = "",
        access_key: str = "",
        secret_key: str = "",
        timeout: float = 30.0,
    ) -> None:
        from hygie.backups.stores.s3 import S3Store

        self.backend = S3Store(
            endpoint_url=endpoint_url,
            bucket=bucket,
            prefix=prefix,
            region=region,
            access_key=access_key,
            secret_key=secret_key,
            timeout=timeout,
        )
        self.label = self.backend.label

    @contextlib.contextmanager
    def errors(self) -> Iterator[None]:
        from hygie.backups.stores import StoreError

        try:
            yield
        except StoreError as exc:
            raise StoreUnavailable(str(exc).replace("sauvegarde", "document")) from None

    def create(self, name: str) -> BlobSink:
        return _S3Sink(self, check_name(name))

    def open(self, name: str) -> BinaryIO:
        return io.BufferedReader(_ObjectReader(self, check_name(name)), buffer_size=1024 * 1024)  # type: ignore[return-value]

    def delete(self, name: str) -> None:
        with self.errors():
            self.backend.delete(check_name(name))

    def blobs(self) -> Iterator[BlobInfo]:
        backend = self.backend
        with self.errors(), backend._errors("liste des documents"):
            pages = backend._client().get_paginator("list_objects_v2").paginate(
                Bucket=backend.bucket, Prefix=backend.prefix
            )
            for page in pages:
                for item in page.get("Contents", ()):
                    name = item["Key"][len(backend.prefix) :]
                    if NAME.match(name):
                        modified = item["LastModified"].timestamp()
                        yield BlobInfo(name, int(item.get("Size", 0)), int(modified * 1_000_000_000))

    def read_whole(self, name: str) -> bytes | None:
        """The whole blob (for backups, bounded by the upload limit), or None if it is gone."""
        try:
            with self.open(name) as fh:
                return fh.read()
        except FileNotFoundError:
            return None

    def remove_leftovers(self, older_than: float) -> int:
        with self.errors():
            return self.backend.remove_leftovers(older_than)

    def check(self) -> None:
        with self.errors():
            self.backend.check()

    def close(self) -> None:
        self.backend.close()


# --- The store of this installation -----------------------------------------------------------


@functools.cache
def _store_for(config: tuple[str, ...]) -> DocumentStore:
    kind, *rest = config
    if kind == "s3":
        bucket, prefix, endpoint, region, access_key, secret_key = rest
        return S3DocumentStore(
            bucket=bucket,
            prefix=prefix,
            endpoint_url=endpoint,
            region=region,
            access_key=access_key,
            secret_key=secret_key,
        )
    return LocalStore(Path(rest[0]))


def get_store() -> DocumentStore:
    """The store the settings name (one instance per configuration: its S3 client is reused)."""
    store = settings.DOCUMENT_STORE
    if store.get("kind") == "s3":
        config: tuple[str, ...] = (
            "s3",
            store["bucket"],
            store["prefix"],
            store["endpoint"],
            store["region"],
            store["access_key"],
            store["secret_key"],
        )
    else:
        config = ("local", str(settings.DOCUMENTS_DIR))
    return _store_for(config)
