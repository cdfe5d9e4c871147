from __future__ import annotations

import io

import pytest

from hygie.patients import actions as patient_actions

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
def documents_dir(tmp_path, settings):
    """A documents directory of the test's own, to see exactly what a reception leaves."""
    settings.DOCUMENTS_DIR = tmp_path / "documents"
    settings.DATA_DIR = tmp_path / "var"
    settings.DATA_DIR.mkdir()
    return settings.DOCUMENTS_DIR


def blobs_in(directory) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


@pytest.fixture
def record(personas, documents_dir):
    """alice's patient with two documents (a PDF, a PNG) and an INS."""
    patient = personas.alice_patient
    patient.ins = "285057800608432"
    patient.history = "Allergie à la pénicilline"
    patient.save()
    docs = [
        patient_actions.upload_document(
            actor=personas.alice, patient=patient, title="Compte rendu opératoire", kind="compte_rendu",
            fileobj=io.BytesIO(PDF),
        ),
        patient_actions.upload_document(
            actor=personas.alice, patient=patient, title="Radio du genou", kind="resultat", fileobj=io.BytesIO(PNG),
        ),
    ]
    return patient, docs
