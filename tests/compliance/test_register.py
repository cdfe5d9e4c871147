"""The register is written from Hygie's configuration: change the configuration, find the change
in the next register, in JSON, CSV and PDF (read back with pdftotext)."""

from __future__ import annotations

import csv
import io

from django.test import override_settings
from django.utils import timezone

from hygie.access.policy import Role
from hygie.audit.events import Ev
from hygie.audit.models import Event
from hygie.backups.models import Run, RunKind, RunStatus, Target, TargetKind
from hygie.compliance import actions
from hygie.compliance import register as reg
from hygie.compliance.models import RegisterVersion
from tests.compliance.conftest import register_files
from tests.factories import make_user


def _activity(data, key):
    return next(a for a in data["activities"] if a["key"] == key)


def _count(data, key, role_label):
    return next((r["count"] for r in _activity(data, key)["recipients"]["internal"] if r["role"] == role_label), 0)


def test_it_has_the_json_contract_of_the_issue(personas, practice):
    data = reg.build()
    assert {"controller", "dpo", "activities"} <= set(data)
    assert {"name", "contact"} <= set(data["controller"])
    names = [a["name"] for a in data["activities"]]
    assert len(names) == 4
    for activity in data["activities"]:
        assert {"name", "purposes", "data_subjects", "data_categories", "recipients", "transfers", "retention",
                "security_measures", "created_on", "updated_on"} <= set(activity)
        assert set(activity["security_measures"]) == {"access_control", "traceability", "software_protection",
                                                      "backups", "encryption", "processors", "other"}


def test_it_flags_health_data_and_the_nir_as_sensitive(personas, practice):
    records = _activity(reg.build(), "dossiers")
    sensitive = {c["category"] for c in records["data_categories"] if c["sensitive"]}
    assert sensitive == {"health", "nir"}
    assert "Données de santé" in records["sensitive_data"]


def test_it_counts_the_roles_that_really_exist(personas, practice):
    data = reg.build()
    titulaire = str(Role.TITULAIRE.label)
    assert _count(data, "dossiers", titulaire) == 2
    # The billing clerk sees no medical record: not a recipient of the records activity.
    assert _count(data, "dossiers", str(Role.FACTURATION.label)) == 0
    assert _count(data, "facturation", str(Role.FACTURATION.label)) == 1
    # The two titulaires are joint controllers, each for their own patientèle.
    assert len(data["controller"]["joint_controllers"]) == 2


def test_an_incomplete_profile_gives_a_register_that_says_what_is_missing(personas, practice, tmp_path):
    data, csv_text, pdf_text = register_files(tmp_path)
    assert reg.missing() == data["missing"]
    assert "adresse du cabinet" in data["missing"]
    assert "type d'exercice" in data["missing"]
    assert "À compléter" in csv_text
    assert "À compléter" in pdf_text and "adresse du cabinet" in pdf_text


def test_a_complete_profile_leaves_nothing_missing(personas, practice):
    actions.save_profile(
        actor=personas.regine, practice_type="groupe", address="1 rue A", contact_kind="referent",
        contact_name="Régine", contact_email="rgpd@example.org", hosting="Serveur au cabinet", hosting_hds=True,
    )
    assert reg.build()["missing"] == [] == reg.missing()


def test_an_msp_without_a_dpo_is_told_it_needs_one(personas, practice):
    actions.save_profile(actor=personas.regine, practice_type="msp", contact_kind="referent")
    data = reg.build()
    assert data["dpo_required"] is True
    assert any("DPO obligatoire" in m for m in data["missing"])
    assert reg.missing() == data["missing"]


def test_what_the_dashboard_says_is_missing_is_what_the_register_says(personas, practice):
    from hygie.accounts.models import User

    assert reg.missing() == reg.build()["missing"] != []
    actions.save_profile(actor=personas.regine, practice_type="groupe", address="1 rue A", contact_kind="dpo",
                         contact_name="Dora", contact_email="dpo@example.org", hosting="Hébergeur")
    assert reg.missing() == reg.build()["missing"] != []  # no DPO number, hosting not HDS
    User.objects.filter(role=Role.TITULAIRE).update(is_active=False)
    assert "aucun praticien titulaire actif" in reg.missing()
    assert reg.missing() == reg.build()["missing"]


def test_a_new_user_shows_in_the_next_register(personas, practice, tmp_path):
    before, _, _ = register_files(tmp_path)
    make_user("sonia", Role.SECRETAIRE, first_name="Sonia", last_name="Nouvelle")
    after, csv_text, pdf_text = register_files(tmp_path)
    label = str(Role.SECRETAIRE.label)
    assert _count(after, "rendez-vous", label) == _count(before, "rendez-vous", label) + 1 == 2
    rows = list(csv.reader(io.StringIO(csv_text), delimiter=";"))
    appointments = next(r for r in rows if r and r[0] == "Gestion des rendez-vous")
    assert f"{label} (2)" in ";".join(appointments)
    assert f"{label} (2)" in pdf_text


