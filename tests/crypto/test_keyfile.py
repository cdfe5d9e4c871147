"""The key file: version 2 with master keys; version 1 files still load, upgraded in place."""

from __future__ import annotations

import json
import os
import stat

import pytest

from hygie.lib import crypto, keyfile


def test_it_creates_a_version_2_file_with_a_master_key(tmp_path):
    path = tmp_path / "keys.json"
    material = keyfile.create(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    doc = json.loads(path.read_text())
    assert doc["version"] == 2 and doc["primary_kek"] in doc["keks"]
    again = keyfile.load(path)
    assert again.kek == material.kek and again.data_root_key == material.data_root_key
    assert crypto.aead_key_id(again.kek) == again.primary_kek
    assert "kek" not in repr(again).lower() or again.kek.hex() not in repr(again)


def test_it_upgrades_a_version_1_file_and_keeps_its_keys(tmp_path):
    path = tmp_path / "keys.json"
    path.write_text(json.dumps({"version": 1, "secret_key": "s3cret", "fingerprint_key": "ab" * 32}))
    os.chmod(path, 0o600)
    material = keyfile.load(path)
    assert material.secret_key == "s3cret" and material.fingerprint_key == bytes.fromhex("ab" * 32)
    assert len(material.kek) == 32 and len(material.data_root_key) == 32
    doc = json.loads(path.read_text())
    assert doc["version"] == 2 and doc["secret_key"] == "s3cret"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    # Loading again gives the same keys: the upgrade happened once.
    assert keyfile.load(path).kek == material.kek


def test_it_refuses_a_master_key_that_does_not_match_its_id(tmp_path):
    path = tmp_path / "keys.json"
    keyfile.create(path)
    doc = json.loads(path.read_text())
    kid = doc["primary_kek"]
    doc["keks"][kid] = "00" * 32
    path.write_text(json.dumps(doc))
    with pytest.raises(keyfile.KeyFileError, match="endommagé"):
        keyfile.load(path)


def test_rotation_helpers_add_and_retire_keys():
    material = keyfile.new_material()
    old = material.primary_kek
    rotated = material.with_kek(crypto.random_key(), primary=True)
    assert set(rotated.keks) == {old, rotated.primary_kek} and rotated.primary_kek != old
    assert set(rotated.without_kek(old).keks) == {rotated.primary_kek}
    with pytest.raises(ValueError):
        rotated.without_kek(rotated.primary_kek)
