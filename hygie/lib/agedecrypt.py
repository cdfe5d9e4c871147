"""age decryption in this process (C2SP age v1, X25519 identities), with `cryptography`.

Backups are written by pyrage (hygie.lib.agestream, in a child process); they are read here.
Reading used to go through the same child process: pyrage decrypting into a pipe, this process
reading the pipe. Measured on the restore bench (213 MB, one pack): pyrage 0.25 s of CPU for the
pack, plus a Python start per archive and every byte copied through a pipe twice; OpenSSL's
ChaCha20-Poly1305 here decrypts the same bytes in ~0.05 s, in this process; the tar reader hands
the decrypted chunks on to the writers as they are (`Decrypting.pieces`, no copy).

What is checked, as the spec (c2sp.org/age) asks of a decryptor:
- the version line, the stanza syntax, canonical unpadded base64;
- an X25519 stanza has exactly two arguments, a 32-byte share and a 32-byte body; a shared
  secret of all zeros aborts; a scrypt stanza mixed with others is refused;
- the header MAC (HMAC-SHA-256 under a key derived from the file key) before any payload byte;
- every 64 KiB chunk (ChaCha20-Poly1305, counter nonce), the last one flagged as last, not empty
  unless the whole payload is; nothing after it. A truncated file (even cut at a chunk boundary)
  or one with bytes appended is refused.

Plaintext is handed out only once its chunk has been authenticated. The caller still checks
what the archive says (signed manifests, SHA-256 of every member): this module only guarantees
that the bytes are those that were encrypted to this identity.
"""

from __future__ import annotations

import base64
import collections
import hashlib
import hmac
import io
import mmap
import queue
import threading
from collections.abc import Callable
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION_LINE = b"age-encryption.org/v1\n"
CHUNK = 64 * 1024
TAG = 16
ENCRYPTED_CHUNK = CHUNK + TAG
_MAX_LINE = 4096  # a header line longer than this is not one age writes (X25519: 49 bytes)
_MAX_HEADER = 64 * 1024
_READ = 16 * ENCRYPTED_CHUNK  # ciphertext read from the source at a time (~1 MiB)
# Decrypted blocks waiting for the reader at most (~2 MiB): more only parks them in memory, out
# of the processor's cache, before they are read (see backuparchive._IN_FLIGHT).
_AHEAD = 2
_X25519_INFO = b"age-encryption.org/v1/X25519"
_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_IDENTITY_HRP = "age-secret-key-"


class AgeError(Exception):
    """The file is not an age file this identity opens, or it is damaged (English, for the
    caller to translate; "no matching identity" when no stanza is ours)."""


class SourceError(Exception):
    """Reading the encrypted file itself failed (disk, network): `__cause__` says why."""


# --- Keys ---------------------------------------------------------------------------------------


def _bech32_polymod(values: list[int]) -> int:
    generator = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    check = 1
    for value in values:
        top = check >> 25
        check = (check & 0x1FFFFFF) << 5 ^ value
        for i in range(5):
            if (top >> i) & 1:
                check ^= generator[i]
    return check


def bech32_decode(text: str, hrp: str) -> bytes:
    """The bytes of a Bech32 string (BIP 173 checksum, no length limit, as age uses it) with
    human-readable part `hrp` (lower case). ValueError if it is not one."""
    if text.lower() != text and text.upper() != text:
        raise ValueError("mixed case")
    text = text.lower()
    sep = text.rfind("1")
    if text[:sep] != hrp or len(text) - sep - 1 < 6:
        raise ValueError("wrong prefix")
    try:
        data = [_BECH32.index(c) for c in text[sep + 1 :]]
    except ValueError:
        raise ValueError("bad character") from None
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    if _bech32_polymod(expanded + data) != 1:
        raise ValueError("bad checksum")
    acc = bits = 0
    out = bytearray()
    for value in data[:-6]:
        acc = acc << 5 | value
        bits += 5
        if bits >= 8:
            bits -= 8
            out.append(acc >> bits & 0xFF)
    if bits >= 5 or acc & ((1 << bits) - 1):
        raise ValueError("bad padding")
    return bytes(out)


