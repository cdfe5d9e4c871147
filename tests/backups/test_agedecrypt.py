"""age decryption in this process (hygie.lib.agedecrypt), against pyrage (which writes every
backup): same plaintext for what pyrage accepts, a refusal for what it refuses."""

from __future__ import annotations

import base64
import io
import mmap
import os
import subprocess
import sys
import tempfile
import threading

import pyrage
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyrage import x25519

from hygie.lib import agedecrypt
from hygie.lib.agedecrypt import CHUNK, ENCRYPTED_CHUNK, AgeError

IDENTITY = x25519.Identity.generate()
KEY = agedecrypt.Identity(str(IDENTITY))


def _encrypt(data: bytes, *recipients: x25519.Recipient) -> bytes:
    return pyrage.encrypt(data, list(recipients) or [IDENTITY.to_public()])


def _read_all(source, read: int, identity: agedecrypt.Identity) -> bytes:
    stream = agedecrypt.Decrypting(source, identity)
    out = bytearray()
    buffer = bytearray(read)
    try:
        while n := stream.readinto(memoryview(buffer)):
            out += buffer[:n]
    finally:
        stream.close()
    return bytes(out)


def _outcome(source, read: int, identity: agedecrypt.Identity) -> tuple[bytes | None, str]:
    try:
        return _read_all(source, read, identity), ""
    except AgeError as exc:
        return None, str(exc)


def _decrypt(sealed: bytes, *, read: int = 1024 * 1024, identity: agedecrypt.Identity = KEY) -> bytes:
    """Decrypted from a file object, and from a memory mapping of the same bytes (how the pack
    reader's children read a pack, hygie.backups.packreader): the two must give the same bytes,
    or refuse with the same error, which is raised here."""
    from_file = _outcome(io.BytesIO(sealed), read, identity)
    if sealed:  # an empty file cannot be mapped: the pack reader reads it as a file
        with tempfile.TemporaryFile() as fh:
            fh.write(sealed)
            fh.flush()
            # Not closed here: after a refusal a view may still be held by the error's frames;
            # the mapping goes with the last of them.
            from_mapping = _outcome(mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ), read, identity)
        assert from_mapping == from_file
    data, error = from_file
    if data is None:
        raise AgeError(error)
    return data


def _payload_start(sealed: bytes) -> int:
    return sealed.index(b"\n", sealed.index(b"\n--- ")) + 1 + 16


SIZES = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 3 * CHUNK + 5, 20 * CHUNK + 7, 5 * 1024 * 1024 + 3]


@pytest.mark.parametrize("size", SIZES)
def test_it_decrypts_what_pyrage_encrypts(size):
    data = os.urandom(size)
    sealed = _encrypt(data)
    assert _decrypt(sealed) == data
    assert _decrypt(sealed, read=1000) == data  # reads smaller than a chunk


@pytest.mark.parametrize("size", [0, 1, CHUNK + 1, 3 * CHUNK + 5])
def test_pieces_hand_out_the_plaintext_without_copies_across_chunks(size):
    data = os.urandom(size)
    stream = agedecrypt.Decrypting(io.BytesIO(_encrypt(data)), KEY)
    got = []
    try:
        for n in (1, 700, CHUNK, 2 * CHUNK + 3, 10):  # sizes that straddle chunk boundaries
            pieces = stream.pieces(n)
            assert sum(len(p) for p in pieces) <= n
            got.append(b"".join(pieces))
        got.append(b"".join(stream.pieces(size)))
        assert stream.pieces(1) == []  # the end
    finally:
        stream.close()
    assert b"".join(got) == data


def test_the_identity_is_found_among_several_recipients():
    others = [x25519.Identity.generate().to_public() for _ in range(2)]
    sealed = _encrypt(b"x" * 100_000, others[0], IDENTITY.to_public(), others[1])
    assert _decrypt(sealed) == b"x" * 100_000


def test_a_wrong_identity_is_named_as_such():
    sealed = _encrypt(b"secret")
    other = agedecrypt.Identity(str(x25519.Identity.generate()))
    with pytest.raises(AgeError, match="no matching identity"):
        _decrypt(sealed, identity=other)


def test_the_identity_decodes_to_the_key_pyrage_derives():
    recipient = agedecrypt.bech32_decode(str(IDENTITY.to_public()), "age")
    assert KEY.recipient == recipient
    text = str(IDENTITY)
    damaged = text[:-1] + ("q" if text[-1] != "q" else "p")
    for bad in (damaged, text.lower().replace("age-secret-key-", "age-public-key-"), "AGE-SECRET-KEY-1", ""):
        with pytest.raises(AgeError, match="invalid identity"):
            agedecrypt.Identity(bad)


