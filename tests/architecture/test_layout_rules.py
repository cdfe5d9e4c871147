"""Rules of the code base that a reviewer would otherwise have to remember."""

from __future__ import annotations

import re
from pathlib import Path

from django.apps import apps
from django.db import models

from hygie.patients.sensitive import NOT_SENSITIVE, SENSITIVE_FIELDS

HYGIE = Path(__file__).resolve().parents[2] / "hygie"

PROTECTED = (
    r"(Patient|Consultation|ConsultationRevision|HistoryRevision|Document|Appointment|CareSheet|BreakGlassAccess"
    r"|CareTeamMember)"
)
DIRECT_QUERY = re.compile(rf"\b{PROTECTED}\.objects\b")

# Who may query protected models directly, and why.
ALLOWED = {
    "access",  # the access module itself
    "actions.py",  # actions receive objects already fetched through the access module
    "models.py",
    "demo.py",  # writes synthetic data, no user request
    "importer.py",  # writes imported rows into one practitioner's patientèle
    "identity.py",
    "migrations",
}


def _python_files():
    for path in HYGIE.rglob("*.py"):
        rel = path.relative_to(HYGIE)
        if any(part in ALLOWED for part in rel.parts):
            continue
        yield path, rel


def test_it_finds_no_protected_query_outside_the_access_module():
    offenders = []
    for path, rel in _python_files():
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if DIRECT_QUERY.search(line):
                offenders.append(f"{rel}:{n}: {line.strip()}")
    assert offenders == [], "Fetch patient data through hygie.access.records:\n" + "\n".join(offenders)


def test_it_keeps_django_out_of_lib():
    offenders = []
    for path in (HYGIE / "lib").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if re.search(r"^\s*(from|import)\s+django\b", text, re.M):
            offenders.append(path.name)
    assert offenders == []


def test_it_declares_every_field_of_patient_models_as_sensitive_or_not():
    technical = {"id", "public_id", "created_at", "updated_at"}
    undeclared = []
    for label, declared in SENSITIVE_FIELDS.items():
        model = apps.get_model(label)
        known = set(declared) | NOT_SENSITIVE.get(label, set()) | technical
        for field in model._meta.concrete_fields:
            if isinstance(field, models.ForeignKey):
                continue
            if field.name not in known:
                undeclared.append(f"{label}.{field.name}")
    assert undeclared == [], "Declare these in hygie/patients/sensitive.py: " + ", ".join(undeclared)


def test_it_declares_only_fields_that_exist():
    for label, declared in SENSITIVE_FIELDS.items():
        names = {f.name for f in apps.get_model(label)._meta.concrete_fields}
        assert set(declared) <= names, label
