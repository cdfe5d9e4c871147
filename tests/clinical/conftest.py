import io

import pytest

from hygie.patients import actions as patient_actions

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
TIFF = b"II*\x00" + b"\0" * 64


@pytest.fixture
def upload():
    def _upload(patient, actor, content=PDF, title="Compte rendu"):
        return patient_actions.upload_document(actor=actor, patient=patient, title=title, kind="compte_rendu",
                                               fileobj=io.BytesIO(content))
    return _upload
