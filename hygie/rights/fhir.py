"""The portability answer (RGPD art. 20): the patient's data as a FHIR R4 Bundle in JSON.

Resources (docs/rights.md maps each field, with what FR Core says):
- Patient, profile FR Core `fr-core-patient`; the INS in `urn:oid:1.2.250.1.213.1.4.8` (profile
  `fr-core-patient-ins`) when the stored INS is a well-formed NIR (hygie.lib.ins);
- Observation "History of Past illness Narrative" (LOINC 11348-0) for the antécédents, its text
  in valueString;
- Encounter for each consultation (its motif in reasonCode.text), and an Observation with its
  observations, pointing to the Encounter;
- DocumentReference for each document, the file attached (base64, SHA-1 as FHIR asks);
- Appointment for each appointment.

Every resource is validated with the `fhir.resources` R4B models before it is written (the
resources used here are the same in R4 and R4B); a resource that does not validate stops the
export. Practitioners appear by name (display) only.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from datetime import timedelta
from typing import Any

from django.utils import timezone
from fhir.resources.R4B import get_fhir_model_class

from hygie.lib import ins
from hygie.patients import documents as blobs

FR_CORE = "https://hl7.fr/ig/fhir/core/StructureDefinition/"
PROFILE_PATIENT = FR_CORE + "fr-core-patient"
PROFILE_PATIENT_INS = FR_CORE + "fr-core-patient-ins"
# Hygie's pseudonymous patient code: a local identifier system.
CODE_SYSTEM = "urn:hygie:code-patient"
LOINC = "http://loinc.org"
HISTORY_LOINC = "11348-0"
GENDERS = {"F": "female", "M": "male", "I": "other"}


def _ref(kind: str, public_id: Any) -> str:
    """Entries are named by their uuid (fullUrl urn:uuid:…), the references point to them."""
    return f"urn:uuid:{public_id}"


def _instant(value: Any) -> str:
    return timezone.localtime(value).isoformat(timespec="seconds")


def patient_resource(patient: Any) -> dict[str, Any]:
    names = [{"use": "official", "family": patient.birth_name, "given": patient.first_names.split()}]
    if patient.usage_name:
        names.append({"use": "usual", "family": patient.usage_name, "given": patient.first_names.split()})
    identifiers = [{"use": "secondary", "system": CODE_SYSTEM, "value": patient.code}]
    profiles = [PROFILE_PATIENT]
    if patient.ins and ins.is_valid_nir(patient.ins):
        identifiers.insert(0, {"use": "official", "system": ins.INS_NIR_OID, "value": ins.normalise(patient.ins)})
        profiles.append(PROFILE_PATIENT_INS)
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": str(patient.public_id),
        "meta": {"profile": profiles},
        "identifier": identifiers,
        "name": names,
        "gender": GENDERS.get(patient.sex, "unknown"),
        "birthDate": patient.birth_date.isoformat(),
    }
    telecom = []
    if patient.phone:
        telecom.append({"system": "phone", "value": patient.phone})
    if patient.email:
        telecom.append({"system": "email", "value": patient.email})
    if telecom:
        resource["telecom"] = telecom
    if patient.address:
        resource["address"] = [{"text": patient.address}]
    if patient.death_date:
        resource["deceasedDateTime"] = patient.death_date.isoformat()
    return resource


def _subject(patient: Any) -> dict[str, str]:
    return {"reference": _ref("Patient", patient.public_id)}


def history_resource(patient: Any, revisions: list[Any]) -> dict[str, Any] | None:
    if not patient.history:
        return None
    latest = revisions[0] if revisions else None
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": str(latest.public_id) if latest else str(uuid.uuid5(patient.public_id, "history")),
        "status": "final",
        "code": {
            "coding": [{"system": LOINC, "code": HISTORY_LOINC, "display": "History of Past illness Narrative"}],
            "text": "Antécédents",
        },
        "subject": _subject(patient),
        "valueString": patient.history,
    }
    if latest is not None:
        resource["issued"] = _instant(latest.created_at)
    return resource


def consultation_resources(patient: Any, consultation: Any) -> list[dict[str, Any]]:
    encounter: dict[str, Any] = {
        "resourceType": "Encounter",
        "id": str(consultation.public_id),
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB", "display": "ambulatory"},
        "subject": _subject(patient),
        "period": {"start": _instant(consultation.date)},
        "participant": [{"individual": {"display": consultation.practitioner.display_name}}],
    }
    if consultation.motif:
        encounter["reasonCode"] = [{"text": consultation.motif}]
    found = [encounter]
    if consultation.observations:
        found.append({
            "resourceType": "Observation",
            "id": str(uuid.uuid5(consultation.public_id, "observations")),
            "status": "final",
            "code": {"text": "Observations de la consultation"},
            "subject": _subject(patient),
            "encounter": {"reference": _ref("Encounter", consultation.public_id)},
            "effectiveDateTime": _instant(consultation.date),
            "valueString": consultation.observations,
        })
    return found


def document_resource(patient: Any, document: Any) -> dict[str, Any]:
    with blobs.open_blob(document.storage_name, patient=patient) as fh:
        data = fh.read()
    return {
        "resourceType": "DocumentReference",
        "id": str(document.public_id),
        "status": "current",
        "type": {"text": document.get_kind_display()},
        "subject": _subject(patient),
        "date": _instant(document.created_at),
        "description": document.title,
        "content": [{
            "attachment": {
                "contentType": document.content_type,
                "data": base64.b64encode(data).decode(),
                "size": len(data),
                "hash": base64.b64encode(hashlib.sha1(data, usedforsecurity=False).digest()).decode(),
                "title": document.title,
                "creation": _instant(document.created_at),
            }
        }],
    }


def appointment_resource(patient: Any, appointment: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Appointment",
        "id": str(appointment.public_id),
        "status": "booked",
        "start": _instant(appointment.start),
        "end": _instant(appointment.start + timedelta(minutes=appointment.duration_minutes)),
        "minutesDuration": appointment.duration_minutes,
        "participant": [
            {"actor": {"reference": _ref("Patient", patient.public_id)}, "status": "accepted"},
            {"actor": {"display": appointment.practitioner.display_name}, "status": "accepted"},
        ],
    }
    if appointment.reason:
        resource["description"] = appointment.reason
    return resource


def validate(resource: dict[str, Any]) -> None:
    """Raises pydantic.ValidationError if `resource` is not a valid R4B resource of its type."""
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)


def bundle(*, patient: Any, material: dict[str, Any]) -> dict[str, Any]:
    resources = [patient_resource(patient)]
    history = history_resource(patient, material["history_revisions"])
    if history is not None:
        resources.append(history)
    for consultation in material["consultations"]:
        resources.extend(consultation_resources(patient, consultation))
    resources.extend(document_resource(patient, d) for d in material["documents"])
    resources.extend(appointment_resource(patient, a) for a in material["appointments"])
    for resource in resources:
        validate(resource)
    result = {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": _instant(timezone.now()),
        "entry": [{"fullUrl": _ref(r["resourceType"], r["id"]), "resource": r} for r in resources],
    }
    get_fhir_model_class("Bundle").model_validate(result)
    return result


def bundle_json(*, patient: Any, material: dict[str, Any]) -> bytes:
    return json.dumps(bundle(patient=patient, material=material), ensure_ascii=False, indent=1).encode()