class Identity:
    """An X25519 age identity (AGE-SECRET-KEY-1…)."""

    def __init__(self, text: str) -> None:
        try:
            raw = bech32_decode(text.strip(), _IDENTITY_HRP)
            if len(raw) != 32:
                raise ValueError("not 32 bytes")
        except ValueError as exc:
            raise AgeError(f"invalid identity ({exc})") from None
        self._key = X25519PrivateKey.from_private_bytes(raw)
        self.recipient = self._key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    def unwrap(self, args: list[bytes], body: bytes) -> bytes | None:
        """The file key if this X25519 stanza is addressed to this identity, else None."""
        if len(args) != 2:
            raise AgeError("invalid X25519 stanza")
        share = _b64(args[1])
        if len(share) != 32 or len(body) != 32:
            raise AgeError("invalid X25519 stanza")
        try:
            shared = self._key.exchange(X25519PublicKey.from_public_bytes(share))
        except ValueError:  # OpenSSL refuses a low-order point (an all-zero shared secret)
            raise AgeError("invalid X25519 share") from None
        if not any(shared):
            raise AgeError("invalid X25519 share")
        wrap_key = _hkdf(shared, share + self.recipient, _X25519_INFO)
        try:
            file_key = ChaCha20Poly1305(wrap_key).decrypt(bytes(12), body, None)
        except InvalidTag:
            return None  # addressed to another recipient
        if len(file_key) != 16:
            raise AgeError("invalid file key")
        return file_key


