"""`hygie keys rotate`, `recovery-kit` and `recover`: a rotated key reads everything, a lost key
file comes back from the printed kit."""

from __future__ import annotations

import io
import shutil
import subprocess

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from hygie.audit.events import Ev
from hygie.audit.models import Event
from hygie.keys import service
from hygie.keys.models import PatientKey
from hygie.lib import keyfile
from hygie.patients import actions, documents
from hygie.patients.models import Patient
from tests.factories import make_consultation, make_patient

PDF = b"%PDF-1.4\n% canari document\n%%EOF\n"


def _everything_readable() -> list[str]:
    service.clear_cache()
    out = []
    for patient in Patient.objects.all():
        out.append(patient.display_name)
        out += [c.observations for c in patient.consultations.all()]
        for doc in patient.documents.all():
            with documents.open_blob(doc.storage_name, patient=patient) as f:
                assert f.read() == PDF
    return out


@pytest.fixture
def records(personas, own_key_file):
    for i in range(7):
        p = make_patient(personas.alice, birth_name=f"Rotation{i}")
        make_consultation(p, personas.alice, observations=f"obs {i}")
    actions.upload_document(
        actor=personas.alice, patient=personas.alice_patient, title="CR", kind="compte_rendu", fileobj=io.BytesIO(PDF)
    )
    return _everything_readable()


def test_a_rotated_key_still_reads_everything(records, own_key_file):
    old = keyfile.load(own_key_file).primary_kek
    out = io.StringIO()
    call_command("keys", "rotate", "--batch-size", "3", "--grace-seconds", "0", stdout=out)
    material = keyfile.load(own_key_file)
    assert material.primary_kek != old and set(material.keks) == {material.primary_kek}
    assert set(PatientKey.objects.values_list("kek_id", flat=True)) == {material.primary_kek}
    assert _everything_readable() == records
    event = Event.objects.get(action=Ev.KEYS_ROTATED)
    assert event.details["rewrapped"] == 9 and event.details["retired"] == [old]
    assert "ne vaut plus" in out.getvalue()


def test_readers_accept_both_master_keys_during_a_rotation(records, own_key_file):
    from hygie.keys import rotation
    from hygie.lib import crypto

    material = keyfile.load(own_key_file)
    new = crypto.random_key()
    keyfile.write(own_key_file, material.with_kek(new, primary=True))
    service.reset()
    # Half re-wrapped, as a rotation would leave it between two batches.
    rotation._rewrap_batch(crypto.AeadKey(new), 4)
    assert len(set(PatientKey.objects.values_list("kek_id", flat=True))) == 2
    assert _everything_readable() == records
    # A patient created meanwhile gets the new master key.
    patient = make_patient(None, birth_name="Pendant")
    assert PatientKey.objects.get(patient=patient).kek_id == crypto.aead_key_id(new)


@pytest.mark.parametrize("fmt", ["txt", "pdf"])
def test_a_lost_key_file_comes_back_from_the_recovery_kit(fmt, records, own_key_file, tmp_path, settings):
    if fmt == "pdf" and shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    kit = tmp_path / f"kit.{fmt}"
    call_command("keys", "recovery-kit", "--format", fmt, "--out", str(kit), stdout=io.StringIO())
    assert Event.objects.filter(action=Ev.RECOVERY_KIT_GENERATED).exists()
    material = keyfile.load(own_key_file)
    if fmt == "pdf":
        command = ["pdftotext", "-layout", str(kit), "-"]
        text = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        assert "kit de récupération" in text and "Code de récupération" in text and material.primary_kek in text
        assert "Cabinet" in text and "coffre" in text

    own_key_file.unlink()
    service.reset()
    with pytest.raises(service.KeysUnavailable):
        service.material()
    call_command("keys", "recover", "--kit", str(kit), stdout=io.StringIO())
    recovered = keyfile.load(own_key_file)
    assert recovered.kek == material.kek and recovered.data_root_key == material.data_root_key
    assert recovered.fingerprint_key == material.fingerprint_key
    assert recovered.secret_key != material.secret_key  # sessions start over
    assert _everything_readable() == records
    assert Event.objects.filter(action=Ev.KEYS_RECOVERED).exists()


def test_recover_refuses_to_overwrite_a_key_file_or_a_kit_of_another_practice(records, own_key_file, tmp_path):
    kit = tmp_path / "kit.txt"
    call_command("keys", "recovery-kit", "--format", "txt", "--out", str(kit), stdout=io.StringIO())
    with pytest.raises(CommandError, match="existe déjà"):
        call_command("keys", "recover", "--kit", str(kit))
    own_key_file.unlink()
    service.reset()
    other = tmp_path / "other.txt"
    from django.utils import timezone

    from hygie.keys import kit as kits

    other.write_text(kits.as_text(keyfile.new_material(), "Autre cabinet", timezone.now()))
    with pytest.raises(CommandError, match="autre cabinet"):
        call_command("keys", "recover", "--kit", str(other))
    assert not own_key_file.exists()
