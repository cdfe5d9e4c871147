from __future__ import annotations

import shutil

import pytest

from hygie.keys import service


@pytest.fixture
def own_key_file(tmp_path, settings):
    """A copy of the suite's key file that a test may rotate, lose and recover."""
    path = tmp_path / "keys" / "keys.json"
    path.parent.mkdir()
    shutil.copy(settings.KEY_FILE, path)
    settings.KEY_FILE = path
    service.reset()
    yield path
    service.reset()


PASSPHRASE = "cheval agrafe batterie correcte soleil lune marée"


@pytest.fixture
def fast_scrypt(monkeypatch):
    """The lowest scrypt cost the key file accepts: the tests derive many keys."""
    from hygie.lib import keyfile

    monkeypatch.setattr(keyfile, "SCRYPT_N", 2**14)


@pytest.fixture
def protected_key_file(own_key_file, fast_scrypt):
    """The test's key file, sealed under PASSPHRASE; this process starts locked."""
    from dataclasses import replace

    from hygie.lib import keyfile

    material = keyfile.load(own_key_file)
    keyfile.write(own_key_file, replace(material, protection=keyfile.Protection.derive(PASSPHRASE)))
    service.lock()
    yield own_key_file