def test_a_new_backup_destination_shows_with_its_last_success(personas, practice, tmp_path):
    target = Target.objects.create(name="Coffre distant", kind=TargetKind.SFTP, config={"host": "sftp.example.org"})
    now = timezone.now()
    Run.objects.create(kind=RunKind.BACKUP, status=RunStatus.SUCCESS, target=target, offsite=True,
                       started_at=now, finished_at=now)
    data, csv_text, pdf_text = register_files(tmp_path)
    backups = " ".join(_activity(data, "dossiers")["security_measures"]["backups"])
    assert "Coffre distant" in backups and "Serveur SFTP" in backups
    assert f"dernière sauvegarde réussie {timezone.localtime(now):%d/%m/%Y}" in backups
    assert "dernier test de restauration réussi jamais" in backups
    assert "Coffre distant" in csv_text
    assert "Coffre distant" in pdf_text
    # The remote destination is also listed as a processor to complete (health data, no HDS yet).
    assert [p["backup_destination"] for p in data["processors"]] == ["Coffre distant"]
    assert any("« Coffre distant » héberge des données de santé sans certificat HDS" in w for w in data["warnings"])


@override_settings(IDLE_LOCK_MINUTES=2)
def test_the_idle_lock_setting_shows(personas, practice, tmp_path):
    data, csv_text, pdf_text = register_files(tmp_path)
    assert any("Verrouillage après 2 min" in m for m in _activity(data, "comptes")["security_measures"]
               ["access_control"])
    assert "Verrouillage après 2 min" in csv_text
    assert "Verrouillage après 2 min" in pdf_text


@override_settings(APPOINTMENT_RETENTION_MONTHS=3, JOURNAL_RETENTION_DAYS=400)
def test_retention_settings_show(personas, practice, tmp_path):
    data, csv_text, pdf_text = register_files(tmp_path)
    assert _activity(data, "rendez-vous")["retention"][0]["duration"] == "3 mois"
    assert "400 jours" in _activity(data, "comptes")["retention"][0]["duration"]
    assert "Rendez-vous passés : 3 mois" in csv_text
    assert "400 jours" in pdf_text


def test_second_factor_coverage_is_computed(personas, practice):
    make_user("nofactor", Role.SECRETAIRE, mfa=False)
    access = " ".join(_activity(reg.build(), "dossiers")["security_measures"]["access_control"])
    assert "sur 7 des 8 comptes actifs" in access
    assert "1 sans second facteur" in access


def test_each_changed_register_is_a_new_version_fingerprinted_in_the_journal(personas, practice):
    first = reg.generate(actor=personas.regine)
    again = reg.generate(actor=personas.regine)
    assert first["version"]["sha256"] == again["version"]["sha256"]
    assert RegisterVersion.objects.count() == 1
    make_user("sonia", Role.SECRETAIRE)
    third = reg.generate(actor=personas.regine)
    assert third["version"]["sha256"] != first["version"]["sha256"]
    assert RegisterVersion.objects.count() == 2
    events = Event.objects.filter(action=Ev.COMPLIANCE_REGISTER_GENERATED).order_by("id")
    assert [e.details["sha256"] for e in events] == [first["version"]["sha256"]] * 2 + [third["version"]["sha256"]]
    assert [e.details["new_version"] for e in events] == [True, False, True]


def test_an_unchanged_activity_keeps_its_update_date(personas, practice):
    from datetime import date

    reg.generate(today=date(2026, 1, 10))
    with override_settings(APPOINTMENT_RETENTION_MONTHS=6):
        later = reg.generate(today=date(2026, 3, 1))
    # The appointments' retention changed; billing did not.
    assert _activity(later, "rendez-vous")["updated_on"] == "2026-03-01"
    assert _activity(later, "facturation")["updated_on"] == "2026-01-10"


def test_other_apps_can_add_an_activity(personas, practice, monkeypatch):
    monkeypatch.setattr(reg, "_EXTRA_ACTIVITIES", [])
    reg.register_activity(lambda f: {"key": "echanges", "name": "Échanges avec d'autres professionnels"})
    reg.register_activity(lambda f: None)  # an activity not in use
    names = [a["name"] for a in reg.build()["activities"]]
    assert names[-1] == "Échanges avec d'autres professionnels" and len(names) == 5


def test_no_patient_name_is_in_the_register(personas, practice):
    text = str(reg.build())
    for name in ("Moreau", "Jeanne", "Bernard", "Louis"):
        assert name not in text
