"""End to end: import → due → hold → purge (CLI, for one titulaire) → search, journal, register."""

from __future__ import annotations

import io
import json
from datetime import date, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from hygie.access import records
from hygie.audit.events import Ev
from hygie.audit.models import Event
from hygie.audit.verify import verify
from hygie.keys import erasure
from hygie.keys.models import ErasureRegister, PatientKey
from hygie.patients.search import search
from hygie.practices.models import Practice
from hygie.retention import actions
from hygie.retention.models import LegalHold
from tests.factories import make_consultation, make_patient, patient_named

pytestmark = pytest.mark.django_db

HEADER = "nom;prenom;date_naissance;sexe;derniere_consultation;date_deces\n"


def _import(tmp_path, text: str, practitioner: str = "alice") -> None:
    path = tmp_path / f"import-{practitioner}.csv"
    path.write_text(HEADER + text, encoding="utf-8")
    call_command("import_patients", str(path), practitioner=practitioner, stdout=io.StringIO())


def _cli(*args: str) -> dict:
    out = io.StringIO()
    call_command("retention", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


@pytest.fixture
def cabinet(db):
    return Practice.objects.create(name="Cabinet des Lilas")


@pytest.fixture
def practice(personas, own_key_file, tmp_path, cabinet):
    # Alice: a record last seen in 2001 (due), one last seen recently, and one of 2001 whose
    # patient was a child (kept to their 28th birthday). Bob: a record of 2001 too.
    _import(
        tmp_path,
        "Ancien;Paul;12/03/1950;M;15/06/2001;\n"
        "Recent;Lea;01/01/1980;F;2023-05-02;\n"
        "Enfant;Tom;2000-01-01;M;2001-06-15;\n",
    )
    _import(tmp_path, "Autre;Marc;1950-01-01;M;2001-06-15;\n", "bob")
    return personas


def test_a_record_last_seen_in_2001_is_due_and_a_recent_one_is_not(practice) -> None:
    due = _cli("due", "--practitioner", "alice")["due"]
    old = patient_named("Ancien")
    assert due == [{"patient": old.code, "expired_on": "2021-06-15", "rule": "RET-1"}]
    event = Event.objects.filter(action=Ev.RETENTION_DUE, actor_role="cli").get()
    assert event.actor_id == practice.alice.pk and event.details["due"] == 1


def test_the_purge_destroys_exactly_the_due_records_of_that_titulaire(practice) -> None:
    old, recent, child = (patient_named(n) for n in ("Ancien", "Recent", "Enfant"))
    bobs = patient_named("Autre")
    assert search(records.archive_candidates(practice.alice), "Ancien") == [old]

    done = _cli("purge", "--practitioner", "alice", "--yes")

    assert done == {
        "purged": 1,
        "records": [{"patient": old.code, "expired_on": "2021-06-15", "rule": "RET-1"}],
    }
    assert not PatientKey.objects.filter(patient_id=old.pk).exists()
    for kept in (recent, child, bobs):
        assert PatientKey.objects.filter(patient_id=kept.pk).exists()
    # Search no longer finds it, anywhere.
    assert search(records.archive_candidates(practice.alice), "Ancien") == []
    assert search(records.break_glass_candidates(practice.alice), "Ancien") == []
    # The register keeps the rule; the journal says who decided, through which channel.
    register = ErasureRegister.objects.get(patient_ref=old.pk)
    assert (register.rule, register.expired_on) == ("RET-1", date(2021, 6, 15))
    assert erasure.registered_rules()[old.pk] == ("RET-1", date(2021, 6, 15))
    approved = Event.objects.get(action=Ev.RETENTION_PURGE_APPROVED)
    assert (approved.actor_id, approved.actor_role) == (practice.alice.pk, "cli")
    assert approved.details == {"via": "cli", "practitioner": practice.alice.pk, "count": 1, "rules": {"RET-1": 1}}
    erased = Event.objects.get(action=Ev.PATIENT_ERASED)
    assert erased.patient_id == old.pk and erased.details["rule"] == "RET-1"
    assert "Ancien" not in json.dumps(list(Event.objects.values("details", "reason")), default=str)
    assert verify().ok
    # Nothing left to do: a second run destroys nothing.
    assert _cli("purge", "--practitioner", "alice", "--yes")["purged"] == 0


def test_a_hold_set_before_the_job_keeps_the_record(practice) -> None:
    old = patient_named("Ancien")
    actions.set_hold(actor=practice.alice, patient=old, started_on=date(2020, 1, 1), reason="Réclamation amiable reçue")
    actions.daily()
    assert _cli("due", "--practitioner", "alice")["due"] == []
    assert _cli("purge", "--practitioner", "alice", "--yes")["purged"] == 0
    assert PatientKey.objects.filter(patient_id=old.pk).exists()
    # Lifted, the suspension pushed the expiry back by its length: 2021-06-15 + 1827 days.
    hold = LegalHold.objects.get()
    actions.lift_hold(actor=practice.alice, hold=hold, ended_on=date(2025, 1, 1))
    [item] = actions.due(practice.alice)
    assert item.expired_on == date(2021, 6, 15) + timedelta(days=(date(2025, 1, 1) - date(2020, 1, 1)).days)
    assert item.decision.rule == "RET-1+RET-4"


def test_a_new_consultation_takes_a_record_off_the_list(practice) -> None:
    old = patient_named("Ancien")
    make_consultation(old, practice.alice, date=timezone.now() - timedelta(days=1))
    assert _cli("due", "--practitioner", "alice")["due"] == []


def test_purge_needs_yes_and_a_titulaire(practice) -> None:
    with pytest.raises(CommandError, match="--yes"):
        call_command("retention", "purge", "--practitioner", "alice", stdout=io.StringIO())
    with pytest.raises(CommandError, match="n'est pas un praticien titulaire"):
        _cli("purge", "--practitioner", "sophie", "--yes")
    with pytest.raises(CommandError, match="Aucun compte"):
        _cli("due", "--practitioner", "personne")
    assert PatientKey.objects.filter(patient_id=patient_named("Ancien").pk).exists()


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("Mort;Avant;01/01/1990;M;2001-01-01;1980-01-01", "décès ne peut pas précéder la date de naissance"),
        ("Futur;Visite;01/01/1990;M;2999-01-01;", "date de dernière consultation dans le futur"),
        ("Visite;Avant;01/01/1990;M;1985-01-01;", "dernière consultation ne peut pas précéder"),
        ("Date;Folle;01/01/1990;M;31/02/2001;", "date de dernière consultation impossible"),
    ],
)
def test_the_import_refuses_impossible_dates_and_imports_nothing(
    personas, own_key_file, cabinet, tmp_path, row, message
) -> None:
    before = records.patientele(personas.alice).count()
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + "Bon;Patient;01/01/1970;F;2001-01-01;\n" + row + "\n", encoding="utf-8")
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_patients", str(path), practitioner="alice", stdout=io.StringIO(), stderr=err)
    assert message in err.getvalue()
    assert "ligne 3" in err.getvalue()
    assert records.patientele(personas.alice).count() == before


