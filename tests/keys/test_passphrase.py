"""Passphrase mode: `hygie keys protect` / `unprotect`, a sealed key file, a locked process."""

from __future__ import annotations

import base64
import io
import json
from dataclasses import replace
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from hygie.audit.events import Ev
from hygie.audit.models import Event
from hygie.keys import service
from hygie.lib import keyfile, recoverykit
from hygie.patients.models import Patient
from hygie.worker import runner
from hygie.worker.registry import JobSpec
from tests.keys.conftest import PASSPHRASE


@pytest.fixture
def passphrase_file(tmp_path):
    def write(text: str) -> str:
        path = tmp_path / f"phrase-{abs(hash(text))}.txt"
        path.write_text(text + "\n")
        return str(path)

    return write


def _forms(key: bytes) -> list[bytes]:
    """The ways a key could be written in clear in a file."""
    b64 = base64.b64encode(key)
    return [
        key,
        key.hex().encode(),
        key.hex().upper().encode(),
        b64,
        b64.rstrip(b"="),
        base64.urlsafe_b64encode(key).rstrip(b"="),
        base64.b32encode(key).rstrip(b"="),
        base64.b32encode(key).lower().rstrip(b"="),
    ]


def test_it_protects_and_unprotects_the_key_file(personas, own_key_file, fast_scrypt, passphrase_file):
    plain = keyfile.load(own_key_file)
    out = io.StringIO()
    call_command("keys", "protect", "--passphrase-file", passphrase_file(PASSPHRASE), stdout=out)
    assert "protégé par une phrase de passe" in out.getvalue()
    doc = json.loads(own_key_file.read_text())
    assert doc["version"] == 3 and doc["kdf"]["name"] == "scrypt" and "keks" not in doc
    assert doc["secret_key"] == plain.secret_key and doc["kek_ids"] == sorted(plain.keks)
    assert keyfile.read_header(own_key_file).protected
    with pytest.raises(keyfile.KeyFileLocked):
        keyfile.load(own_key_file)
    assert keyfile.load(own_key_file, passphrase=PASSPHRASE) == plain

    call_command("keys", "unprotect", "--passphrase-file", passphrase_file(PASSPHRASE), stdout=io.StringIO())
    doc = json.loads(own_key_file.read_text())
    assert doc["version"] == 2 and keyfile.load(own_key_file) == plain
    events = list(Event.objects.filter(action__startswith="keys:").values_list("action", flat=True))
    assert events == [Ev.KEYS_PROTECTED, Ev.KEYS_UNLOCKED, Ev.KEYS_UNPROTECTED]


def test_it_refuses_a_wrong_passphrase(personas, protected_key_file, passphrase_file):
    before = protected_key_file.read_bytes()
    with pytest.raises(keyfile.WrongPassphrase):
        keyfile.load(protected_key_file, passphrase="cheval agrafe batterie correcte soleil lune marais")
    err = io.StringIO()
    with pytest.raises(CommandError, match="Déverrouillage impossible") as exc:
        call_command("keys", "unprotect", "--passphrase-file", passphrase_file("pas la bonne"), stderr=err)
    assert exc.value.returncode == 2 and "Phrase de passe incorrecte" in err.getvalue()
    assert protected_key_file.read_bytes() == before
    assert Event.objects.filter(action=Ev.KEYS_UNLOCK_FAILED, outcome="failure").count() == 1
    assert service.is_locked()


def test_it_refuses_a_weak_passphrase(personas, own_key_file, fast_scrypt, passphrase_file):
    before = own_key_file.read_bytes()
    with pytest.raises(CommandError, match="trop faible"):
        call_command("keys", "protect", "--passphrase-file", passphrase_file("motdepasse"))
    assert own_key_file.read_bytes() == before


def test_it_changes_the_passphrase(personas, protected_key_file, passphrase_file):
    new = "Une toute autre phrase, 2025 !"
    call_command(
        "keys", "protect", "--current-passphrase-file", passphrase_file(PASSPHRASE),
        "--passphrase-file", passphrase_file(new), stdout=io.StringIO(),
    )  # fmt: skip
    with pytest.raises(keyfile.WrongPassphrase):
        keyfile.load(protected_key_file, passphrase=PASSPHRASE)
    assert (
        keyfile.load(protected_key_file, passphrase=new).primary_kek
        == keyfile.read_header(protected_key_file).primary_kek
    )
    assert Event.objects.get(action=Ev.KEYS_PROTECTED).details["changed"] is True