def _hkdf(ikm: bytes, salt: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(ikm)


def _b64(data: bytes) -> bytes:
    """Canonical unpadded base64 (age's encoding), or AgeError."""
    if len(data) % 4 == 1 or b"=" in data:
        raise AgeError("invalid base64")
    try:
        raw = base64.b64decode(data + b"=" * (-len(data) % 4), validate=True)
    except ValueError:
        raise AgeError("invalid base64") from None
    if base64.b64encode(raw).rstrip(b"=") != data:
        raise AgeError("non-canonical base64")
    return raw


# --- Decrypting ---------------------------------------------------------------------------------


class _Source:
    """The encrypted bytes, read into one buffer that is reused (no allocation per block);
    errors of the file object wrapped in SourceError."""

    def __init__(self, fh: BinaryIO) -> None:
        self.fh = fh
        self.buffer = bytearray(_READ + ENCRYPTED_CHUNK + 1)
        self.start = self.end = 0
        self.eof = False

    def _readinto(self, view: memoryview) -> int:
        readinto = getattr(self.fh, "readinto", None)
        if readinto is not None:
            return int(readinto(view) or 0)
        data = self.fh.read(len(view))
        view[: len(data)] = data
        return len(data)

    def available(self) -> int:
        return self.end - self.start

    def fill(self, n: int) -> None:
        """At least `n` unread bytes in the buffer (n < its size), unless the file ends first."""
        while not self.eof and self.available() < n:
            if len(self.buffer) - self.end < n:  # move what is left to the front
                keep = self.available()
                self.buffer[:keep] = self.buffer[self.start : self.end]
                self.start, self.end = 0, keep
            try:
                got = self._readinto(memoryview(self.buffer)[self.end :])
            except Exception as exc:
                raise SourceError(str(exc)) from exc
            if not got:
                self.eof = True
            self.end += got

    def take(self, n: int) -> memoryview:
        """The next `n` bytes (fewer at the end), valid until the next `fill`."""
        self.fill(n)
        view = memoryview(self.buffer)[self.start : min(self.start + n, self.end)]
        self.start += len(view)
        return view

    def line(self) -> bytes:
        """One header line, LF included."""
        while True:
            end = self.buffer.find(b"\n", self.start, min(self.end, self.start + _MAX_LINE))
            if end >= 0:
                return bytes(self.take(end + 1 - self.start))
            if self.available() >= _MAX_LINE or self.eof:
                raise AgeError("invalid header")
            self.fill(self.available() + 1)


class _Mapped(_Source):
    """The encrypted bytes of a file mapped in memory (`mmap`): each chunk is authenticated and
    decrypted straight from the page cache, never copied into a buffer of ours first (a 2 GB
    restore copied 2 GB that way, ~17 % of its processor samples). Same methods as `_Source`,
    with everything already "read". Only for a process that may die of it: a mapped file that
    shrinks under the reader gives SIGBUS (hygie.backups.packreader, whose parent replaces a
    child that dies)."""

    def __init__(self, mapped: mmap.mmap) -> None:
        self.fh = mapped  # type: ignore[assignment]  # never read from: everything is in `buffer`
        self.buffer = mapped  # type: ignore[assignment]
        self.start, self.end = 0, len(mapped)
        self.eof = True


def _header(source: _Source, identity: Identity) -> bytes:
    """The file key, once the header MAC checks out."""
    if source.line() != VERSION_LINE:
        raise AgeError("not an age v1 file")
    header = bytearray(VERSION_LINE)
    stanzas: list[tuple[list[bytes], bytes]] = []
    while True:
        line = source.line()
        if len(header) + len(line) > _MAX_HEADER:
            raise AgeError("header too long")
        if line.startswith(b"--- "):
            header += b"---"
            mac = _b64(line[4:-1])
            break
        if not line.startswith(b"-> "):
            raise AgeError("invalid header")
        header += line
        args = line[3:-1].split(b" ")
        if not all(arg and all(0x21 <= c <= 0x7E for c in arg) for arg in args):
            raise AgeError("invalid stanza")
        body = bytearray()
        while True:
            row = source.line()
            header += row
            if len(header) > _MAX_HEADER:
                raise AgeError("header too long")
            text = row[:-1]
            if len(text) > 64:
                raise AgeError("invalid stanza body")
            body += text
            if len(text) < 64:
                break
        stanzas.append((args, _b64(bytes(body))))
    if not stanzas:
        raise AgeError("no recipient stanza")
    if any(args[0] == b"scrypt" for args, _ in stanzas) and len(stanzas) > 1:
        raise AgeError("scrypt stanza mixed with others")
    file_key = None
    for args, wrapped in stanzas:
        if args[0] == b"X25519":
            file_key = identity.unwrap(args, wrapped)
            if file_key is not None:
                break
    if file_key is None:
        raise AgeError("no matching identity")
    expected = hmac.new(_hkdf(file_key, b"", b"header"), bytes(header), hashlib.sha256).digest()
    if len(mac) != 32 or not hmac.compare_digest(mac, expected):
        raise AgeError("header MAC mismatch")
    return file_key


def _payload(source: _Source, file_key: bytes, put: Callable[[list[bytes]], bool]) -> None:
    """Every chunk authenticated then handed to `put` (False: the reader stopped)."""
    nonce = bytes(source.take(16))
    if len(nonce) != 16:
        raise AgeError("truncated payload")
    aead = ChaCha20Poly1305(_hkdf(file_key, nonce, b"payload"))
    counter = 0
    block: list[bytes] = []
    size = 0
    while True:
        # One byte more than a chunk: a full chunk is the last one only if nothing follows.
        source.fill(ENCRYPTED_CHUNK + 1)
        last = source.available() <= ENCRYPTED_CHUNK
        sealed = source.take(ENCRYPTED_CHUNK)
        if len(sealed) < TAG or (last and len(sealed) == TAG and counter):
            raise AgeError("truncated payload")
        try:
            plain = aead.decrypt(counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00"), sealed, None)
        except InvalidTag:
            raise AgeError("damaged or truncated payload") from None
        counter += 1
        block.append(plain)
        size += len(plain)
        if last or size >= _READ:
            if not put(block):
                return
            block, size = [], 0
        if last:
            return


class _End:
    """Queued after the last block."""


_END = _End()


class Decrypting(io.RawIOBase):
    """The plaintext of an age file, decrypted by a thread of this process a few MiB ahead of
    the reader (OS reads of the source release the GIL: a local disk, SFTP or S3 is read while
    the caller works). Errors are raised by `readinto`: AgeError, SourceError."""

    def __init__(self, source: BinaryIO | mmap.mmap, identity: Identity) -> None:
        self.blocks: queue.Queue[list[bytes] | BaseException | _End] = queue.Queue(_AHEAD)
        self.stopped = threading.Event()
        self.pending: collections.deque[bytes] = collections.deque()
        self.current = memoryview(b"")
        self.done = False
        self.thread = threading.Thread(target=self._run, args=(source, identity), name="backup-decrypt", daemon=True)
        self.thread.start()

    def _put(self, item: list[bytes] | BaseException | _End) -> bool:
        while not self.stopped.is_set():
            try:
                self.blocks.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, fh: BinaryIO | mmap.mmap, identity: Identity) -> None:
        try:
            source = _Mapped(fh) if isinstance(fh, mmap.mmap) else _Source(fh)
            _payload(source, _header(source, identity), self._put)
            del source  # no view of a mapping outlives the thread: it can be closed
            self._put(_END)
        except BaseException as exc:  # raised again by the reader
            self._put(exc)

    def readable(self) -> bool:
        return True

    def _next(self) -> bool:
        """The next decrypted chunk in `current`; False at the end."""
        while not self.pending:
            if self.done:
                return False
            item = self.blocks.get()
            if isinstance(item, BaseException):
                self.done = True
                raise item
            if isinstance(item, _End):
                self.done = True
                return False
            self.pending.extend(item)
        self.current = memoryview(self.pending.popleft())
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        got = 0
        while got < len(view):
            if not self.current and not self._next():
                break
            n = min(len(view) - got, len(self.current))
            view[got : got + n] = self.current[:n]
            self.current = self.current[n:]
            got += n
        return got

    def pieces(self, n: int) -> list[memoryview]:
        """The next `n` bytes (fewer only at the end) as slices of the decrypted chunks, not
        copied: each stays valid as long as it is held. Errors as `readinto`."""
        out = []
        while n:
            if not self.current and not self._next():
                break
            piece = self.current[:n]
            self.current = self.current[len(piece) :]
            out.append(piece)
            n -= len(piece)
        return out

    def close(self) -> None:
        """Stop the decrypting thread (it never writes anything anywhere)."""
        self.stopped.set()
        self.thread.join()
        super().close()
