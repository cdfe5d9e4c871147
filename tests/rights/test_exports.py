"""The answers Hygie produces: the record as a PDF (read back with pdftotext, attachments with
pdfdetach), the FHIR R4 Bundle validated resource by resource with fhir.resources (R4B models)
and read back."""

from __future__ import annotations

import base64
import json
import subprocess

import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle

from hygie.audit.events import Ev
from hygie.audit.models import Event
from hygie.lib import ins
from hygie.rights import actions
from tests.rights.helpers import PDF, fill_record, material, record

VALID_NIR = "180057512345627"  # key 97 - (1800575123456 mod 97)


def _export(personas, fmt, right="portabilite", **patient_fields):
    patient = personas.alice_patient
    for name, value in patient_fields.items():
        setattr(patient, name, value)
    patient.save()
    fill_record(patient, personas.alice)
    req = record(personas.alice, patient, right)
    return req, actions.export(actor=personas.alice, request=req, fmt=fmt, material=material(personas.alice, patient))


def test_the_nir_key_is_checked():
    assert 97 - int(VALID_NIR[:13]) % 97 == int(VALID_NIR[13:])
    assert ins.is_valid_nir(VALID_NIR)
    assert not ins.is_valid_nir(VALID_NIR[:-1] + "0")
    assert not ins.is_valid_nir("12345")


def test_the_fhir_bundle_validates_resource_by_resource_and_reads_back(personas):
    req, data = _export(personas, "fhir", ins=VALID_NIR, usage_name="Petit")
    bundle = json.loads(data)
    Bundle.model_validate(bundle)
    kinds = []
    for entry in bundle["entry"]:
        resource = entry["resource"]
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        assert entry["fullUrl"] == f"urn:uuid:{resource['id']}"
        kinds.append(resource["resourceType"])
    assert sorted(kinds) == ["Appointment", "DocumentReference", "Encounter", "Observation", "Observation", "Patient"]

    by_type = {}
    for entry in bundle["entry"]:
        by_type.setdefault(entry["resource"]["resourceType"], []).append(entry["resource"])
    [patient] = by_type["Patient"]
    assert "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-patient" in patient["meta"]["profile"]
    assert {"use": "official", "system": "urn:oid:1.2.250.1.213.1.4.8", "value": VALID_NIR} in patient["identifier"]
    assert patient["name"][0] == {"use": "official", "family": "Moreau", "given": ["Jeanne"]}
    assert patient["name"][1]["family"] == "Petit"
    assert patient["birthDate"] == "1980-05-17" and patient["gender"] == "female"
    history = next(o for o in by_type["Observation"] if o["code"].get("coding"))
    assert history["code"]["coding"][0]["code"] == "11348-0"
    assert history["valueString"] == "Asthme depuis l'enfance"
    [encounter] = by_type["Encounter"]
    assert encounter["reasonCode"][0]["text"] == "Toux persistante"
    notes = next(o for o in by_type["Observation"] if not o["code"].get("coding"))
    assert notes["encounter"]["reference"] == f"urn:uuid:{encounter['id']}"
    assert notes["valueString"] == "Sibilants, spirométrie prévue"
    [doc] = by_type["DocumentReference"]
    assert doc["description"] == "Compte rendu pneumologie"
    assert base64.b64decode(doc["content"][0]["attachment"]["data"]) == PDF
    [appointment] = by_type["Appointment"]
    assert appointment["description"] == "Contrôle asthme"

    [event] = Event.objects.filter(action=Ev.RIGHTS_EXPORTED)
    assert event.details["request"] == str(req.public_id) and event.details["format"] == "fhir"
    assert "Moreau" not in str(event.details)


def test_an_unqualified_ins_is_not_exported_as_an_ins(personas):
    _, data = _export(personas, "fhir", ins="123456789012345")
    patient = json.loads(data)["entry"][0]["resource"]
    assert all(i["system"] != ins.INS_NIR_OID for i in patient["identifier"])
    assert patient["meta"]["profile"] == ["https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-patient"]


def test_the_pdf_reads_back_with_the_whole_record_and_its_documents_attached(personas, tmp_path):
    req, data = _export(personas, "pdf", right="acces")
    path = tmp_path / "dossier.pdf"
    path.write_bytes(data)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    for expected in ("Copie de votre dossier", "Moreau", "Jeanne", "17/05/1980", "Asthme depuis l'enfance",
                     "Toux persistante", "Sibilants", "Compte rendu pneumologie", "document-001.pdf",
                     "Contrôle asthme", "Accès à votre dossier"):
        assert expected in text, expected
    listing = subprocess.run(["pdfdetach", "-list", str(path)], capture_output=True, text=True, check=True).stdout
    assert "document-001.pdf" in listing
    subprocess.run(["pdfdetach", "-save", "1", "-o", str(tmp_path / "doc.pdf"), str(path)], check=True)
    assert (tmp_path / "doc.pdf").read_bytes() == PDF
    # The file names no one in its metadata (it is handed over, mailed, stored by the patient).
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    assert "Moreau" not in info


@pytest.mark.parametrize("right", ["rectification", "effacement", "limitation", "opposition"])
def test_only_access_and_portability_are_exported(personas, right):
    req = record(personas.alice, personas.alice_patient, right)
    with pytest.raises(actions.ActionError, match="export"):
        actions.export(actor=personas.alice, request=req, fmt="pdf",
                       material=material(personas.alice, personas.alice_patient))
    assert not Event.objects.filter(action=Ev.RIGHTS_EXPORTED).exists()
