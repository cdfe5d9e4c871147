"""Encrypted archives for other professionals: `.7z` with AES-256 and encrypted headers, written
and read by py7zr; received `.zip` read by the standard library. No Django here.

Writing streams: each member is read from its source in blocks of py7zr's size and compressed,
encrypted and written at once (py7zr's `writef` compresses when it is called, reading the source
in blocks), so a 200 MB set of documents is never whole in memory (bench/bench_exchange.py).
A source is any binary reader with a known size (`SizedReader` gives one to a reader that cannot
seek, like a decrypting document reader).

Reading checks the listing first (names, links, counts, sizes: hygie.lib.exchange.check_members),
before a single byte is extracted, then hands every member's bytes to a `Sink` chosen by the
caller while counting what is really produced (a listing can lie); any refusal aborts every sink.
"""

from __future__ import annotations

import contextlib
import io
import lzma
import os
import stat
import threading
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

import py7zr
import py7zr.exceptions
import py7zr.io

from hygie.lib.exchange import ArchiveRefused, Budget, Limits, Member, check_members

# Stored ("Copy") then AES-256: what leaves is PDF and images, already compressed, which LZMA2
# would not shrink while costing ~50 times the time (10 s of CPU for 20 MB even at preset 1 here,
# against 0.2 s: docs/performance.md, « Échange sécurisé »). The headers are still LZMA-packed
# and encrypted by py7zr. Stock 7z lists the method as "Copy 7zAES".
FILTERS: list[dict[str, Any]] = [
    {"id": py7zr.FILTER_COPY},
    {"id": py7zr.FILTER_CRYPTO_AES256_SHA256},
]


class SizedReader(io.BufferedIOBase):
    """A forward-only reader that tells py7zr its size: py7zr asks it by seeking to the end and
    back, which a decrypting stream cannot do. Only that round trip is allowed."""

    def __init__(self, raw: IO[bytes], size: int) -> None:
        super().__init__()
        self._raw = raw
        self._size = size
        self._pos = 0
        self._at_end = False

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._size if self._at_end else self._pos

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if whence == os.SEEK_END and offset == 0:
            self._at_end = True
            return self._size
        if whence == os.SEEK_SET and offset == self._pos:
            self._at_end = False
            return self._pos
        raise io.UnsupportedOperation("forward-only reader")

    def read(self, size: int | None = -1) -> bytes:
        data = self._raw.read(-1 if size is None else size)
        self._pos += len(data)
        if self._pos > self._size:
            raise ValueError("the source is longer than announced")
        return data

    def read1(self, size: int = -1) -> bytes:
        return self.read(size)

    def close(self) -> None:
        self._raw.close()
        super().close()


@dataclass(frozen=True)
class Source:
    """One member to write: its name in the archive and how to open it (called once, closed after)."""

    name: str
    size: int
    open: Callable[[], IO[bytes]]


def write_7z(out: Path, sources: Iterable[Source], passphrase: str) -> int:
    """Write `out` (.7z, AES-256, encrypted headers); the number of members. The file is written
    under a temporary name and renamed: it is complete or absent."""
    tmp = out.with_name(f".{out.name}.part")
    count = 0
    try:
        with py7zr.SevenZipFile(
            tmp, mode="w", password=passphrase, header_encryption=True, filters=FILTERS
        ) as archive:
            for source in sources:
                with source.open() as raw:
                    archive.writef(SizedReader(raw, source.size), source.name)
                count += 1
        os.chmod(tmp, 0o600)
        os.replace(tmp, out)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    return count


# --- Reading ------------------------------------------------------------------------------------


class Sink(Protocol):
    """Where one extracted member goes (the caller encrypts it into a document, or drops it)."""

    def write(self, data: bytes) -> None: ...

    def close(self) -> None: ...

    def abort(self) -> None: ...


SinkFactory = Callable[[str], Sink]


class ArchiveFormatError(ArchiveRefused):
    pass


class WrongPassphrase(ArchiveRefused):
    pass


WRONG_PASSPHRASE = "Phrase de passe incorrecte, ou archive abîmée : rien n'a été enregistré."  # noqa: S105 (a message)


def kind_of(path: Path) -> str:
    """'7z', 'zip' or '' from the file's first bytes (never from its name)."""
    with path.open("rb") as fh:
        head = fh.read(6)
    if head == b"7z\xbc\xaf\x27\x1c":
        return "7z"
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "zip"
    return ""


def extract(path: Path, passphrase: str, sinks: SinkFactory, limits: Limits) -> list[str]:
    """Check, then extract every file of the archive at `path` into the sinks; the names, in the
    archive's order. ArchiveRefused (French) for anything refused; every sink is then aborted."""
    kind = kind_of(path)
    if kind == "7z":
        return _extract_7z(path, passphrase, sinks, limits)
    if kind == "zip":
        return _extract_zip(path, passphrase, sinks, limits)
    raise ArchiveFormatError("Ce fichier n'est ni une archive 7z ni une archive zip.")


class _Collector:
    """The sinks opened so far, to abort them all if anything goes wrong."""

    def __init__(self, factory: SinkFactory, limits: Limits) -> None:
        self.factory = factory
        self.budget = Budget(limits)
        self.opened: list[Sink] = []
        self.lock = threading.Lock()

    def open(self, name: str) -> Sink:
        sink = self.factory(name)
        with self.lock:
            self.opened.append(sink)
        return sink

    def spend(self, name: str, count: int) -> None:
        with self.lock:
            self.budget.spend(name, count)

    def abort(self) -> None:
        for sink in self.opened:
            with contextlib.suppress(Exception):
                sink.abort()