def test_the_hold_refuses_impossible_dates(personas, own_key_file) -> None:
    patient = make_patient(personas.alice, birth_name="Suspendu")
    with pytest.raises(actions.ActionError, match="fin de la suspension ne peut pas précéder"):
        actions.set_hold(
            actor=personas.alice, patient=patient, started_on=date(2020, 2, 1), ended_on=date(2020, 1, 1),
            reason="Recours contentieux",
        )
    with pytest.raises(actions.ActionError, match="titulaire de l'équipe de soins"):
        actions.set_hold(actor=personas.bob, patient=patient, started_on=date(2020, 2, 1), reason="Recours contentieux")
    assert not LegalHold.objects.exists()


def test_a_purge_killed_between_its_commit_and_the_register_file_is_caught_up(practice, settings, tmp_path,
                                                                                 django_capture_on_commit_callbacks):
    """kill -9 after the purge's transaction committed but before its after-commit work (the
    register file lines, the document files): simulated by dropping the on-commit callbacks."""
    from hygie.patients import actions as patient_actions

    settings.DOCUMENTS_DIR = tmp_path / "documents"
    old = patient_named("Ancien")
    doc = patient_actions.upload_document(actor=practice.alice, patient=old, title="Radio", kind="resultat",
                                          fileobj=io.BytesIO(b"%PDF-1.4\n%%EOF\n"))
    with django_capture_on_commit_callbacks(execute=False) as dropped:
        assert _cli("purge", "--practitioner", "alice", "--yes")["purged"] == 1
    assert dropped  # what the killed process never ran
    assert old.pk not in {json.loads(line)["patient"] for line in _register_lines()}
    assert (settings.DOCUMENTS_DIR / doc.storage_name).exists()

    # The next purge, backup or daily retention job writes the missing line first…
    assert erasure.sync_file() == 1
    assert old.pk in {json.loads(line)["patient"] for line in _register_lines()}
    assert erasure.sync_file() == 0
    # …and the orphan job removes the document file no row names any more.
    assert patient_actions.remove_orphan_blobs(grace=timedelta(0))["removed"] == 1
    assert not (settings.DOCUMENTS_DIR / doc.storage_name).exists()
    assert verify().ok


def _register_lines() -> list[str]:
    from hygie.keys import service

    path = service.erasure_file()
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []
