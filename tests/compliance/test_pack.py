"""`hygie gdpr pack`: one archive with every proof, each file listed with its SHA-256; sections
that do not exist yet say so; other apps plug their sections in."""

from __future__ import annotations

import hashlib
import json
import subprocess
import zipfile

import pytest
from django.core.management.base import CommandError

from hygie.audit.events import Ev
from hygie.audit.models import Event
from hygie.compliance import actions, pack
from tests.compliance.conftest import PDF, gdpr_cli


@pytest.fixture
def archive(personas, practice, tmp_path):
    actions.add_processor(actor=personas.regine, name="Hébergeur Exemple", service="hosting", data_seen="health",
                          hds_number="HDS-1", contract=PDF)
    out = tmp_path / "controle.zip"
    text = gdpr_cli("pack", "--out", str(out))
    return out, text


def test_it_lists_every_file_with_its_sha256(archive):
    out, _ = archive
    with zipfile.ZipFile(out) as z:
        index = json.loads(z.read("INDEX.json"))
        names = set(z.namelist())
        for entry in index["files"]:
            assert hashlib.sha256(z.read(entry["path"])).hexdigest() == entry["sha256"]
        listed = {e["path"] for e in index["files"]}
        assert names == listed | {"INDEX.json", "INDEX.sha256"}
    for expected in ("NOTE.txt", "registre/registre.json", "registre/registre.csv", "registre/registre.pdf",
                     "sous-traitants/sous-traitants.pdf", "sous-traitants/contrats/01-hebergeur-exemple.pdf",
                     "information/affiche-salle-attente.pdf", "information/note-information.pdf",
                     "procedures/demandes-de-droits.txt", "procedures/incidents.txt",
                     "procedures/sauvegardes-et-restaurations.txt", "procedures/gestion-des-acces.txt",
                     "sauvegardes/historique.csv"):
        assert expected in listed, expected


def test_the_index_checks_with_sha256sum(archive, tmp_path):
    out, _ = archive
    folder = tmp_path / "x"
    with zipfile.ZipFile(out) as z:
        z.extractall(folder)
    result = subprocess.run(["sha256sum", "-c", "INDEX.sha256"], cwd=folder, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_missing_proofs_are_said_not_hidden(archive):
    out, text = archive
    with zipfile.ZipFile(out) as z:
        index = json.loads(z.read("INDEX.json"))
        assert "journal" in index["unavailable"]  # never verified in this practice
        assert "jamais été vérifié" in z.read("journal/NON-DISPONIBLE.txt").decode()
        note = z.read("NOTE.txt").decode()
        assert "n'est pas chiffrée" in note
    assert "Archive non chiffrée" in text


def test_it_holds_the_answers_to_rights_requests_in_codes(personas, practice, tmp_path):
    from tests.factories import make_patient
    from tests.rights.helpers import record

    patient = make_patient(personas.alice, birth_name="Moreau", first_names="Jeanne")
    request = record(personas.alice, patient)
    out = tmp_path / "controle.zip"
    gdpr_cli("pack", "--out", str(out))
    with zipfile.ZipFile(out) as z:
        index = json.loads(z.read("INDEX.json"))
        assert "droits" not in index["unavailable"]
        rows = json.loads(z.read("droits/demandes.json"))
        table = z.read("droits/demandes.csv").decode("utf-8-sig")
    expected = [(str(request.public_id), patient.code, "acces")]
    assert [(r["request"], r["patient_code"], r["right"]) for r in rows] == expected
    assert patient.code in table and "Moreau" not in table and "Jeanne" not in table


def test_it_holds_the_breach_register_and_the_fiche_reflexe(personas, practice, tmp_path):
    from datetime import timedelta

    from django.utils import timezone

    from hygie.incidents import actions as incident_actions

    now = timezone.now()
    incident_actions.open_incident(actor=personas.regine, title="Portable volé", discovered_at=now - timedelta(hours=2),
                                   aware_at=now - timedelta(hours=1))
    incident_actions.open_incident(actor=personas.regine, title="Exercice annuel", discovered_at=now,
                                   aware_at=now, exercise=True)
    out = tmp_path / "controle.zip"
    gdpr_cli("pack", "--out", str(out))
    with zipfile.ZipFile(out) as z:
        index = json.loads(z.read("INDEX.json"))
        assert "violations" not in index["unavailable"]
        rows = json.loads(z.read("violations/registre-violations.json"))
        assert z.read("violations/fiche-reflexe.pdf").startswith(b"%PDF")
        table = z.read("violations/registre-violations.csv").decode("utf-8-sig")
    assert [r["title"] for r in rows] == ["Portable volé"]  # an exercise is no breach
    assert "Portable volé" in table and "Exercice annuel" not in table


def test_the_contract_inside_is_the_one_uploaded(archive):
    out, _ = archive
    with zipfile.ZipFile(out) as z:
        assert z.read("sous-traitants/contrats/01-hebergeur-exemple.pdf") == PDF


def test_it_is_journaled_with_its_fingerprint(archive):
    out, _ = archive
    event = Event.objects.get(action=Ev.COMPLIANCE_PACK_EXPORTED)
    assert event.details["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert Event.objects.filter(action=Ev.COMPLIANCE_REGISTER_GENERATED).count() == 1


def test_an_app_can_replace_a_placeholder_section(personas, practice, monkeypatch):
    monkeypatch.setattr(pack, "_SECTIONS", dict(pack._SECTIONS))
    pack.register_section("violations", "Registre des violations", lambda register: {
        "registre-violations.csv": b"date;nature\r\n"})
    built = actions.export_pack(actor=personas.regine)
    assert "violations" not in built.unavailable
    assert "violations/registre-violations.csv" in {f["path"] for f in built.files}


def test_it_holds_no_patient_name(archive, tmp_path):
    out, _ = archive
    with zipfile.ZipFile(out) as z:
        for name in z.namelist():
            if name.endswith((".json", ".csv", ".txt", ".sha256")):
                text = z.read(name).decode("utf-8", "replace")
                for patient in ("Moreau", "Jeanne", "Bernard", "Louis"):
                    assert patient not in text, (name, patient)


def test_an_unwritable_destination_is_refused_and_leaves_nothing(personas, practice, tmp_path):
    with pytest.raises(CommandError, match="Dossier introuvable"):
        gdpr_cli("pack", "--out", str(tmp_path / "absent" / "p.zip"))
    # A destination that is a folder: the rename fails, the temporary file goes.
    folder = tmp_path / "dest"
    (folder / "r.pdf").mkdir(parents=True)
    with pytest.raises(CommandError, match="Impossible d'écrire"):
        gdpr_cli("register", "--format", "pdf", "--out", str(folder / "r.pdf"))
    assert [p.name for p in folder.iterdir()] == ["r.pdf"]


def test_the_hygie_command_routes_gdpr():
    from hygie.cli import COMMANDS, HELP, _route

    assert _route(["gdpr", "pack", "--out", "x.zip"]) == [COMMANDS["gdpr"], "pack", "--out", "x.zip"]
    assert "gdpr register --format json|csv|pdf --out FICHIER" in HELP


def test_the_register_on_standard_output(personas, practice):
    data = json.loads(gdpr_cli("register", "--format", "json", "--out", "-"))
    assert data["controller"]["name"] == "Cabinet des Tilleuls"
    with pytest.raises(CommandError, match="PDF"):
        gdpr_cli("register", "--format", "pdf", "--out", "-")
