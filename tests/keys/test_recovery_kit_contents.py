"""The recovery kit also carries the journal signing key (lines J01…) and the backup identity
(AGE-SECRET-KEY-1…); `hygie keys recover` writes them back where they are missing, never over
different ones, and still reads the kits printed before them."""

from __future__ import annotations

import io
import json
import re
import shutil

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from hygie.audit import checkpoint, conf
from hygie.audit.events import Ev
from hygie.audit.models import Event
from hygie.backups import identity
from hygie.keys import kit, service
from hygie.lib import backuparchive, crypto, keyfile, recoverykit


def test_the_signing_key_code_round_trips_and_catches_typos():
    private = crypto.ed25519_generate()
    code = recoverykit.encode_signing_key(private)
    printed = "\n".join(recoverykit.lines(code, "J"))
    assert printed.startswith("J01  ") and "\nJ02  " in printed
    assert recoverykit.decode_signing_key(recoverykit.find_lines(printed, "J").lower()) == private
    # The L lines of the same text are not taken for it, nor it for them.
    assert recoverykit.find_lines(printed, "L") == ""
    typo = code[:6] + ("A" if code[6] != "A" else "B") + code[7:]
    with pytest.raises(recoverykit.KitError, match="Clé de signature du journal .* erronée \\(somme de contrôle\\)"):
        recoverykit.decode_signing_key(typo)
    with pytest.raises(recoverykit.KitError, match="incomplète"):
        recoverykit.decode_signing_key(code[:-5])


@pytest.fixture
def kit_file(db, own_key_file, tmp_path):
    """A text kit of this test's keys; the signing key and the identity exist next to them."""
    path = tmp_path / "kit.txt"
    call_command("keys", "recovery-kit", "--format", "txt", "--out", str(path), stdout=io.StringIO())
    return path


def _lose_everything(own_key_file) -> tuple[keyfile.KeyMaterial, bytes, str]:
    """What the lost machine had; its three files gone."""
    lost = (keyfile.load(own_key_file), checkpoint.load_signing_key().private, identity.load())
    own_key_file.unlink()
    conf.signing_key_file().unlink()
    identity.identity_file().unlink()
    service.reset()
    return lost


def _recover(*args: str) -> str:
    out = io.StringIO()
    call_command("keys", "recover", *args, stdout=out)
    return out.getvalue()


@pytest.mark.parametrize("fmt", ["txt", "pdf"])
def test_the_kit_carries_the_signing_key_and_the_backup_identity(fmt, db, own_key_file, tmp_path):
    if fmt == "pdf" and shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    path = tmp_path / f"kit.{fmt}"
    call_command("keys", "recovery-kit", "--format", fmt, "--out", str(path), stdout=io.StringIO())
    signing = checkpoint.load_signing_key()
    text = kit.read_kit_text(path)
    assert f"Clé de signature du journal (clé {signing.key_id})" in text and "J01" in text
    assert "Reprise après sinistre" in text and "packs/pack-" in text
    contents = kit.read_kit_file(path)
    assert contents.signing_key == signing.private
    assert contents.backup_identity == identity.load()
    assert contents.material.kek == keyfile.load(own_key_file).kek


def test_recover_writes_back_the_signing_key_and_the_backup_identity(kit_file, own_key_file):
    material, private, secret = _lose_everything(own_key_file)
    out = _recover("--kit", str(kit_file))
    assert "Clé de signature du journal reconstituée" in out and "Identité de sauvegarde reconstituée" in out

    assert keyfile.load(own_key_file).kek == material.kek
    signing_file, identity_file = conf.signing_key_file(), identity.identity_file()
    for path in (own_key_file, signing_file, identity_file):
        assert path.stat().st_mode & 0o777 == 0o600
    # The formats the journal and the backups read.
    assert checkpoint.load_signing_key().private == private
    assert json.loads(signing_file.read_text())["version"] == checkpoint.SIGNING_KEY_VERSION
    text = identity_file.read_text()
    assert identity.load() == secret and text.splitlines()[-1] == secret
    assert f"# public key: {backuparchive.recipient_of(secret)}" in text
    event = Event.objects.get(action=Ev.KEYS_RECOVERED)
    assert event.details == {"kek": material.primary_kek, "keyfile": True, "signing_key": True, "backup_identity": True}


@pytest.mark.parametrize("which", ["signing_key", "identity"])
def test_recover_never_replaces_a_different_signing_key_or_identity(which, kit_file, own_key_file):
    _lose_everything(own_key_file)
    if which == "signing_key":
        other = checkpoint.load_or_create_signing_key()  # made on this machine meanwhile
        expected = "Une autre clé de signature du journal existe déjà"
        path, before = conf.signing_key_file(), other.private.hex()
    else:
        identity.load_or_create()
        expected = "Une autre identité de sauvegarde existe déjà"
        path, before = identity.identity_file(), identity.load()
    with pytest.raises(CommandError, match=expected) as caught:
        _recover("--kit", str(kit_file))
    assert "Rien n'a été modifié" in str(caught.value)
    # Nothing written: not even the key file.
    assert not own_key_file.exists()
    assert before in path.read_text()
    assert not Event.objects.filter(action=Ev.KEYS_RECOVERED).exists()


