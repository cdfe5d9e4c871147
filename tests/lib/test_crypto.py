from hygie.lib import crypto


def test_it_signs_and_verifies():
    key = crypto.ed25519_generate()
    public = crypto.ed25519_public_key(key)
    signature = crypto.ed25519_sign(key, b"message")

    assert len(key) == 32 and len(signature) == 64
    assert crypto.ed25519_verify(public, b"message", signature)


def test_it_rejects_a_changed_message_signature_or_key():
    key, other = crypto.ed25519_generate(), crypto.ed25519_generate()
    public = crypto.ed25519_public_key(key)
    signature = crypto.ed25519_sign(key, b"message")

    assert not crypto.ed25519_verify(public, b"messagE", signature)
    assert not crypto.ed25519_verify(public, b"message", bytes(64))
    assert not crypto.ed25519_verify(crypto.ed25519_public_key(other), b"message", signature)
    assert not crypto.ed25519_verify(b"short", b"message", signature)


def test_it_names_keys_stably():
    public = crypto.ed25519_public_key(crypto.ed25519_generate())
    assert crypto.key_id(public) == crypto.key_id(public) and len(crypto.key_id(public)) == 16