class _Py7zSink(py7zr.io.Py7zIO):
    def __init__(self, name: str, collector: _Collector) -> None:
        self.name = name
        self.collector = collector
        self.sink = collector.open(name)
        self._size = 0

    def write(self, s: bytes | bytearray) -> int:
        self.collector.spend(self.name, len(s))
        self._size += len(s)
        self.sink.write(bytes(s))
        return len(s)

    def read(self, size: int | None = None) -> bytes:
        return b""

    def seek(self, offset: int, whence: int = 0) -> int:
        return 0

    def flush(self) -> None:
        return None

    def size(self) -> int:
        return self._size


class _Py7zFactory(py7zr.io.WriterFactory):
    def __init__(self, collector: _Collector) -> None:
        self.collector = collector
        self.products: list[_Py7zSink] = []

    def create(self, filename: str) -> py7zr.io.Py7zIO:
        product = _Py7zSink(filename, self.collector)
        self.products.append(product)
        return product


def _open_7z(path: Path, passphrase: str) -> py7zr.SevenZipFile:
    try:
        return py7zr.SevenZipFile(path, mode="r", password=passphrase or None)
    except py7zr.exceptions.PasswordRequired:
        raise WrongPassphrase("Cette archive est protégée : indiquez sa phrase de passe.") from None
    except (py7zr.exceptions.Bad7zFile, lzma.LZMAError, EOFError, ValueError, KeyError, IndexError,
            TypeError, py7zr.exceptions.UnsupportedCompressionMethodError, py7zr.exceptions.DecompressionError):
        # Encrypted headers decrypted with a wrong key read as garbage: the same refusal.
        raise WrongPassphrase(WRONG_PASSPHRASE) from None


def _extract_7z(path: Path, passphrase: str, sinks: SinkFactory, limits: Limits) -> list[str]:
    with _open_7z(path, passphrase) as archive:
        infos = archive.list()
        members = [
            Member(
                name=i.filename,
                size=int(i.uncompressed or 0),
                is_dir=bool(i.is_directory),
                is_symlink=bool(i.is_symlink),
            )
            for i in infos
        ]
        check_members(members, limits)
        files = [m.name for m in members if not m.is_dir]
        collector = _Collector(sinks, limits)
        factory = _Py7zFactory(collector)
        try:
            archive.extract(targets=files, factory=factory)
            for product in factory.products:
                product.sink.close()
        except ArchiveRefused:
            collector.abort()
            raise
        except BaseException as exc:
            collector.abort()
            if isinstance(exc, (lzma.LZMAError, py7zr.exceptions.CrcError, py7zr.exceptions.Bad7zFile,
                                py7zr.exceptions.DecompressionError, EOFError, ValueError)):
                raise WrongPassphrase(WRONG_PASSPHRASE) from None
            raise
        return [p.name for p in factory.products]


_ZIP_AES = 99  # WinZip AES: compression method 99 (APPNOTE, appendix E)


def _zip_member(info: zipfile.ZipInfo) -> Member:
    mode = info.external_attr >> 16
    kind = stat.S_IFMT(mode)  # 0 when the archiver stored only permissions, or no Unix mode at all
    return Member(
        name=info.filename,
        size=info.file_size,
        packed=info.compress_size,
        is_dir=info.is_dir(),
        is_symlink=kind == stat.S_IFLNK,
        is_special=kind not in (0, stat.S_IFREG, stat.S_IFDIR, stat.S_IFLNK),
    )


def extract_zip(source: Path | IO[bytes], passphrase: str, sinks: SinkFactory, limits: Limits) -> list[str]:
    """A zip from a file or from memory (an attachment): same checks as `extract`."""
    return _extract_zip(source, passphrase, sinks, limits)


def _extract_zip(source: Path | IO[bytes], passphrase: str, sinks: SinkFactory, limits: Limits) -> list[str]:
    try:
        zf = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, ValueError):
        raise ArchiveFormatError("Archive zip illisible ou abîmée : rien n'a été enregistré.") from None
    with zf:
        infos = zf.infolist()
        check_members([_zip_member(i) for i in infos], limits)
        if any(i.compress_type == _ZIP_AES for i in infos):
            raise ArchiveFormatError(
                "Cette archive zip est chiffrée en AES (WinZip), que Hygie ne lit pas : demandez une "
                "archive 7z, ou un zip non chiffré envoyé par messagerie sécurisée."
            )
        pwd = passphrase.encode("utf-8") if passphrase else None
        collector = _Collector(sinks, limits)
        names: list[str] = []
        try:
            for info in infos:
                if info.is_dir():
                    continue
                encrypted = bool(info.flag_bits & 0x1)
                if encrypted and pwd is None:
                    raise WrongPassphrase("Cette archive est protégée : indiquez sa phrase de passe.")
                sink = collector.open(info.filename)
                with zf.open(info, pwd=pwd if encrypted else None) as member:
                    while chunk := member.read(64 * 1024):
                        collector.spend(info.filename, len(chunk))
                        sink.write(chunk)
                sink.close()
                names.append(info.filename)
        except ArchiveRefused:
            collector.abort()
            raise
        except RuntimeError:  # zipfile: "Bad password for file"
            collector.abort()
            raise WrongPassphrase(WRONG_PASSPHRASE) from None
        except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, NotImplementedError):
            collector.abort()
            raise ArchiveFormatError("Archive zip illisible ou abîmée : rien n'a été enregistré.") from None
        except BaseException:
            collector.abort()
            raise
        return names


def list_7z_names(path: Path, passphrase: str) -> list[str]:
    """The member names of a .7z (for tests and checks)."""
    with _open_7z(path, passphrase) as archive:
        return list(archive.getnames())