def test_recover_refuses_an_unreadable_signing_key(kit_file, own_key_file):
    _lose_everything(own_key_file)
    conf.signing_key_file().write_text("{abîmé")
    with pytest.raises(CommandError, match="Clé de signature du journal illisible.*Déplacez"):
        _recover("--kit", str(kit_file))
    assert not own_key_file.exists()


def test_recover_completes_a_key_file_already_in_place(kit_file, own_key_file):
    """The key file was saved apart (as advised), the signing key and the identity were not."""
    before = own_key_file.read_bytes()
    private = checkpoint.load_signing_key().private
    conf.signing_key_file().unlink()
    identity.identity_file().unlink()
    out = _recover("--kit", str(kit_file))
    assert "Fichier de clés déjà en place, conforme au kit" in out
    assert own_key_file.read_bytes() == before  # untouched: the same secret key, sessions go on
    assert checkpoint.load_signing_key().private == private and identity.identity_file().exists()
    assert Event.objects.get(action=Ev.KEYS_RECOVERED).details["keyfile"] is False
    # All in place now: nothing left to do, and said so.
    with pytest.raises(CommandError, match="existe déjà.*rien à reconstituer"):
        _recover("--kit", str(kit_file))


def test_an_older_kit_still_recovers_the_key_file_and_says_what_it_lacks(kit_file, own_key_file):
    text = kit_file.read_text()
    older = re.sub(r"(?m)^(J\d\d .*|AGE-SECRET-KEY-1\S+)$", "", text)
    assert not recoverykit.find_lines(older, "J") and not recoverykit.find_age_identity(older)
    kit_file.write_text(older)
    material, _private, _secret = _lose_everything(own_key_file)
    out = _recover("--kit", str(kit_file))
    assert keyfile.load(own_key_file).kek == material.kek
    assert "ne contient pas la clé de signature du journal" in out
    assert "ne contient pas l'identité de sauvegarde" in out and "--identity" in out
    assert not conf.signing_key_file().exists() and not identity.identity_file().exists()
    details = Event.objects.get(action=Ev.KEYS_RECOVERED).details
    assert details["signing_key"] is False and details["backup_identity"] is False


def test_a_damaged_identity_line_is_refused_not_skipped(kit_file, own_key_file):
    text = kit_file.read_text()
    secret = identity.load()
    kit_file.write_text(text.replace(secret, secret[:-3] + ("QQQ" if not secret.endswith("QQQ") else "PPP")))
    _lose_everything(own_key_file)
    with pytest.raises(CommandError, match="Identité de sauvegarde erronée"):
        _recover("--kit", str(kit_file))
    assert not own_key_file.exists()


def test_the_kit_can_be_typed_line_by_line(kit_file, own_key_file, monkeypatch):
    text = kit_file.read_text()
    material, private, secret = _lose_everything(own_key_file)
    code_lines = [line for line in text.splitlines() if re.match(r"L\d\d ", line)]
    signing_lines = [line.split(None, 1)[1].lower() for line in text.splitlines() if re.match(r"J\d\d ", line)]
    typed = iter([*code_lines, "", *signing_lines, "", secret.lower(), ""])
    monkeypatch.setattr("builtins.input", lambda: next(typed))
    out = _recover()
    assert "J01, J02" in out and "AGE-SECRET-KEY-1" in out
    assert keyfile.load(own_key_file).kek == material.kek
    assert checkpoint.load_signing_key().private == private and identity.load() == secret


def test_a_typed_older_kit_leaves_the_new_parts_empty(kit_file, own_key_file, monkeypatch):
    text = kit_file.read_text()
    _lose_everything(own_key_file)
    code_lines = [line for line in text.splitlines() if re.match(r"L\d\d ", line)]
    typed = iter([*code_lines, ""])  # then the end of the input: nothing more to type

    def fake_input():
        try:
            return next(typed)
        except StopIteration:
            raise EOFError from None

    monkeypatch.setattr("builtins.input", fake_input)
    out = _recover()
    assert own_key_file.exists() and "ne contient pas la clé de signature du journal" in out


def test_a_typing_error_in_the_signing_key_is_caught_before_anything_is_written(kit_file, own_key_file, monkeypatch):
    text = kit_file.read_text()
    _lose_everything(own_key_file)
    code_lines = [line for line in text.splitlines() if re.match(r"L\d\d ", line)]
    signing_lines = [line for line in text.splitlines() if re.match(r"J\d\d ", line)]
    first = signing_lines[0]
    signing_lines[0] = first[:6] + ("A" if first[6] != "A" else "B") + first[7:]
    typed = iter([*code_lines, "", *signing_lines, ""])
    monkeypatch.setattr("builtins.input", lambda: next(typed))
    with pytest.raises(CommandError, match="somme de contrôle"):
        _recover()
    assert not own_key_file.exists()
