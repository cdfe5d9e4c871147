"""The only module that imports `cryptography`: a few calls that are hard to misuse.

Keys are raw bytes so that callers store them as they like (hex in a 0600 file); each key has a
short id, carried with every signature and every ciphertext, so that a key rotation can tell
which key signed or sealed what (Tink style). Encryption is `AeadKey.encrypt(plaintext,
associated_data)`: the associated data names where the ciphertext belongs (table, field, row,
patient), so a ciphertext copied elsewhere does not decrypt.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

ED25519_PRIVATE_KEY_SIZE = 32
ED25519_SIGNATURE_SIZE = 64


def ed25519_generate() -> bytes:
    """A fresh Ed25519 private key (32 raw bytes)."""
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )


def ed25519_public_key(private_key: bytes) -> bytes:
    return (
        Ed25519PrivateKey.from_private_bytes(private_key)
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )


def key_id(public_key: bytes) -> str:
    """Short, stable name of a public key: first 16 hex digits of its SHA-256."""
    return hashlib.sha256(public_key).hexdigest()[:16]


def ed25519_sign(private_key: bytes, message: bytes) -> bytes:
    return Ed25519PrivateKey.from_private_bytes(private_key).sign(message)


def ed25519_verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """True if `signature` is valid. Never raises on a bad signature or a malformed key."""
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


# --- Authenticated encryption (AES-256-GCM) ----------------------------------------------
#
# Ciphertext format (every field, wrapped key and document header):
#     version (1 byte) | key id (4 bytes) | nonce (12 bytes) | AES-256-GCM ciphertext and tag
# The version and the key id are authenticated with the caller's associated data, so neither
# can be swapped. The key id tells a keyring which key to use (rotation: add, then promote).

FORMAT_V1 = 1
AEAD_KEY_SIZE = 32
_KEY_ID_SIZE = 4
_NONCE_SIZE = 12
_TAG_SIZE = 16
_HEADER_SIZE = 1 + _KEY_ID_SIZE
OVERHEAD = _HEADER_SIZE + _NONCE_SIZE + _TAG_SIZE


class DecryptionError(Exception):
    """Wrong key, altered ciphertext, or a ciphertext moved to another row, field or patient."""


def random_key() -> bytes:
    """A fresh 256-bit key."""
    return os.urandom(AEAD_KEY_SIZE)


def aead_key_id(key: bytes) -> str:
    """8 hex digits naming a symmetric key without revealing it (a hash of the key)."""
    return hashlib.sha256(b"hygie-aead-key-id\x00" + key).hexdigest()[: 2 * _KEY_ID_SIZE]


class AeadKey:
    """One AES-256-GCM key: `encrypt(plaintext, associated_data)` / `decrypt(ciphertext, associated_data)`.

    Nonces are random (96 bits): each key encrypts far fewer than the 2^32 messages that NIST
    SP 800-38D allows with random nonces (one key per patient; KEKs only wrap keys).
    """

    __slots__ = ("_aead", "key_id", "_id_bytes")

    def __init__(self, key: bytes) -> None:
        if len(key) != AEAD_KEY_SIZE:
            raise ValueError("AES-256 keys are 32 bytes")
        self._aead = AESGCM(key)
        self.key_id = aead_key_id(key)
        self._id_bytes = bytes.fromhex(self.key_id)

    def __repr__(self) -> str:  # never the key itself
        return f"AeadKey({self.key_id})"

    def encrypt(self, plaintext: bytes, associated_data: bytes) -> bytes:
        header = bytes([FORMAT_V1]) + self._id_bytes
        nonce = os.urandom(_NONCE_SIZE)
        return header + nonce + self._aead.encrypt(nonce, plaintext, header + associated_data)

    def decrypt(self, ciphertext: bytes, associated_data: bytes) -> bytes:
        if len(ciphertext) < OVERHEAD or ciphertext[0] != FORMAT_V1:
            raise DecryptionError("unknown ciphertext format")
        header = ciphertext[:_HEADER_SIZE]
        if header[1:] != self._id_bytes:
            raise DecryptionError("ciphertext made with another key")
        nonce = ciphertext[_HEADER_SIZE : _HEADER_SIZE + _NONCE_SIZE]
        try:
            return self._aead.decrypt(nonce, ciphertext[_HEADER_SIZE + _NONCE_SIZE :], header + associated_data)
        except InvalidTag:
            raise DecryptionError("authentication failed") from None


def ciphertext_key_id(ciphertext: bytes) -> str:
    """The id of the key that made `ciphertext` (read from its header, not authenticated here)."""
    if len(ciphertext) < OVERHEAD or ciphertext[0] != FORMAT_V1:
        raise DecryptionError("unknown ciphertext format")
    return ciphertext[1:_HEADER_SIZE].hex()


class Keyring:
    """Several keys, one primary: encrypts with the primary, decrypts with whichever key the
    ciphertext names. Rotation adds a key, makes it primary, then drops the old one."""

    def __init__(self, keys: dict[str, AeadKey], primary: str) -> None:
        if primary not in keys:
            raise ValueError("the primary key must be in the keyring")
        self.keys = dict(keys)
        self.primary = keys[primary]

    def encrypt(self, plaintext: bytes, associated_data: bytes) -> bytes:
        return self.primary.encrypt(plaintext, associated_data)

    def decrypt(self, ciphertext: bytes, associated_data: bytes) -> bytes:
        key = self.keys.get(ciphertext_key_id(ciphertext))
        if key is None:
            raise DecryptionError("ciphertext made with a key that is not in the keyring")
        return key.decrypt(ciphertext, associated_data)


def derive_key(master: bytes, info: bytes) -> bytes:
    """A separate 256-bit key for one purpose (HKDF-SHA256, RFC 5869): `info` names the purpose."""
    return HKDF(algorithm=hashes.SHA256(), length=AEAD_KEY_SIZE, salt=None, info=info).derive(master)


def scrypt_key(passphrase: str, salt: bytes, *, n: int = 2**15, r: int = 8, p: int = 1) -> bytes:
    """A 256-bit key from a passphrase (scrypt, RFC 7914): to wrap a master key kept off disk."""
    return Scrypt(salt=salt, length=AEAD_KEY_SIZE, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))


# --- Streaming AEAD for documents --------------------------------------------------------
#
# The STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár 2015), as in age and Tink's
# streaming AEAD: the file is cut into segments of SEGMENT_SIZE bytes, each sealed with
# AES-256-GCM under a per-file key, with the nonce
#     prefix (7 random bytes, per file) | segment counter (4 bytes, big endian) | last flag (1 byte)
# A segment moved, dropped or replayed changes its counter; a file cut after a segment lacks
# the segment flagged last; data after the last segment is refused. The header is
# authenticated with every segment.

SEGMENT_SIZE = 64 * 1024
STREAM_PREFIX_SIZE = 7
_MAX_SEGMENTS = 2**32 - 1


def _segment_nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    if counter > _MAX_SEGMENTS:
        raise ValueError("file too large for one stream")
    return prefix + counter.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


class StreamEncryptor:
    """Feed bytes with `update`, end with `finalize`; both return ciphertext bytes to write."""

    def __init__(self, key: bytes, prefix: bytes, associated_data: bytes) -> None:
        if len(prefix) != STREAM_PREFIX_SIZE:
            raise ValueError("stream prefix must be 7 bytes")
        self._aead = AESGCM(key)
        self._prefix = prefix
        self._ad = associated_data
        self._buffer = bytearray()
        self._counter = 0

    def update(self, data: bytes) -> bytes:
        self._buffer += data
        out = bytearray()
        # Keep at least one byte back: the last segment is only known at finalize.
        while len(self._buffer) > SEGMENT_SIZE:
            segment = bytes(self._buffer[:SEGMENT_SIZE])
            del self._buffer[:SEGMENT_SIZE]
            out += self._aead.encrypt(_segment_nonce(self._prefix, self._counter, False), segment, self._ad)
            self._counter += 1
        return bytes(out)

    def finalize(self) -> bytes:
        segment = bytes(self._buffer)
        self._buffer.clear()
        return self._aead.encrypt(_segment_nonce(self._prefix, self._counter, True), segment, self._ad)


def stream_decrypt(key: bytes, prefix: bytes, associated_data: bytes, read: Callable[[int], bytes]) -> Iterator[bytes]:
    """Plaintext segments of the stream that `read(n)` returns, checked one by one.

    Raises DecryptionError on an altered, reordered, truncated or extended stream. A consumer
    must treat what it received before the error as untrusted.
    """
    aead = AESGCM(key)
    sealed = SEGMENT_SIZE + _TAG_SIZE
    counter = 0
    current = _read_exactly(read, sealed)
    while True:
        following = _read_exactly(read, sealed) if len(current) == sealed else b""
        last = not following
        if len(current) < _TAG_SIZE:
            raise DecryptionError("truncated stream")
        try:
            yield aead.decrypt(_segment_nonce(prefix, counter, last), current, associated_data)
        except InvalidTag:
            raise DecryptionError("altered, reordered or truncated stream") from None
        if last:
            return
        counter += 1
        current = following


def _read_exactly(read: Callable[[int], bytes], size: int) -> bytes:
    out = bytearray()
    while len(out) < size:
        chunk = read(size - len(out))
        if not chunk:
            break
        out += chunk
    return bytes(out)
