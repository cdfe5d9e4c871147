"""`hygie rights export` for the operator: writes the answer to a recorded request, outside the
data directory, journaled with the request; bad input refused in French, nothing written."""

from __future__ import annotations

import io
import json
import stat

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from fhir.resources.R4B.bundle import Bundle

from hygie.audit.events import Ev
from hygie.audit.models import Event
from hygie.practices.models import Practice
from tests.rights.helpers import fill_record, record


@pytest.fixture
def cabinet(personas):
    Practice.objects.create(name="Cabinet des Lilas")
    fill_record(personas.alice_patient, personas.alice)
    return personas


def _run(*args):
    out = io.StringIO()
    call_command("rights", "export", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


def test_it_exports_the_bundle_for_the_open_request(cabinet, tmp_path):
    req = record(cabinet.alice, cabinet.alice_patient, "portabilite")
    target = tmp_path / "dossier.json"
    result = _run("--patient", cabinet.alice_patient.code.lower(), "--format", "fhir", "--out", str(target))
    assert result["request"] == str(req.public_id)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    Bundle.model_validate(json.loads(target.read_bytes()))
    event = Event.objects.get(action=Ev.RIGHTS_EXPORTED)
    assert event.details["via"] == "cli" and event.actor_role == "cli"


@pytest.mark.parametrize(
    ("setup", "out", "message"),
    [
        (False, "dossier.pdf", "Aucune demande"),
        (True, "DATA", "répertoire de données"),
        (True, "missing/dossier.pdf", "n'existe pas"),
        (True, "EXISTS", "existe déjà"),
    ],
)
def test_it_refuses_bad_input_and_writes_nothing(cabinet, tmp_path, setup, out, message):
    if setup:
        record(cabinet.alice, cabinet.alice_patient, "acces")
    if out == "DATA":
        target = settings.DATA_DIR / "dossier.pdf"
    elif out == "EXISTS":
        target = tmp_path / "deja.pdf"
        target.write_bytes(b"x")
    else:
        target = tmp_path / out
    with pytest.raises(CommandError, match=message):
        _run("--patient", cabinet.alice_patient.code, "--format", "pdf", "--out", str(target))
    assert not Event.objects.filter(action=Ev.RIGHTS_EXPORTED).exists()
    if out != "EXISTS":
        assert not target.exists()
    else:
        assert target.read_bytes() == b"x"


def test_an_unknown_patient_is_refused(cabinet, tmp_path):
    with pytest.raises(CommandError, match="Aucune demande"):
        _run("--patient", "P-ZZZZZZZZ", "--format", "pdf", "--out", str(tmp_path / "x.pdf"))
