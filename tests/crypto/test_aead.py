"""hygie.lib.crypto: AEAD with associated data, keyrings, streaming AEAD for documents."""

from __future__ import annotations

import io

import pytest

from hygie.lib import crypto


def test_it_round_trips_and_names_the_key():
    key = crypto.AeadKey(crypto.random_key())
    ct = key.encrypt(b"Dupont", b"patients.Patient|birth_name|row-1")
    assert key.decrypt(ct, b"patients.Patient|birth_name|row-1") == b"Dupont"
    assert ct[0] == crypto.FORMAT_V1 and crypto.ciphertext_key_id(ct) == key.key_id
    assert b"Dupont" not in ct and len(ct) == len(b"Dupont") + crypto.OVERHEAD


def test_it_refuses_a_ciphertext_moved_to_another_row_or_field():
    key = crypto.AeadKey(crypto.random_key())
    ct = key.encrypt(b"Dupont", b"Patient|birth_name|row-1")
    for other in (b"Patient|birth_name|row-2", b"Patient|first_names|row-1", b""):
        with pytest.raises(crypto.DecryptionError):
            key.decrypt(ct, other)


def test_it_refuses_a_wrong_key_and_any_altered_byte():
    key, other = crypto.AeadKey(crypto.random_key()), crypto.AeadKey(crypto.random_key())
    ct = key.encrypt(b"secret", b"ad")
    with pytest.raises(crypto.DecryptionError):
        other.decrypt(ct, b"ad")
    for i in range(len(ct)):
        altered = bytearray(ct)
        altered[i] ^= 1
        with pytest.raises(crypto.DecryptionError):
            key.decrypt(bytes(altered), b"ad")


def test_a_keyring_decrypts_with_the_key_the_ciphertext_names():
    old, new = crypto.AeadKey(crypto.random_key()), crypto.AeadKey(crypto.random_key())
    before = crypto.Keyring({old.key_id: old}, old.key_id).encrypt(b"dek", b"ad")
    ring = crypto.Keyring({old.key_id: old, new.key_id: new}, new.key_id)
    after = ring.encrypt(b"dek", b"ad")
    assert crypto.ciphertext_key_id(after) == new.key_id
    assert ring.decrypt(before, b"ad") == ring.decrypt(after, b"ad") == b"dek"
    with pytest.raises(crypto.DecryptionError):
        crypto.Keyring({new.key_id: new}, new.key_id).decrypt(before, b"ad")


def test_it_derives_separate_keys_per_purpose():
    root = crypto.random_key()
    assert crypto.derive_key(root, b"a") != crypto.derive_key(root, b"b")
    assert crypto.derive_key(root, b"a") == crypto.derive_key(root, b"a")


# --- Streaming ---------------------------------------------------------------------------

def _seal(data: bytes, key: bytes, prefix: bytes, ad: bytes = b"header") -> bytes:
    sealer = crypto.StreamEncryptor(key, prefix, ad)
    out = bytearray()
    view = memoryview(data)
    for i in range(0, len(data), 10_000):  # fed in pieces that do not match segments
        out += sealer.update(bytes(view[i : i + 10_000]))
    return bytes(out + sealer.finalize())


def _open(sealed: bytes, key: bytes, prefix: bytes, ad: bytes = b"header") -> bytes:
    return b"".join(crypto.stream_decrypt(key, prefix, ad, io.BytesIO(sealed).read))


SEG = crypto.SEGMENT_SIZE + 16


@pytest.mark.parametrize("size", [0, 1, crypto.SEGMENT_SIZE - 1, crypto.SEGMENT_SIZE, 3 * crypto.SEGMENT_SIZE + 5])
def test_it_streams_any_size(size):
    key, prefix = crypto.random_key(), b"\x01" * 7
    data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    sealed = _seal(data, key, prefix)
    assert _open(sealed, key, prefix) == data


def test_it_detects_truncation_reordering_and_extension():
    key, prefix = crypto.random_key(), b"\x02" * 7
    data = b"A" * crypto.SEGMENT_SIZE + b"B" * crypto.SEGMENT_SIZE + b"C" * 100
    sealed = _seal(data, key, prefix)
    segments = [sealed[i : i + SEG] for i in range(0, len(sealed), SEG)]
    assert len(segments) == 3
    damaged = {
        "last segment dropped": segments[0] + segments[1],
        "cut at a segment boundary": segments[0],
        "cut inside a segment": sealed[:-10],
        "reordered": segments[1] + segments[0] + segments[2],
        "segment repeated": segments[0] + segments[0] + segments[1] + segments[2],
        "data after the end": sealed + b"extra",
        "empty": b"",
    }
    for name, blob in damaged.items():
        with pytest.raises(crypto.DecryptionError):
            _open(blob, key, prefix)
        assert name


def test_it_binds_the_stream_to_its_header_and_key():
    key, prefix = crypto.random_key(), b"\x03" * 7
    sealed = _seal(b"scan", key, prefix, b"header-1")
    with pytest.raises(crypto.DecryptionError):
        _open(sealed, key, prefix, b"header-2")
    with pytest.raises(crypto.DecryptionError):
        _open(sealed, crypto.random_key(), prefix, b"header-1")
    with pytest.raises(crypto.DecryptionError):
        _open(sealed, key, b"\x04" * 7, b"header-1")
