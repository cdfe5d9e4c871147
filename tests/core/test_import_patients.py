"""`hygie patients import`: all rows or none, no duplicates, the journal written."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from rich.console import Console

from hygie.audit.events import Ev
from hygie.audit.models import Event
from hygie.cli import main
from hygie.patients.models import Patient
from hygie.practices.models import Practice
from tests.factories import Personas

GOOD = (
    "Nom;Prénom;Date de naissance;Sexe;Téléphone;Antécédents\r\n"
    "Lefèvre;Hélène;03/04/1950;F;06 12 34 56 78;HTA\r\n"
    "Dupré;Noël;1999-12-31;homme;;\r\n"
)


def _write(tmp_path, text: str, encoding: str = "cp1252"):
    path = tmp_path / "patients.csv"
    path.write_bytes(text.encode(encoding))
    return path


def _import(path, practitioner="alice", *extra):
    out, err = StringIO(), StringIO()
    call_command("import_patients", str(path), "--practitioner", practitioner, *extra, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def _patients_of(user):
    return Patient.objects.filter(care_team__practitioner=user)


def test_it_imports_a_windows_file_into_the_practitioners_patientele(personas, practice, tmp_path):
    out, _ = _import(_write(tmp_path, GOOD))
    assert "2 patients importés, 0 déjà présent." in out
    names = {p.birth_name for p in _patients_of(personas.alice)}
    assert names == {"Moreau", "Lefèvre", "Dupré"}
    assert "Lefèvre" not in {p.birth_name for p in _patients_of(personas.bob)}


def test_it_imports_nothing_when_one_row_is_bad(personas, practice, tmp_path):
    bad = GOOD + "Durand;Paul;31/02/1980;M;;\r\n"
    before = Patient.objects.count()
    err = StringIO()
    with pytest.raises(CommandError) as exc:
        call_command("import_patients", str(_write(tmp_path, bad)), "--practitioner", "alice", stderr=err)
    assert exc.value.returncode == 1
    assert "ligne 4 : date de naissance impossible" in err.getvalue()
    assert "Durand" not in err.getvalue() + str(exc.value)
    assert Patient.objects.count() == before
    assert not Event.objects.filter(action=Ev.PATIENTS_IMPORTED).exists()


def test_it_creates_no_duplicate_when_the_file_is_imported_twice(personas, practice, tmp_path):
    path = _write(tmp_path, GOOD)
    _import(path)
    count = Patient.objects.count()
    out, _ = _import(path)
    assert "0 patient importé, 2 déjà présents." in out
    assert Patient.objects.count() == count


def test_it_skips_a_patient_already_in_the_patientele(personas, practice, tmp_path):
    text = "nom,prenom,date_naissance,sexe\nMOREAU,jeanne,1980-05-17,F\nMoreau,Jeanne,17/05/1980,F\n"
    with pytest.raises(CommandError):
        _import(_write(tmp_path, text, "utf-8"))  # twice in the file: an error
    out, _ = _import(_write(tmp_path, "nom,prenom,date_naissance,sexe\nMOREAU,jeanne,1980-05-17,F\n", "utf-8"))
    assert "0 patient importé, 1 déjà présent." in out


def test_it_checks_without_writing_on_dry_run(personas, practice, tmp_path):
    before = Patient.objects.count()
    out, _ = _import(_write(tmp_path, GOOD), "alice", "--dry-run")
    assert "2 patients à importer" in out and "Rien n'a été modifié" in out
    assert Patient.objects.count() == before


def test_it_writes_one_import_event_per_batch_with_counts_only_and_one_per_patient(personas, practice, tmp_path):
    _import(_write(tmp_path, GOOD))
    event = Event.objects.get(action=Ev.PATIENTS_IMPORTED)
    details = dict(event.details)
    assert len(details.pop("import")) == 16
    assert details == {"batch": 1, "first_line": 2, "last_line": 3, "rows": 2, "imported": 2, "already_present": 0}
    assert (event.actor, event.actor_role, event.channel) == (None, "cli", "cli")
    assert Event.objects.filter(action=Ev.PATIENT_CREATED).count() == 2


def test_it_shows_progress_on_a_terminal_without_breaking(personas, practice, tmp_path, monkeypatch):
    monkeypatch.setattr(Console, "is_terminal", property(lambda self: True))
    out, err = _import(_write(tmp_path, GOOD))
    assert "2 patients importés" in out
    assert "Import" in err


@pytest.mark.parametrize(
    "practitioner, content, message",
    [
        ("nobody", GOOD, "Aucun compte « nobody »"),
        ("sophie", GOOD, "n'est pas un praticien titulaire actif"),
        ("remi", GOOD, "n'est pas un praticien titulaire actif"),
        ("alice", "", "Le fichier est vide."),
        ("alice", None, "Fichier introuvable"),
    ],
)
def test_it_refuses_bad_input_with_a_french_message(personas, practice, tmp_path, practitioner, content, message):
    path = tmp_path / "absent.csv" if content is None else _write(tmp_path, content)
    before = Patient.objects.count()
    with pytest.raises(CommandError, match=message):
        _import(path, practitioner)
    assert Patient.objects.count() == before


def test_it_refuses_an_undecodable_file(personas, practice, tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes(b"nom;prenom;date_naissance;sexe\n\x81\x8d;B;01/01/2000;F\n")
    with pytest.raises(CommandError, match="Encodage"):
        _import(path)


def test_it_refuses_when_there_is_no_practice(personas, tmp_path):
    with pytest.raises(CommandError, match="hygie init"):
        _import(_write(tmp_path, GOOD))


@pytest.mark.django_db(transaction=True)
def test_it_routes_patients_import_from_the_command_line(tmp_path, capsys):
    # transaction=True: Django closes connections when a command run from argv ends.
    Practice.objects.create(name="Cabinet des Lilas")
    personas = Personas()
    path = _write(tmp_path, GOOD)
    assert main(["patients", "import", str(path), "--practitioner", "alice"]) == 0
    assert "2 patients importés" in capsys.readouterr().out
    assert _patients_of(personas.alice).count() == 3

    bad = _write(tmp_path, GOOD + "X;Y;hier;F;;\r\n")
    assert main(["patients", "import", str(bad), "--practitioner", "alice"]) == 1
    err = capsys.readouterr().err
    assert "ligne 4 : date de naissance illisible" in err
    assert "Erreur : 1 erreur : aucun patient importé." in err
    assert "CommandError" not in err and "Traceback" not in err


def test_it_prints_help_and_refuses_an_incomplete_subcommand(capsys):
    assert main(["--help"]) == 0
    assert "patients import FICHIER.csv" in capsys.readouterr().out
    assert main(["patients"]) == 2
    assert "hygie patients import" in capsys.readouterr().err


def test_it_names_an_unknown_command_in_french(capsys):
    assert main(["importer"]) == 2
    assert "Commande inconnue : « importer »" in capsys.readouterr().err
