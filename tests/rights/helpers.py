from __future__ import annotations

import io
from datetime import timedelta

from django.utils import timezone

from hygie.access import records
from hygie.patients import actions as patient_actions
from hygie.rights import actions
from tests.factories import make_appointment, make_consultation

PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def fill_record(patient, practitioner):
    """A record with everything an export carries."""
    patient_actions.update_history(actor=practitioner, patient=patient, history="Asthme depuis l'enfance")
    make_consultation(patient, practitioner, motif="Toux persistante", observations="Sibilants, spirométrie prévue")
    patient_actions.upload_document(
        actor=practitioner, patient=patient, title="Compte rendu pneumologie", kind="compte_rendu",
        fileobj=io.BytesIO(PDF),
    )
    make_appointment(patient, practitioner, reason="Contrôle asthme")


def record(actor, patient, right="acces", *, hours_ago=72, **extra):
    data = {
        "right": right,
        "received_at": timezone.now() - timedelta(hours=hours_ago),
        "channel": "sur_place",
        "requester": "patient",
        "identity_document": "cni",
        "identity_seen": "Nom, prénoms et photo concordants",
    }
    data.update(extra)
    return actions.record_request(actor=actor, patient=patient, **data)


def material(user, patient):
    return records.record_material(user, patient)
