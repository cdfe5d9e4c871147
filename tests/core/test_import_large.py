"""`hygie patients import` on files that once took the site down (issue 18, item 6), its batches,
and its --json contract (issue 9)."""

from __future__ import annotations

import json
import logging
import os
import threading
from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection

from hygie.audit.events import Ev
from hygie.audit.models import Event
from hygie.core import actions, importer
from hygie.patients.models import BlindIndex, Patient
from hygie.practices.models import Practice
from tests.factories import Personas

HEADER = "nom;prenom;date_naissance;sexe;telephone;antecedents\n"


def _rows(n: int, start: int = 0) -> str:
    """n distinct synthetic patients (names made of letters only: « Zq… »)."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    out = []
    for i in range(start, start + n):
        word, k = "", i
        for _ in range(5):
            k, r = divmod(k, 26)
            word += letters[r]
        born = date(1930, 1, 1) + timedelta(days=i % 30000)
        out.append(f"Zq{word};Ana{word[::-1]};{born:%d/%m/%Y};{'FM'[i % 2]};06 12 34 56 78;note {i}\n")
    return "".join(out)


def _file(tmp_path, text: str, name: str = "patients.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _run(path, *extra, practitioner="alice"):
    out, err = StringIO(), StringIO()
    call_command("import_patients", str(path), "--practitioner", practitioner, *extra, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


# --- Refused at once -----------------------------------------------------------------------


def test_it_refuses_dev_zero_without_reading_it(personas, practice):
    before = Patient.objects.count()
    with pytest.raises(CommandError, match="est un périphérique, pas un fichier CSV") as exc:
        _run("/dev/zero")
    assert exc.value.returncode == 1
    assert Patient.objects.count() == before


def test_it_refuses_a_fifo_without_waiting_for_a_writer(personas, practice, tmp_path):
    fifo = tmp_path / "patients.csv"
    os.mkfifo(fifo)
    # A writer that opens the FIFO and closes it at once: if the importer ever opened it for
    # reading, it would read an empty file rather than hang the suite.
    writer = threading.Thread(target=lambda: open(fifo, "wb").close(), daemon=True)  # noqa: SIM115
    writer.start()
    try:
        with pytest.raises(CommandError, match="tube nommé"):
            _run(fifo)
    finally:
        while writer.is_alive():  # the writer waits in open() for a reader: give it one
            os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))
            writer.join(0.05)


def test_it_refuses_a_directory(personas, practice, tmp_path):
    with pytest.raises(CommandError, match="est un dossier"):
        _run(tmp_path)


def test_it_refuses_a_file_over_the_limit_in_french_and_reads_none_of_it(personas, practice, tmp_path, settings):
    settings.IMPORT_MAX_MB = 1
    path = _file(tmp_path, HEADER + _rows(20_000))
    assert path.stat().st_size > 1024 * 1024
    before = Patient.objects.count()
    with pytest.raises(
        CommandError, match=r"Fichier trop volumineux : la limite est de 1 Mo \(réglage HYGIE_IMPORT_MAX_MB\)"
    ):
        _run(path)
    assert Patient.objects.count() == before


def test_it_stops_reading_a_file_that_grows_past_the_limit(personas, practice, tmp_path):
    path = _file(tmp_path, HEADER + _rows(10))
    with importer.open_csv(str(path), limit=path.stat().st_size + 10) as source:
        with open(path, "a", encoding="utf-8") as more:
            more.write(_rows(10, start=10))
        with pytest.raises(importer.ImportRefused, match="Fichier trop volumineux"):
            importer.check(source, personas.alice)


def test_it_refuses_a_line_without_end(personas, practice, tmp_path):
    path = _file(tmp_path, HEADER + "A" * 1_100_000)
    with pytest.raises(CommandError, match="Une ligne du fichier dépasse 1\u202f000\u202f000 caractères"):
        _run(path)


# --- All or nothing on checks, then batches ------------------------------------------------


def test_it_writes_nothing_when_the_last_row_of_a_large_file_is_bad(personas, practice, tmp_path):
    rows = 20_000
    path = _file(tmp_path, HEADER + _rows(rows) + "Zzbad;Paul;31/02/1980;M;;\n")
    before = Patient.objects.count()
    err = StringIO()
    with pytest.raises(CommandError, match="1 erreur : aucun patient importé") as exc:
        call_command("import_patients", str(path), "--practitioner", "alice", stderr=err)
    assert exc.value.returncode == 1
    assert f"ligne {rows + 2} : date de naissance impossible" in err.getvalue()
    assert Patient.objects.count() == before
    assert not Event.objects.filter(action=Ev.PATIENTS_IMPORTED).exists()


def test_it_commits_batches_and_a_rerun_after_a_crash_completes_without_duplicates(
    personas, practice, tmp_path, monkeypatch
):
    path = _file(tmp_path, HEADER + _rows(25))
    real = actions.import_patient_batch

    def crash_on_second(**kwargs):
        if kwargs["batch"] == 2:
            raise DatabaseError("disk I/O error")
        return real(**kwargs)

    monkeypatch.setattr(importer, "FIRST_BATCH_ROWS", 10)
    monkeypatch.setattr(importer, "MAX_BATCH_ROWS", 10)
    monkeypatch.setattr(actions, "import_patient_batch", crash_on_second)
    before = Patient.objects.count()
    with pytest.raises(CommandError, match="10 patients importés avant l'arrêt") as exc:
        _run(path)
    assert exc.value.returncode == 3
    assert "disque plein" in str(exc.value)
    assert Patient.objects.count() == before + 10  # the first batch, whole

    monkeypatch.setattr(actions, "import_patient_batch", real)
    out, _ = _run(path, "--json")
    result = json.loads(out)
    assert (len(result["imported"]), len(result["skipped"]), result["batches"]) == (15, 10, 3)
    assert [s["line"] for s in result["skipped"]] == list(range(2, 12))
    assert Patient.objects.count() == before + 25
    events = Event.objects.filter(action=Ev.PATIENTS_IMPORTED).order_by("id")
    assert [(e.details["batch"], e.details["rows"], e.details["imported"]) for e in events] == [
        (1, 10, 10),
        (1, 10, 0),
        (2, 10, 10),
        (3, 5, 5),
    ]
    assert Event.objects.filter(action=Ev.PATIENT_CREATED).count() == 25
    # Every imported patient is searchable: its blind indexes were written with it.
    assert BlindIndex.objects.filter(patient__in=Patient.objects.filter(birth_name__isnull=False)).exists()


def test_it_makes_imported_patients_identical_to_patients_created_one_by_one(personas, practice, tmp_path):
    from hygie.patients import indexes
    from hygie.patients.identity import identity_fingerprint

    out, _ = _run(_file(tmp_path, HEADER + _rows(3)), "--json")
    for item in json.loads(out)["imported"]:
        patient = Patient.objects.get(code=item["patient"])
        assert patient.birth_name.startswith("Zq") and patient.history.startswith("note ")
        assert patient.identity_fingerprint == identity_fingerprint(
            patient.birth_name, patient.first_names, patient.birth_date
        )
        stored = set(BlindIndex.objects.filter(patient=patient).values_list("kind", "value"))
        assert stored == {(row.kind, row.value) for row in indexes.rows_for(patient)}


def test_it_draws_a_new_code_when_a_code_is_taken(personas, practice, monkeypatch):
    taken = Patient.objects.filter(care_team__practitioner=personas.alice).first().code
    patients = [Patient(code=taken), Patient(code="P-ZZZZZZZ2"), Patient(code="P-ZZZZZZZ2")]
    codes = iter(["P-ZZZZZZZ2", "P-ZZZZZZZ3", "P-ZZZZZZZ4"])
    monkeypatch.setattr(actions, "new_patient_code", lambda: next(codes))
    actions._unique_codes(patients)
    result = [p.code for p in patients]
    assert taken not in result and len(set(result)) == 3 and result[0] == "P-ZZZZZZZ2"


@pytest.mark.django_db(transaction=True)
def test_it_checks_with_no_transaction_open_and_commits_each_batch(tmp_path, monkeypatch):
    # On SQLite an open transaction holds the database's only write lock: every page would wait.
    Practice.objects.create(name="Cabinet des Lilas")
    personas = Personas()
    path = _file(tmp_path, HEADER + _rows(1200))
    seen_in_check, seen_between = [], []
    with importer.open_csv(str(path)) as source:
        checked = importer.check(
            source, personas.alice, progress=lambda _: seen_in_check.append(connection.in_atomic_block)
        )
        written = importer.write(
            source,
            personas.alice,
            checked,
            first_batch=100,
            max_batch=100,
            batch_seconds=3600,  # sizes stay at max_batch whatever the machine's speed
            advance=lambda _: seen_between.append(connection.in_atomic_block),
        )
    assert seen_in_check and not any(seen_in_check)
    assert len(seen_between) == written.batches == 12 and not any(seen_between)
    assert len(written.imported) == 1200


def test_it_stops_when_the_file_changes_between_check_and_write(personas, practice, tmp_path):
    path = _file(tmp_path, HEADER + _rows(5))
    with importer.open_csv(str(path)) as source:
        checked = importer.check(source, personas.alice)
        path.write_text(HEADER + _rows(5) + "X;Y;hier;F;;\n", encoding="utf-8")
        with pytest.raises(importer.ImportInterrupted, match="modifié pendant l'import"):
            importer.write(source, personas.alice, checked)


# --- The --json contract (issue 9) and what never leaves the machine ------------------------


def test_it_prints_line_numbers_and_codes_in_json_never_names(personas, practice, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    path = _file(tmp_path, HEADER + _rows(3))
    out, err = _run(path, "--json")
    result = json.loads(out)
    codes = {p.code for p in Patient.objects.filter(care_team__practitioner=personas.alice)}
    assert [i["line"] for i in result["imported"]] == [2, 3, 4]
    assert all(i["patient"] in codes and i["patient"].startswith("P-") for i in result["imported"])
    assert (result["skipped"], result["errors"], result["dry_run"], result["rows"]) == ([], [], False, 3)

    again, _ = _run(path, "--json")
    skipped = json.loads(again)["skipped"]
    assert skipped == [
        {"line": i["line"], "reason": "already_present", "patient": i["patient"]} for i in result["imported"]
    ]

    dry, _ = _run(path, "--json", "--dry-run")
    assert json.loads(dry)["dry_run"] is True and len(json.loads(dry)["skipped"]) == 3

    everything = out + again + dry + err + caplog.text + json.dumps([e.details for e in Event.objects.all()])
    assert "Zq" not in everything and "Ana" not in everything and "note" not in everything


def test_it_prints_errors_in_json_and_exits_1(personas, practice, tmp_path):
    path = _file(tmp_path, HEADER + _rows(2) + "Zzbad;Paul;demain;M;;\n")
    out = StringIO()
    with pytest.raises(CommandError) as exc:
        call_command("import_patients", str(path), "--practitioner", "alice", "--json", stdout=out, stderr=StringIO())
    assert exc.value.returncode == 1
    result = json.loads(out.getvalue())
    assert result["imported"] == [] and result["error_count"] == 1
    assert result["errors"][0]["line"] == 4 and "Zzbad" not in out.getvalue()


def test_it_prints_a_refusal_in_json(personas, practice):
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("import_patients", "/dev/zero", "--practitioner", "alice", "--json", stdout=out, stderr=StringIO())
    assert "périphérique" in json.loads(out.getvalue())["refused"]


def test_it_stops_cleanly_when_the_file_grows_past_the_limit_while_written(personas, practice, tmp_path):
    path = _file(tmp_path, HEADER + _rows(5))
    with importer.open_csv(str(path), limit=path.stat().st_size + 10) as source:
        checked = importer.check(source, personas.alice)
        with open(path, "a", encoding="utf-8") as more:
            more.write(_rows(5, start=5))
        with pytest.raises(importer.ImportInterrupted, match="modifié pendant l'import") as exc:
            importer.write(source, personas.alice, checked)
    assert exc.value.written.imported == []