@pytest.mark.parametrize("size", [10, CHUNK, 2 * CHUNK, 2 * CHUNK + 10])
def test_truncation_is_refused_even_at_a_chunk_boundary(size):
    sealed = _encrypt(os.urandom(size))
    start = _payload_start(sealed)
    cuts = {len(sealed) - 1, start, start - 1, start + 5}
    cuts |= {
        start + k * ENCRYPTED_CHUNK for k in range(1, size // CHUNK + 1) if start + k * ENCRYPTED_CHUNK < len(sealed)
    }
    for cut in sorted(cuts):
        with pytest.raises(AgeError):
            _decrypt(sealed[:cut])


@pytest.mark.parametrize("extra", [b"\x00", os.urandom(100), os.urandom(ENCRYPTED_CHUNK)])
def test_bytes_after_the_last_chunk_are_refused(extra):
    for size in (10, CHUNK):
        with pytest.raises(AgeError):
            _decrypt(_encrypt(os.urandom(size)) + extra)


def test_one_flipped_bit_anywhere_is_refused():
    sealed = _encrypt(os.urandom(2 * CHUNK + 100))
    header_end = _payload_start(sealed) - 16
    for offset in (0, 5, 25, 40, header_end - 20, header_end - 2, header_end + 3, header_end + 16 + 7, len(sealed) - 1):
        damaged = bytearray(sealed)
        damaged[offset] ^= 0x01
        with pytest.raises(AgeError):
            _decrypt(bytes(damaged))


def test_a_low_order_share_is_refused():
    """An all-zero shared secret aborts (spec), before anything else is tried."""
    sealed = _encrypt(b"data")
    line = sealed.split(b"\n")[1]
    assert line.startswith(b"-> X25519 ")
    zero = base64.b64encode(bytes(32)).rstrip(b"=")
    forged = sealed.replace(line, b"-> X25519 " + zero, 1)
    with pytest.raises(AgeError, match="X25519 share"):
        _decrypt(forged)


def test_non_canonical_base64_is_refused():
    sealed = _encrypt(b"data")
    line = sealed.split(b"\n")[1]
    share = line.split(b" ")[2]
    last = share[-1:]
    # The last character of a 32-byte value carries 2 unused bits: changing them keeps the
    # decoded bytes but breaks canonical form.
    alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    twin = bytes([alphabet[alphabet.index(last) ^ 1]])
    forged = sealed.replace(line, line[:-1] + twin, 1)
    assert base64.b64decode(share + b"=") == base64.b64decode(share[:-1] + twin + b"=")
    with pytest.raises(AgeError, match="base64"):
        _decrypt(forged)


def test_a_scrypt_stanza_beside_another_is_refused():
    sealed = _encrypt(b"data")
    lines = sealed.split(b"\n")
    scrypt = (
        b"-> scrypt " + base64.b64encode(bytes(16)).rstrip(b"=") + b" 10\n" + base64.b64encode(bytes(32)).rstrip(b"=")
    )
    forged = b"\n".join([lines[0], scrypt, *lines[1:]])
    with pytest.raises(AgeError, match="scrypt"):
        _decrypt(forged)


def test_not_an_age_file_is_refused():
    for data in (b"", b"hello\n", b"age-encryption.org/v2\n", b"age-encryption.org/v1\n--- abc\n"):
        with pytest.raises(AgeError):
            _decrypt(data)


class _Failing(io.RawIOBase):
    def __init__(self, sealed: bytes, after: int) -> None:
        self.data = io.BytesIO(sealed)
        self.after = after

    def readable(self) -> bool:
        return True

    def readinto(self, buffer):
        if self.data.tell() >= self.after:
            raise OSError(5, "Input/output error")
        n = self.data.readinto(memoryview(buffer)[: max(1, self.after - self.data.tell())])
        return n


def test_a_failing_source_is_reported_as_a_read_error():
    sealed = _encrypt(os.urandom(3 * CHUNK))
    for after in (10, len(sealed) // 2):
        stream = agedecrypt.Decrypting(io.BufferedReader(_Failing(sealed, after), 4096), KEY)
        with pytest.raises(agedecrypt.SourceError, match="Input/output"):
            while stream.readinto(memoryview(bytearray(CHUNK))):
                pass
        stream.close()


def test_closing_early_stops_the_decrypting_thread():
    sealed = _encrypt(os.urandom(40 * CHUNK))
    before = threading.active_count()
    stream = agedecrypt.Decrypting(io.BytesIO(sealed), KEY)
    assert stream.readinto(memoryview(bytearray(100))) == 100
    stream.close()
    assert threading.active_count() == before


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    size=st.sampled_from([0, 1, 500, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK]),
    where=st.floats(0, 1, exclude_max=True),
    flip=st.integers(1, 255),
    cut=st.booleans(),
)
def test_it_accepts_and_refuses_exactly_what_pyrage_does(size, where, flip, cut):
    data = os.urandom(size)
    sealed = bytearray(_encrypt(data))
    offset = int(where * len(sealed))
    if cut:
        del sealed[offset:]
    else:
        sealed[offset] ^= flip
    try:
        expected = pyrage.decrypt(bytes(sealed), [IDENTITY])
    except Exception:
        expected = None
    try:
        got = _decrypt(bytes(sealed))
    except AgeError:
        got = None
    assert got == expected


def test_the_helper_processes_run_the_command_line():
    """The entry point a restore starts its helper processes with (hygie.backups.helper)."""
    result = subprocess.run([sys.executable, "-m", "hygie.backups.helper", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "backup run" in result.stdout
