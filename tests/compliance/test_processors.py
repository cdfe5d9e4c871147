"""Processors: added with their contract (encrypted), refused bad input changes nothing, the
dashboard warnings, backup destinations listed as processors to complete."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from hygie.audit.events import Ev
from hygie.audit.models import Event
from hygie.backups.models import Target, TargetKind
from hygie.compliance import actions, processors
from hygie.compliance.models import Processor
from tests.compliance.conftest import PDF

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32


def _add(personas, **kw):
    values = dict(name="Hébergeur Exemple", service="hosting", data_seen="health", hds_number="HDS-42",
                  hds_expires_on=timezone.localdate() + timedelta(days=365))
    values.update(kw)
    return actions.add_processor(actor=personas.regine, **values)


def test_it_keeps_the_contract_encrypted_and_gives_it_back(personas):
    processor = _add(personas, contract=PDF)
    stored = Processor.objects.get(pk=processor.pk)
    assert stored.has_contract and stored.contract_type == "application/pdf"
    assert b"%PDF" not in bytes(stored.contract)
    assert actions.contract_downloaded(actor=personas.regine, processor=stored) == PDF
    assert Event.objects.filter(action=Ev.COMPLIANCE_CONTRACT_DOWNLOADED).count() == 1
    added = Event.objects.get(action=Ev.COMPLIANCE_PROCESSOR_ADDED)
    assert added.details == {"service": "hosting", "contract": True, "hds": True}


def test_an_image_contract_is_accepted(personas):
    assert _add(personas, contract=PNG).contract_type == "image/png"


@pytest.mark.parametrize("bad", [b"PK\x03\x04 a zip", b"<html>", b"MZ\x90\x00 an exe"])
def test_a_contract_that_is_not_a_pdf_or_an_image_is_refused_and_nothing_is_saved(personas, bad):
    with pytest.raises(actions.ComplianceError, match="PDF"):
        _add(personas, contract=bad)
    assert not Processor.objects.exists()
    assert not Event.objects.filter(action=Ev.COMPLIANCE_PROCESSOR_ADDED).exists()


def test_a_refused_contract_on_an_existing_processor_changes_nothing(personas):
    processor = _add(personas, contract=PDF)
    with pytest.raises(actions.ComplianceError):
        actions.change_processor(actor=personas.regine, processor=processor, name="Autre nom", contract=b"<html>")
    stored = Processor.objects.get(pk=processor.pk)
    assert stored.name == "Hébergeur Exemple"
    assert actions.contract_downloaded(actor=personas.regine, processor=stored) == PDF


def test_a_processor_needs_a_name(personas):
    with pytest.raises(actions.ComplianceError, match="nom"):
        _add(personas, name="  ")


def test_the_warnings_of_the_issue(personas):
    today = timezone.localdate()
    _add(personas, name="Sans HDS", hds_number="", contract=PDF)
    _add(personas, name="Bientôt expiré", hds_expires_on=today + timedelta(days=30), contract=PDF)
    _add(personas, name="Sans contrat")
    _add(personas, name="Comptable", service="accountant", data_seen="admin", hds_number="", contract=PDF)
    warnings = processors.warnings(today)
    assert any("« Sans HDS » héberge des données de santé sans certificat HDS" in w for w in warnings)
    assert any("« Bientôt expiré »" in w and "moins de 60 jours" in w for w in warnings)
    assert any("Aucun contrat" in w and "« Sans contrat »" in w for w in warnings)
    assert not any("Comptable" in w for w in warnings)


def test_a_remote_backup_destination_becomes_a_processor_to_complete(personas):
    Target.objects.create(name="Disque USB", kind=TargetKind.DIRECTORY, config={"path": "/mnt/usb"})
    remote = Target.objects.create(name="S3 Exemple", kind=TargetKind.S3, config={"bucket": "b"})
    assert any("« S3 Exemple » est un sous-traitant à décrire" in w for w in processors.warnings(timezone.localdate()))
    created = processors.sync_backup_targets()
    assert [p.target for p in created] == [remote]  # a local directory is not a processor
    assert processors.sync_backup_targets() == []  # idempotent
    processor = created[0]
    assert processor.health_data and processor.service == "backup"
    warnings = processors.warnings(timezone.localdate())
    assert any("« S3 Exemple » héberge des données de santé sans certificat HDS" in w for w in warnings)
    with pytest.raises(actions.ComplianceError, match="destination de sauvegarde"):
        actions.remove_processor(actor=personas.adam, processor=processor)


def test_changes_are_journaled_by_field_name_only(personas):
    processor = _add(personas)
    actions.change_processor(actor=personas.adam, processor=processor, hds_number="HDS-43", purpose="Hébergement")
    event = Event.objects.get(action=Ev.COMPLIANCE_PROCESSOR_CHANGED)
    assert event.details == {"fields": ["hds_number", "purpose"]}
    actions.remove_processor(actor=personas.adam, processor=processor)
    assert not Processor.objects.exists()
    assert Event.objects.filter(action=Ev.COMPLIANCE_PROCESSOR_REMOVED).count() == 1


def test_profile_input_is_checked_and_nothing_half_saved(personas, practice):
    with pytest.raises(actions.ComplianceError, match="SIRET"):
        actions.save_profile(actor=personas.adam, address="1 rue A", siret="1234")
    assert actions.profile_for().pk is None
    profile = actions.save_profile(actor=personas.adam, address="1 rue A", siret="123 456 789 00012",
                                   patients_per_year=12000, shared_system=True, practice_type="groupe")
    assert profile.siret == "12345678900012"
    assert profile.aipd_screened_on == timezone.localdate()
    event = Event.objects.get(action=Ev.COMPLIANCE_PROFILE_CHANGED)
    assert "1 rue A" not in str(event.details)
    assert set(event.details["fields"]) >= {"address", "siret", "patients_per_year"}

