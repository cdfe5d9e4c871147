from __future__ import annotations

from django.utils import timezone

from hygie.backups import identity
from hygie.keys import kit
from hygie.lib import keyfile


def test_it_prints_the_backup_identity_in_the_kit(vault):
    material = keyfile.load(vault.key_file)
    text = kit.as_text(material, "Cabinet des Lilas", timezone.now())
    secret = identity.load()
    assert secret.startswith("AGE-SECRET-KEY-1")
    assert secret in text
    assert "age -d -i" in text
    assert kit.as_pdf(material, "Cabinet des Lilas", timezone.now()).startswith(b"%PDF")


def test_it_keeps_the_identity_file_private_and_stable(vault):
    first = identity.load_or_create()
    assert identity.load_or_create() == first
    assert vault.identity_file.stat().st_mode & 0o777 == 0o600
    assert "# public key: age1" in vault.identity_file.read_text()