def test_a_protected_key_file_holds_no_key_in_clear(own_key_file, fast_scrypt):
    plain = keyfile.load(own_key_file)
    keys = [plain.fingerprint_key, plain.data_root_key, *plain.keks.values()]
    plain_bytes = own_key_file.read_bytes()
    # The comparison is meaningful: the plain file does hold them.
    assert all(key.hex().encode() in plain_bytes for key in keys)
    keyfile.write(own_key_file, replace(plain, protection=keyfile.Protection.derive(PASSPHRASE)))
    sealed = own_key_file.read_bytes()
    for key in keys:
        for form in _forms(key):
            assert form not in sealed
    kit = recoverykit.encode(plain.fingerprint_key, plain.data_root_key, plain.kek).replace(" ", "")
    assert kit[:40].encode() not in sealed
    assert PASSPHRASE.encode() not in sealed


def test_it_refuses_a_protected_file_whose_readable_part_was_changed(protected_key_file):
    doc = json.loads(protected_key_file.read_text())
    doc["secret_key"] = "changed"
    protected_key_file.write_text(json.dumps(doc))
    with pytest.raises(keyfile.WrongPassphrase):
        keyfile.load(protected_key_file, passphrase=PASSPHRASE)


def test_a_locked_process_reads_no_patient_data(personas, protected_key_file):
    patient_pk = personas.alice_patient.pk
    assert service.is_locked()
    with pytest.raises(service.KeysLocked, match="verrouillé"):
        service.material()
    with pytest.raises(service.KeysLocked):
        Patient.objects.get(pk=patient_pk).display_name  # noqa: B018
    material = service.unlock(PASSPHRASE)
    assert not service.is_locked() and material.protection is not None
    assert Patient.objects.get(pk=patient_pk).birth_name == "Moreau"
    service.lock()
    assert service.is_locked()


def test_a_rotation_keeps_the_key_file_protected(personas, protected_key_file, passphrase_file):
    old = keyfile.read_header(protected_key_file).primary_kek
    call_command(
        "keys", "rotate", "--grace-seconds", "0", "--passphrase-file", passphrase_file(PASSPHRASE),
        stdout=io.StringIO(),
    )  # fmt: skip
    header = keyfile.read_header(protected_key_file)
    assert header.protected and header.primary_kek != old
    assert keyfile.load(protected_key_file, passphrase=PASSPHRASE).primary_kek == header.primary_kek
    service.lock()
    service.unlock(PASSPHRASE)
    assert Patient.objects.get(pk=personas.alice_patient.pk).birth_name == "Moreau"


def test_a_running_process_keeps_its_keys_when_the_file_is_protected(personas, own_key_file, fast_scrypt):
    assert Patient.objects.get(pk=personas.alice_patient.pk).birth_name == "Moreau"
    # Another process (`hygie keys protect`) seals the file meanwhile: same keys, still usable here.
    material = keyfile.load(own_key_file)
    keyfile.write(own_key_file, replace(material, protection=keyfile.Protection.derive(PASSPHRASE)))
    service.clear_cache()
    service.reload_if_changed()
    assert not service.is_locked()


def test_the_worker_skips_jobs_needing_keys_while_locked(db, protected_key_file):
    ran = []
    specs = [
        JobSpec("test-needs-keys", lambda: ran.append("keys"), timedelta(minutes=1)),
        JobSpec("test-journal", lambda: ran.append("journal"), timedelta(minutes=1), needs_keys=False),
    ]
    runner.run_due(timezone.now(), specs=specs)
    assert ran == ["journal"]
    service.unlock(PASSPHRASE)
    runner.run_due(timezone.now() + timedelta(minutes=2), specs=specs)
    assert ran == ["journal", "keys", "journal"]


def test_the_worker_command_unlocks_from_stdin(personas, protected_key_file, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSPHRASE + "\n"))
    call_command("worker", "--once", "--unlock", "--passphrase-stdin", stdout=io.StringIO())
    assert not service.is_locked()
    assert Event.objects.filter(action=Ev.KEYS_UNLOCKED, details__channel="terminal").exists()
